"""TensorBoard as a metrics sink (``--tensorboard DIR`` of ``otters teacher``, ``distill`` and ``run``).

TensorBoard is an optional dependency (``pip install 'otters[tensorboard]'``): it is imported inside
:func:`require_summary_writer`, so that ``otters.train`` works without it, and a missing package is
one :class:`~otters.errors.OttersError` raised before anything is trained or written. The event file
is made lazily, at the first scalar: a command that fails before training, or that trains nothing (a
cached teacher), leaves no folder behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from otters.errors import OttersError


def require_summary_writer() -> type:
    """``torch.utils.tensorboard.SummaryWriter``, or a one-line OttersError saying how to install it."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # optional dependency: the otters[tensorboard] extra
    except ImportError:
        raise OttersError("--tensorboard needs the tensorboard package: pip install 'otters[tensorboard]' "
                          "(or pip install tensorboard)") from None
    return SummaryWriter


class TensorBoardSink:
    """Scalars to a TensorBoard event file in ``log_dir`` (made at the first scalar, flushed at every call)."""

    def __init__(self, log_dir: str | os.PathLike):
        self.log_dir = Path(log_dir)
        if self.log_dir.exists() and not self.log_dir.is_dir():
            raise OttersError(f"--tensorboard {self.log_dir} is a file, not a folder")
        self._writer_class = require_summary_writer()
        self._writer = None

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        if self._writer is None:
            self._writer = self._writer_class(log_dir=str(self.log_dir))
        for tag, value in values.items():
            self._writer.add_scalar(tag, value, global_step=step)
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@contextlib.contextmanager
def tensorboard_sink(log_dir: str | os.PathLike | None) -> Iterator[TensorBoardSink | None]:
    """A :class:`TensorBoardSink` on ``log_dir`` for the block, closed after it (None: no logging)."""
    if log_dir is None:
        yield None
        return
    sink = TensorBoardSink(log_dir)
    try:
        yield sink
    finally:
        sink.close()
