"""Quantisation-aware fine-tuning of a QuantMLP (e.g. one made by ``otters.quantize``), on the Trainer.

Training runs the QNN's fake-quantised forward: straight-through rounding for the activations and
LSQ gradients for their steps (Esser et al., "Learned Step Size Quantization", ICLR 2020, eq. 3-5),
Sorbet's straight-through binarisation for 1-bit weights (Sorbet, ICML 2025). The loss is the cross
entropy of the readout logits. After training the model is in eval mode: its integer inference is
the QNN that ``otters.convert`` turns into an exact spiking network.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from otters.errors import OttersError
from otters.nn.qmlp import QuantMLP
from otters.train.loop import TrainConfig, Trainer


@dataclass
class QATResult:
    """The fine-tuned QNN (eval mode), its training accuracy before and after, and the steps run."""

    model: QuantMLP
    steps: int
    accuracy_before: float
    accuracy_after: float


@torch.no_grad()
def accuracy(model: QuantMLP, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose integer-path logits put the label first."""
    model.eval()
    return float((model(x).argmax(dim=-1) == y).float().mean())


def finetune_qat(qnn: QuantMLP, data, epochs: int = 3, lr: float = 1e-3, batch_size: int = 64, seed: int = 0,
                 out_dir: str | os.PathLike | None = None, progress: bool = False) -> QATResult:
    """Fine-tune ``qnn`` in place on ``data`` = (inputs (N, features), integer labels (N,)).

    AdamW with warm-up and linear decay (the project's Trainer; step sizes in their own group);
    ``out_dir`` keeps the Trainer's checkpoint and metrics log (default: a temporary directory).
    """
    if not isinstance(qnn, QuantMLP):
        raise OttersError(f"finetune_qat takes a QuantMLP (from otters.quantize), got {type(qnn).__name__}")
    try:
        x, y = data
    except (TypeError, ValueError):
        raise OttersError("finetune_qat data must be a pair (inputs, labels)") from None
    x = torch.as_tensor(x, dtype=torch.float32)
    x = x.reshape(x.shape[0], -1) if x.dim() > 2 else x
    y = torch.as_tensor(y, dtype=torch.int64)
    if x.dim() != 2 or y.shape != (x.shape[0],) or x.shape[0] < 1:
        raise OttersError(f"finetune_qat needs inputs (N, features) and labels (N,), got {tuple(x.shape)} and "
                          f"{tuple(y.shape)}")
    classes = qnn.config.sizes[-1]
    if int(y.min()) < 0 or int(y.max()) >= classes:
        raise OttersError(f"labels must lie in 0..{classes - 1} (the QNN has {classes} outputs)")
    before = accuracy(qnn, x, y)
    cfg = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), step_size_lr=float(lr),
                      weight_decay=0.0, eval_every=10**9, log_every=10, seed=int(seed), progress=progress,
                      device="cpu")

    def loss_fn(model, batch):
        loss = F.cross_entropy(model(batch["x"]), batch["y"])
        return loss, {}

    def make_batch(indices):
        index = torch.as_tensor(indices, dtype=torch.int64)
        return {"x": x[index], "y": y[index]}

    scratch = tempfile.TemporaryDirectory(prefix="otters-qat-") if out_dir is None else contextlib.nullcontext(str(out_dir))
    with scratch as where:
        result = Trainer(qnn, cfg, where, loss_fn, make_batch, num_examples=x.shape[0]).fit()
    qnn.eval()
    return QATResult(qnn, result.step, before, accuracy(qnn, x, y))
