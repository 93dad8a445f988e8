"""M-TTFS silent levels calibrated on data: the most frequent level of every firing population.

Source: Matterhorn (arXiv 2601.22876): the M-TTFS mask gives silence to the most frequent value,
"calibrated on the data distribution". Levels are histogrammed from the QNN's own integer inference
(``otters.snn.mttfs.stats.record_levels``): :func:`calibrate_silent_levels` for any QNN (per layer
or per channel), :func:`calibrate_silent` for a BERT student on sentences (per layer, padding excluded).
"""

from __future__ import annotations

import torch
from torch import nn

from otters.errors import OttersError
from otters.snn.mlp.convert import reference_forward
from otters.snn.mttfs.names import kv_names, population_names
from otters.snn.mttfs.settings import GRANULARITIES
from otters.snn.mttfs.stats import record_levels, token_mask_fn


def _default_forward(model):
    if hasattr(model, "integer_forward"):
        return lambda x: model.integer_forward(x)
    return lambda x: reference_forward(model, x)


@torch.no_grad()
def calibrate_silent_levels(model: nn.Module, batches, granularity: str = "layer", names=None, forward=None,
                            mask_fn=None) -> dict:
    """{quantizer name: silent level(s)}: the most frequent level of each firing population on ``batches``.

    Matterhorn's mask, calibrated on (training) data. ``batches``: one input tensor or an iterable
    of them (or of whatever ``forward(batch)`` takes; default the QNN's integer inference).
    ``granularity``: "layer" -> int, "channel" -> int64 tensor (one per neuron of the last dim).
    """
    if granularity not in GRANULARITIES:
        raise OttersError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    names = population_names(model) if names is None else list(names)
    forward = forward or _default_forward(model)
    if isinstance(batches, torch.Tensor):
        batches = [batches]
    was_training = model.training
    model.eval()
    try:
        with record_levels(model, names, per_channel=granularity == "channel", mask_fn=mask_fn) as hists:
            for batch in batches:
                forward(batch)
    finally:
        model.train(was_training)
    empty = [n for n, h in hists.items() if h.total == 0]
    if empty:
        raise OttersError(f"calibration saw no levels of {', '.join(empty)}; give inputs that reach every layer")
    out = {}
    for n, h in hists.items():
        m = h.silent_level(granularity)
        out[n] = torch.as_tensor(m, dtype=torch.int64)
    return out


def as_batches(batches) -> list[dict]:
    """Sentences for calibration: one batch dict (input_ids, attention_mask, token_type_ids) or a list of them."""
    if isinstance(batches, dict):
        batches = [batches]
    out = []
    for b in batches:
        if not isinstance(b, dict) or "input_ids" not in b:
            raise OttersError("calibration batches are dicts with input_ids (and attention_mask, token_type_ids)")
        ids = torch.as_tensor(b["input_ids"])
        out.append({"input_ids": ids, "attention_mask": torch.as_tensor(b.get("attention_mask", torch.ones_like(ids))),
                    "token_type_ids": torch.as_tensor(b.get("token_type_ids", torch.zeros_like(ids)))})
    if not out:
        raise OttersError("calibration needs at least one batch of sentences")
    return out


@torch.no_grad()
def calibrate_silent(model: nn.Module, batches, names=None) -> dict:
    """{quantizer module name: most frequent level (int64, 0-dim)} of a BERT student on ``batches``.

    Matterhorn's mask, per layer, calibrated on (training) sentences with the QNN's integer inference;
    padded tokens and padded query-key pairs are not counted. ``names``: default every firing
    population (``otters.snn.mttfs.population_names``) plus the K and V quantizers.
    """
    names = population_names(model) + kv_names(model) if names is None else list(names)
    state = {"fn": None}

    def forward(batch):
        state["fn"] = token_mask_fn(batch["attention_mask"])
        return model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])

    return calibrate_silent_levels(model, as_batches(batches), "layer", names, forward,
                                   mask_fn=lambda levels: state["fn"](levels))
