"""A checkpoint's coding: ``coding.json`` beside the weights (coding name, every dead zone and silent level).

Source: Matterhorn (arXiv 2601.22876): the silent levels and dead zones are part of the trained
model; a dead-zone student loaded without them would be another QNN. JSON only (never unpickled).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from otters.errors import OttersError
from otters.io import atomic_write_json, read_json
from otters.models import load_student
from otters.quant.deadzone import dead_zone_state, load_dead_zone_state
from otters.snn.mttfs.settings import CODINGS, model_coding

CODING_FILE = "coding.json"


def save_coding(model: nn.Module, directory, coding: str | None = None) -> Path:
    """Write ``coding.json`` beside a checkpoint: coding name (default the model's own) and every
    dead-zone quantizer's k and m (silent levels of M-TTFS included)."""
    path = Path(directory) / CODING_FILE
    state = dead_zone_state(model)
    k = max((v["dead_zone"] for v in state.values()), default=0)
    atomic_write_json(path, {"coding": coding or model_coding(model), "dead_zone": k, "quantizers": state})
    return path


def load_coding(model: nn.Module, directory) -> dict:
    """Re-apply a checkpoint's ``coding.json`` (if present) to a freshly loaded model; returns its content."""
    path = Path(directory) / CODING_FILE
    if not path.is_file():
        return {"coding": "ttfs", "dead_zone": 0, "quantizers": {}}
    data = read_json(path)
    coding = data.get("coding", "ttfs")
    if coding not in CODINGS:
        raise OttersError(f"{path}: unknown coding {coding!r}; expected one of {', '.join(CODINGS)}")
    load_dead_zone_state(model, data.get("quantizers", {}))
    model.otters_coding = coding
    return data


def load_coded_student(directory):
    """A student checkpoint (``otters.models.load_student``) with its ``coding.json`` applied, if any:
    what every command that runs a checkpoint loads (a dead-zone student is its dead-zone QNN)."""
    model = load_student(directory)
    load_coding(model, directory)
    return model
