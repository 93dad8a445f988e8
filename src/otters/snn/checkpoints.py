"""Which checkpoints ``otters verify`` can load, and the inputs it feeds them.

A loader turns a checkpoint path into (qnn, make_inputs) where make_inputs(batch, seed) gives a
float tensor the QNN accepts. QuantMLP checkpoints (otters.nn.qmlp.save_qmlp) are built in; other
model kinds (the quantized BERT students) register theirs with :func:`register_checkpoint_kind`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch

from otters.errors import OttersError
from otters.nn.qmlp import load_qmlp, read_checkpoint_kind

_LOADERS: dict[str, Callable] = {}


def register_checkpoint_kind(kind: str, loader: Callable) -> None:
    """Register loader(path) -> (qnn, make_inputs) for checkpoints whose kind is ``kind``."""
    _LOADERS[kind] = loader


def _qmlp_loader(path):
    model = load_qmlp(path)

    def make_inputs(batch: int, seed: int) -> torch.Tensor:
        # Spread the inputs over the input quantizer's range: x ~ N(0, (alpha * half-range / 3)^2).
        q = model.input_quant
        half = 1.0 if q.sign_mode else (q.qmax - q.qmin + 1) / (2.0 if q.signed else 1.0)
        gen = torch.Generator().manual_seed(int(seed))
        x = torch.randn(batch, model.layers[0].in_features, generator=gen)
        return x * float(q.alpha.detach()) * half / 3.0

    return model, make_inputs


register_checkpoint_kind("qmlp", _qmlp_loader)


def verify_kind(path: str | os.PathLike) -> str:
    """Which registered loader reads ``path``: 'qmlp' etc. from a safetensors header; 'student' for a
    directory (BERT student checkpoint)."""
    path = Path(path)
    if path.is_dir():
        return "student"
    return read_checkpoint_kind(path)[0] or "unknown"


def load_for_verify(path: str | os.PathLike):
    """(qnn, make_inputs) for a checkpoint, or OttersError naming the kinds that can be verified."""
    kind = verify_kind(path)
    loader = _LOADERS.get(kind)
    if loader is None:
        known = ", ".join(sorted(_LOADERS))
        raise OttersError(
            f"{path}: checkpoints of kind {kind!r} cannot be verified yet (known kinds: {known}); "
            "use --random-mlp, or register a loader with otters.snn.checkpoints.register_checkpoint_kind"
        )
    return loader(path)
