"""Spike traces per layer: the activity counts the energy model charges for.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 4 energy: a TTFS spike drives each of its
fan-out synapses once (synaptic events = spikes x fan-out), each device output is digitised by the
ADC (fused product weight x decay, one read per synaptic event), and a silent neuron costs nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch


@dataclass
class SpikeTrace:
    """Activity of one firing population over a batch.

    ``neurons``: neurons per sample; ``samples``: samples in the batch; ``spikes``: total spikes;
    ``step_histogram``: spikes at each step k = 0..T-1; ``fan_out``: synapses each spike drives
    (0 for the last population); ``synaptic_events`` = spikes x fan_out; ``adc_reads``: device
    outputs digitised (one per synaptic event in the fused-product model).
    """

    name: str
    T: int
    neurons: int
    samples: int
    spikes: int
    step_histogram: list[int] = field(default_factory=list)
    fan_out: int = 0
    synaptic_events: int = 0
    adc_reads: int = 0

    @property
    def firing_rate(self) -> float:
        """Spikes per neuron per inference (<= 1 for TTFS)."""
        total = self.neurons * self.samples
        return self.spikes / total if total else 0.0

    @property
    def sparsity(self) -> float:
        """Fraction of silent neurons, 1 - firing rate."""
        return 1.0 - self.firing_rate

    def to_dict(self) -> dict:
        d = asdict(self)
        d["firing_rate"] = self.firing_rate
        d["sparsity"] = self.sparsity
        return d


def trace_from_steps(name: str, steps: torch.Tensor, T: int, fan_out: int) -> SpikeTrace:
    """Build a :class:`SpikeTrace` from spike steps (k = T means silent), shape (..., neurons)."""
    neurons = int(steps.shape[-1]) if steps.dim() else 1
    samples = steps.numel() // neurons if neurons else 0
    hist = torch.bincount(steps.reshape(-1), minlength=T + 1)[:T]
    spikes = int(hist.sum())
    return SpikeTrace(
        name=name,
        T=T,
        neurons=neurons,
        samples=samples,
        spikes=spikes,
        step_histogram=[int(v) for v in hist.tolist()],
        fan_out=int(fan_out),
        synaptic_events=spikes * int(fan_out),
        adc_reads=spikes * int(fan_out),
    )
