"""The one loader of a distilled student checkpoint: what every command that reads a student calls.

A student checkpoint is the ``student/`` folder ``otters distill`` writes (or the run folder above
it): the packed QBert (``otters.models.packing``, safetensors + JSON), its ``coding.json`` (M-TTFS
silent levels, dead zone; ``otters.snn.mttfs``), its tokenizer and ``distill.json`` (the run's
settings: task, preset, teacher, max_len). Nothing is unpickled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from transformers import AutoTokenizer

from otters.errors import OttersError
from otters.models.packing import CONFIG_FILE, binary_modules
from otters.snn.mttfs import load_coded_student
from otters.state_schema import read_distill_state

RUN_FILE = "distill.json"
DEFAULT_MAX_LEN = 128  # a checkpoint that records no max_len was trained on 128-token rows


@dataclass
class StudentCheckpoint:
    """A loaded student: the model (with its coding), its tokenizer, its folder and the run's record."""

    path: Path
    model: object
    tokenizer: object | None = None
    meta: dict = field(default_factory=dict)

    @property
    def settings(self) -> dict:
        return self.meta.get("settings") or {}

    @property
    def max_len(self) -> int:
        return int(self.settings.get("max_len") or DEFAULT_MAX_LEN)

    @property
    def preset(self) -> str:
        """The preset the student was built from (a stage's ``preset@stage`` name without the stage)."""
        return str(self.model.config.preset).split("@")[0]

    @property
    def teacher(self) -> str | None:
        """The teacher directory the run recorded, if any."""
        return self.settings.get("teacher")


def student_dir(path: str | os.PathLike) -> Path:
    """The folder holding the packed student: ``path`` itself or its ``student/`` (a run folder)."""
    path = Path(path)
    if (path / "student" / CONFIG_FILE).is_file():
        path = path / "student"
    if not (path / CONFIG_FILE).is_file():
        raise OttersError(f"{path} is not a student checkpoint (no {CONFIG_FILE}); give a distill output folder")
    return path


def _tokenizer(folder: Path, teacher: str | None):
    """The student's tokenizer: saved beside it, else its recorded teacher's."""
    source = folder if (folder / "tokenizer_config.json").is_file() else teacher
    if source is None:
        raise OttersError(f"{folder} holds no tokenizer and does not name its teacher; re-run otters distill")
    try:
        return AutoTokenizer.from_pretrained(str(source), use_fast=True, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise OttersError(f"cannot load the tokenizer of {folder} ({str(exc).splitlines()[0]})") from None


def load_student_checkpoint(path: str | os.PathLike, trainable: bool = False) -> StudentCheckpoint:
    """Load the student at ``path`` (its ``student/`` folder or the run folder above it).

    The model carries the checkpoint's ``coding.json``: its QNN is the dead-zone QNN and
    ``otters.snn.convert`` gives its M-TTFS SNN. It is in eval mode with binary layers frozen to
    their stored codes, and comes with its tokenizer. ``trainable`` (``otters distill --init``) skips
    the tokenizer and unfreezes the binary layers with latent weights codes x scale, whose
    binarisation gives back the same codes and scale.
    """
    folder = student_dir(path)
    meta = read_distill_state(folder / RUN_FILE) if (folder / RUN_FILE).is_file() else {}
    max_len = (meta.get("settings") or {}).get("max_len")
    if not (max_len is None or (isinstance(max_len, int) and not isinstance(max_len, bool) and max_len > 0)):
        raise OttersError(f"{folder / RUN_FILE}: field 'settings.max_len' must be a positive integer, got "
                          f"{max_len!r}; the file is damaged")
    tokenizer = None if trainable else _tokenizer(folder, (meta.get("settings") or {}).get("teacher"))
    model = load_coded_student(folder)
    if trainable:
        for module in binary_modules(model).values():
            if module.frozen:  # latent weight = codes * scale (set by freeze): it binarises to the same codes and scale
                module.frozen_codes, module.frozen_scale = None, None
                module.weight.requires_grad_(True)
    return StudentCheckpoint(folder, model, tokenizer, meta)
