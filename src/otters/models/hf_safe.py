"""The one guard in front of every Hugging Face model load: safetensors only, nothing unpickled.

``pytorch_model.bin`` (and the other ``*.bin`` / ``*.pt`` / ``*.ckpt`` weight files) are pickles: loading
one runs whatever code it references. A folder that holds weights only in such a file is refused with
the one-line conversion recipe; every load passes ``use_safetensors=True`` so transformers itself never
falls back to ``torch.load``, and ``trust_remote_code`` stays off (no code from the folder runs).
"""

from __future__ import annotations

import os
from pathlib import Path

from otters.errors import OttersError
from otters.state_schema import read_json_object

SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.ckpt")

CONVERT_HINT = ("convert it once where you trust it: python -c \"from transformers import AutoModel; "
                "AutoModel.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)\"")


def pickle_only_message(directory: str | os.PathLike) -> str:
    """The refusal for a folder whose weights exist only as a pickle."""
    return (f"{directory} holds its weights only as a pickle (pytorch_model.bin); otters reads safetensors only, "
            f"because unpickling runs code: {CONVERT_HINT.replace('DIR', str(directory))}")


def require_safetensors(directory: str | os.PathLike) -> Path:
    """``directory`` if it holds safetensors weights; else an OttersError (pickle-only or no weights)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise OttersError(f"{directory} is not a folder; give a Hugging Face model directory")
    if any((directory / name).is_file() for name in SAFE_WEIGHTS):
        for path in weight_files(directory):
            check_safetensors_header(path)
        return directory
    if any((directory / name).is_file() for name in PICKLED_WEIGHTS):
        raise OttersError(pickle_only_message(directory))
    raise OttersError(f"{directory} has no model.safetensors; give a Hugging Face model directory")


def weight_files(directory: Path) -> list[Path]:
    """The safetensors files of ``directory``: model.safetensors, or the shards its index names."""
    single = directory / "model.safetensors"
    if single.is_file():
        return [single]
    index = directory / "model.safetensors.index.json"
    weight_map = read_json_object(index).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map or not all(
            isinstance(v, str) and "/" not in v and "\\" not in v and v.endswith(".safetensors")
            for v in weight_map.values()):
        raise OttersError(f"{index}: field 'weight_map' must map tensor names to .safetensors shard files in "
                          f"{directory}; the index is damaged")
    return [directory / name for name in sorted(set(weight_map.values()))]


def check_safetensors_header(path: Path) -> None:
    """Open the header of a safetensors file (no tensor is read); a missing or damaged file is one line."""
    from safetensors import safe_open  # heavy optional import, on use only

    if not path.is_file():
        raise OttersError(f"{path} is missing; the model folder is incomplete")
    try:
        with safe_open(str(path), framework="pt") as fh:
            fh.keys()
    except Exception as exc:  # safetensors raises its own error types on damaged headers
        raise OttersError(f"{path} is not a readable safetensors file ({str(exc).splitlines()[0]}); "
                          "the model folder is damaged") from None


def load_sequence_classifier(directory: str | os.PathLike, **kwargs):
    """``AutoModelForSequenceClassification.from_pretrained`` on a local folder, safetensors only."""
    from transformers import AutoModelForSequenceClassification  # heavy optional import, on use only

    directory = require_safetensors(directory)
    return AutoModelForSequenceClassification.from_pretrained(
        str(directory), local_files_only=True, use_safetensors=True, trust_remote_code=False, **kwargs)
