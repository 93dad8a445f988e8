"""Watching a spiking BERT's forward: every bookkeeping need (activity counts, stage records, traces)
is an observer of the same four events, so the forward itself reads as its windows.

Events, in firing order (``otters.snn.bert.model.SpikingBert.forward``):

- ``batch(token_mask)``: a batch of sentences starts (1 = real token);
- ``fired(firing, spikes, valid, window, layer, fan_out)``: a population fired; ``spikes`` is
  (steps, polarity) (polarity None under plain TTFS), ``valid`` broadcasts to the steps (True = a
  real neuron), ``fan_out`` the synapses each spike drives;
- ``integrated(stage, firing_in, spikes, acc, token_mask)``: a static-weight stage integrated the
  spikes of ``firing_in`` into its accumulator ``acc``;
- ``attention(kind, name, window, layer, firing_in, spikes, stored, acc, token_mask, one_bit)``:
  Q.K^T (kind "qk", ``stored`` the K levels) or P.V ("pv", ``stored`` the V levels), both (B, H, L, d).

:class:`otters.snn.bert.activity.BertActivity` counts them (the audit and the energy model);
:class:`StageRecorder` keeps each stage's decoded input, stored operand and accumulator (verification).
"""

from __future__ import annotations

import torch


class ForwardObserver:
    """Does nothing on every event; subclasses override the events they need."""

    def batch(self, token_mask: torch.Tensor) -> None:
        pass

    def fired(self, firing, spikes, valid: torch.Tensor, window: int, layer: int | None, fan_out: int = 0) -> None:
        pass

    def integrated(self, stage, firing_in, spikes, acc: torch.Tensor, token_mask: torch.Tensor) -> None:
        pass

    def attention(self, kind: str, name: str, window: int, layer: int, firing_in, spikes, stored: torch.Tensor,
                  acc: torch.Tensor, token_mask: torch.Tensor, one_bit: bool) -> None:
        pass


class ObserverGroup(ForwardObserver):
    """Several observers (None entries skipped) told of every event in turn."""

    def __init__(self, *observers: ForwardObserver | None):
        self.observers = [o for o in observers if o is not None]

    def batch(self, token_mask):
        for o in self.observers:
            o.batch(token_mask)

    def fired(self, firing, spikes, valid, window, layer, fan_out=0):
        for o in self.observers:
            o.fired(firing, spikes, valid, window, layer, fan_out)

    def integrated(self, stage, firing_in, spikes, acc, token_mask):
        for o in self.observers:
            o.integrated(stage, firing_in, spikes, acc, token_mask)

    def attention(self, kind, name, window, layer, firing_in, spikes, stored, acc, token_mask, one_bit):
        for o in self.observers:
            o.attention(kind, name, window, layer, firing_in, spikes, stored, acc, token_mask, one_bit)


class StageRecorder(ForwardObserver):
    """``records``: one (name, levels_in, stored operand or None, accumulator) per spiking stage, in the
    order of ``otters.models.stages.record_stages`` (the QNN's side of the comparison). The stored
    operand is the K levels of Q.K^T and the V levels transposed of P.V (the synapses as integrated)."""

    def __init__(self):
        self.records: list[tuple] = []

    def integrated(self, stage, firing_in, spikes, acc, token_mask):
        self.records.append((stage.name, firing_in.decode(*spikes), None, acc))

    def attention(self, kind, name, window, layer, firing_in, spikes, stored, acc, token_mask, one_bit):
        synapses = stored if kind == "qk" else stored.transpose(-1, -2)
        self.records.append((name, firing_in.decode(*spikes), synapses, acc))
