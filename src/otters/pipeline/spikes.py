"""Spikes of the converted model, as the report shows them: one sentence's raster, per-layer timing.

Source: Otters (ICLR 2026), Sec. 3 and Proposition 1: a TTFS neuron fires at most once, at the step
k = T - q of its level q (silent for q = 0), inside its layer's own window; an encoder layer uses six
windows (input -> QKV, Q/K/V -> Q.K^T and K/V storage, P -> P.V, PV -> O, FFN input -> FFN1,
FFN2 input -> FFN2) and the pooler one more. Global time of a spike in window w of layer l at step
k of T: t = 6 l + w + k / T windows (pooler: 6 L + k / T).
"""

from __future__ import annotations

import re

import numpy as np
import torch

from otters.snn.bert import BertActivity

WINDOWS_PER_LAYER = 6
_LAYER = re.compile(r"^layers\.(\d+)\.")


def population_kind(name: str) -> str:
    """Short kind of a population name: input, q, k, v, p, pv_out, ffn_in, ffn2_in, pooler_in."""
    suffix = name.rsplit(".", 1)[-1]
    return {"input_quant": "input", "q_quant": "q", "k_quant": "k", "v_quant": "v", "p_quant": "p",
            "out_quant": "pv_out", "ffn_in_quant": "ffn_in", "ffn2_in_quant": "ffn2_in",
            "pooler_quant": "pooler_in"}.get(suffix, suffix)


def layer_of(name: str) -> int | None:
    """Encoder layer index of a population name (None for the pooler's)."""
    m = _LAYER.match(name)
    return int(m.group(1)) if m else None


class RasterActivity(BertActivity):
    """A :class:`BertActivity` that also keeps every population's spike steps on real neurons.

    Used on one sentence at a time (the steps of a whole batch would be large); ``steps[name]`` is
    (1-D int64 tensor of steps k, k = T meaning silent; window; layer; T).
    """

    def __init__(self, column_rows: int = 256):
        super().__init__(column_rows)
        self.steps: dict[str, tuple] = {}

    def population(self, firing, steps, valid, window, layer, fan_out=0, polarity=None):
        super().population(firing, steps, valid, window, layer, fan_out, polarity)
        real = steps[valid.expand_as(steps)].reshape(-1).clone()
        self.steps[firing.name] = (real, int(window), layer, int(firing.T))


def record_sentence(snn, input_ids, attention_mask=None, token_type_ids=None, neurons: int = 48, seed: int = 0) -> dict:
    """Run ``snn`` (a SpikingBert) on ONE sentence and keep a seeded sample of each population's neurons.

    Returns {"layers", "tokens", "populations": [{"name", "kind", "layer", "window", "T", "neurons",
    "spikes", "slot", "sample_steps"}]} in firing order; ``slot`` = global window index (see the module
    docstring); ``sample_steps``: the steps of ``neurons`` randomly chosen real neurons (T = silent).
    """
    ids = torch.as_tensor(input_ids)
    if ids.dim() != 2 or ids.shape[0] != 1:
        raise ValueError(f"record_sentence takes one sentence (1, L), got shape {tuple(ids.shape)}")
    activity = RasterActivity()
    snn(ids, attention_mask, token_type_ids, activity=activity)
    n_layers = len(snn.layers)
    rng = np.random.default_rng(seed)
    out = []
    for name, (steps, window, layer, T) in activity.steps.items():
        values = steps.numpy()
        pick = np.sort(rng.choice(values.size, size=min(neurons, values.size), replace=False))
        slot = WINDOWS_PER_LAYER * n_layers + window if layer is None else WINDOWS_PER_LAYER * layer + window
        out.append({"name": name, "kind": population_kind(name), "layer": layer, "window": window, "T": T,
                    "neurons": int(values.size), "spikes": int((values < T).sum()), "slot": int(slot),
                    "sample_steps": values[pick].astype(int).tolist()})
    mask = torch.ones_like(ids) if attention_mask is None else torch.as_tensor(attention_mask)
    return {"layers": n_layers, "tokens": int(mask.sum()), "populations": out}


def layer_histograms(traces: list[dict]) -> dict:
    """Spike-time histograms per layer from ``VerifyResult.to_dict()["traces"]``.

    Returns {layer label: {kind: {"T", "neurons", "spikes", "histogram"}}} where ``histogram[k]`` counts
    spikes at step k (0..T-1) and neurons - spikes stayed silent; layer labels "layer 0".. and "pooler".
    """
    out: dict[str, dict] = {}
    for trace in traces:
        layer = layer_of(trace["name"])
        label = "pooler" if layer is None else f"layer {layer}"
        neurons = int(trace["neurons"]) * int(trace["samples"])
        out.setdefault(label, {})[population_kind(trace["name"])] = {
            "T": int(trace["T"]), "neurons": neurons, "spikes": int(trace["spikes"]),
            "histogram": [int(v) for v in trace["step_histogram"]]}
    return out
