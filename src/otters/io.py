"""Atomic file output and code-free checkpoint I/O (safetensors + JSON).

Every file the project writes goes through here, so that a kill at any instant leaves either the
old file or the new one, never a torn one: write to a temporary file in the same directory, flush,
fsync, then ``os.replace`` (atomic on POSIX and Windows). The new file gets the mode a plain ``open``
would give it (0666 less the umask), or the mode of the file it replaces; an OSError names the
user's path, never the temporary file.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from otters.errors import OttersError
from otters.limits import MAX_JSON_BYTES, check_file_size
from otters.paths import check_figure_path, user_path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename), with ``open``'s permissions."""
    path = Path(path)
    with user_path(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, _mode_for(path))  # mkstemp makes 0600 files; the team should read outputs
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


def _mode_for(path: Path) -> int:
    """The permission bits of the file being replaced, else 0666 less the process umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (os.umask can only set it,
    and setting it even for an instant races with other threads creating files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; a missing or malformed file is an :class:`OttersError`."""
    path = Path(path)
    if not path.is_file():
        raise OttersError(f"file not found: {path}")
    check_file_size(path, MAX_JSON_BYTES, "a JSON record")
    try:
        with user_path(path):
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
    path = check_figure_path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", **kwargs)
    return atomic_write_bytes(path, buf.getvalue())
