"""The one boundary between the file system and the user: output paths checked before any work,
and every OSError on a user's path turned into one line naming that path and the reason.

Checks run before a command computes or writes anything, so a refused command leaves nothing behind
(no half-written folder that then blocks the corrected command).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from otters.errors import OttersError

# Figure formats matplotlib writes without extra backends (matplotlib.figure.Figure.savefig).
FIGURE_FORMATS = ("eps", "jpeg", "jpg", "pdf", "pgf", "png", "ps", "svg", "svgz", "tif", "tiff", "webp")


def os_error_line(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """``<path>: <reason>`` for an OSError (the user's path when given: never an internal temporary)."""
    where = path if path is not None else (exc.filename or "")
    reason = exc.strerror or (errno.errorcode.get(exc.errno or 0) if exc.errno else None) or str(exc)
    hint = {errno.EACCES: "check its permissions", errno.EPERM: "check its permissions",
            errno.EROFS: "the file system is read-only; choose another place",
            errno.ENOSPC: "free some space or choose another place",
            errno.ENOTDIR: "a part of the path is a file, not a folder",
            errno.EISDIR: "it is a folder; give a file name",
            errno.ENOENT: "check the path"}.get(exc.errno or -1, "check the path")
    return f"{where}: {reason.lower() if reason else 'cannot be used'} ({hint})"


@contextlib.contextmanager
def user_path(path: str | os.PathLike):
    """Run a block that reads or writes ``path``; an OSError becomes one OttersError naming ``path``."""
    try:
        yield
    except OttersError:
        raise
    except OSError as exc:
        raise OttersError(os_error_line(exc, path)) from None


def check_figure_path(path: str | os.PathLike) -> Path:
    """A figure file to write: a known image format (from the suffix) and a usable place."""
    path = Path(path)
    if path.is_dir():
        raise OttersError(f"{path} is a folder; give a figure file name (e.g. {path / 'figure.png'})")
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        raise OttersError(f"{path}: cannot write a figure as {suffix or 'a file without extension'!r}; "
                          f"use one of .{', .'.join(FIGURE_FORMATS)}")
    return check_output_file(path)


def check_output_file(path: str | os.PathLike) -> Path:
    """A file to (over)write: not a folder, its parent a folder (or creatable) that we may write to."""
    path = Path(path)
    if path.is_dir():
        raise OttersError(f"{path} is a folder; give a file name")
    _check_parent(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise OttersError(f"{path}: permission denied (check its permissions)")
    return path


def check_output_dir(path: str | os.PathLike) -> Path:
    """A folder to write into: not an existing file, and creatable/writable where it would be made."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OttersError(f"{path} is a file; give a folder (a new or existing directory) for the output")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise OttersError(f"{path}: permission denied (check its permissions)")
        return path
    _check_parent(path)
    return path


def _check_parent(path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OttersError(f"{path}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OttersError(f"{path}: cannot write in {parent} (permission denied); choose another place")


def require_run_to_resume(folders, command: str) -> None:
    """An explicit ``--resume`` needs a run to continue: one of ``folders`` must exist. Every command
    refuses the same way (instead of silently starting a fresh run in a mistyped folder)."""
    folders = [Path(f) for f in folders]
    if not any(f.exists() for f in folders):
        raise OttersError(f"--resume: {folders[0]} holds no {command} run to continue; drop --resume to start one")


def check_outputs(files=(), figures=(), folders=()) -> None:
    """Check every output a command will write (None entries skipped), before it starts any work."""
    for path in files:
        if path is not None:
            check_output_file(path)
    for path in figures:
        if path is not None:
            check_figure_path(path)
    for path in folders:
        if path is not None:
            check_output_dir(path)
