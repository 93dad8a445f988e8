"""The one batched prediction loop over tokenised rows: eval mode, no gradients, original row order.

Every command that scores a text model (teacher validation, a distillation stage's validation, the
evaluation of a checkpoint, the QNN-vs-SNN comparison) runs its rows through :func:`predict_each`:
rows are grouped into length-bucketed batches (``otters.data.tokenize.bucketed_batches`` with
``shuffle=False``, so the padding and therefore the logits are the same on every call) and the
outputs are put back in the rows' original order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from otters.data.metrics import compute_metrics
from otters.data.tasks import TaskSpec
from otters.data.tokenize import Encoded, bucketed_batches, collate

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _device(model: Callable) -> torch.device:
    """Where ``model``'s parameters live (CPU for parameterless callables such as a spiking BERT)."""
    if isinstance(model, torch.nn.Module):
        for tensor in model.parameters():
            return tensor.device
    return torch.device("cpu")


def predict_each(models: Sequence[Callable], encoded: Encoded, batch_size: int = 64) -> list[np.ndarray]:
    """Float32 outputs ``(len(encoded), labels)`` of every model, all run on the same padded batches.

    A model is called as ``model(input_ids=..., attention_mask=..., token_type_ids=...)`` and must
    return an object with ``.logits`` (a Hugging Face model, a QBert, a spiking BERT). Modules are put
    in eval mode for the pass and returned to the mode they were in.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    modes = [m.training if isinstance(m, torch.nn.Module) else None for m in models]
    devices = [_device(m) for m in models]
    outputs: list[np.ndarray | None] = [None] * len(models)
    for m in models:
        if isinstance(m, torch.nn.Module):
            m.eval()
    try:
        with torch.no_grad():
            for rows in bucketed_batches(encoded.lengths, batch_size, shuffle=False):
                batch = collate(encoded, rows)
                for k, (model, device) in enumerate(zip(models, devices)):
                    logits = model(**{name: batch[name].to(device) for name in INPUTS}).logits
                    values = logits.float().cpu().numpy()
                    if outputs[k] is None:
                        outputs[k] = np.zeros((len(encoded), values.shape[1]), dtype=np.float32)
                    outputs[k][rows] = values
    finally:
        for m, mode in zip(models, modes):
            if mode is not None:
                m.train(mode)
    return [np.zeros((0, 0), dtype=np.float32) if o is None else o for o in outputs]


def predict_logits(model: Callable, encoded: Encoded, batch_size: int = 64) -> np.ndarray:
    """:func:`predict_each` of one model: its float32 outputs (logits, or (n, 1) scores for STS-B)."""
    return predict_each([model], encoded, batch_size)[0]


def split_metrics(model: Callable, spec: TaskSpec, encoded: Encoded, batch_size: int = 64) -> dict:
    """GLUE metrics (``otters.data.metrics.compute_metrics``) of ``model`` on an encoded labelled split."""
    return compute_metrics(spec, predict_logits(model, encoded, batch_size), encoded.labels)
