"""Atomic file output and code-free checkpoint I/O (safetensors + JSON).

Every file the project writes goes through here, so that a kill at any instant leaves either the
old file or the new one, never a torn one: write to a temporary file in the same directory, flush,
fsync, then ``os.replace`` (atomic on POSIX and Windows).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from otters.errors import OttersError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; a missing or malformed file is an :class:`OttersError`."""
    path = Path(path)
    if not path.is_file():
        raise OttersError(f"file not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OttersError(f"{path} is not valid JSON ({exc}); regenerate it") from None


def save_tensors(path: str | os.PathLike, tensors: dict, metadata: dict[str, str] | None = None) -> Path:
    """Save a dict of torch tensors as safetensors, atomically."""
    # safetensors.torch imports torch (heavy): only checkpoints need it, not the JSON and figure writers.
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    return atomic_write_bytes(path, save(tensors, metadata=metadata))


def load_tensors(path: str | os.PathLike) -> dict:
    """Load a safetensors file (never unpickles: safe on untrusted files)."""
    # safetensors.torch imports torch (heavy): only checkpoints need it, not the JSON and figure writers.
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise OttersError(f"checkpoint file not found: {path}")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types on corrupt headers
        raise OttersError(f"{path} is not a readable safetensors file ({exc})") from None


def savefig_atomic(fig, path: str | os.PathLike, **kwargs) -> Path:
    """Save a matplotlib figure atomically (format from the suffix)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", **kwargs)
    return atomic_write_bytes(path, buf.getvalue())
