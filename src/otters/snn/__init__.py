"""otters.snn: lossless QNN -> SNN conversion onto optoelectronic TTFS synapses, and its check.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1. See docs/conversion.md.

- :func:`convert` (any QNN -> its spiking network; the one entry), :func:`verify` (-> :class:`VerifyResult`);
- the TTFS neuron (``neuron.py``): :class:`FiringPopulation` (stepped threshold), M-TTFS populations;
- synaptic accumulation (``synapse.py``): :func:`accumulate_spikes` (also for dynamic weights, e.g.
  binary K/V), :func:`spiking_accumulator` (a stage hook);
- the MLP network (``mlp/``): :class:`SpikingNetwork` of :class:`SpikingLinear` stages, simulated with
  ``SpikingNetwork.run(x, simulator="event" | "tick", variation=...)``; traces: :class:`SpikeTrace`;
- device variation (``tables.py``): :class:`DeviceVariation`, :func:`draw_variation`;
- whole BERT students: ``convert(student)`` -> :class:`SpikingBert` (``otters.snn.bert``), activity
  (:class:`BertActivity`) and the operation audit (:func:`audit_model`, ``otters.snn.audit``).
"""

from otters.snn.audit import AuditSettings, audit_model
from otters.snn.bert import BertActivity, SpikingBert
from otters.snn.checkpoints import register_checkpoint_kind
from otters.snn.checks import LayerCheck, VerifyResult
from otters.snn.convert import convert
from otters.snn.mlp import (
    SIMULATORS,
    LayerRecord,
    SimulationResult,
    SpikeTrace,
    SpikingLinear,
    SpikingNetwork,
    reference_forward,
    trace_from_steps,
)
from otters.snn.neuron import FiringPopulation, population_from_quantizer
from otters.snn.synapse import accumulate_spikes, spiking_accumulator
from otters.snn.tables import DeviceTables, DeviceVariation, draw_variation
from otters.snn.verify import verify

__all__ = [
    "SIMULATORS",
    "AuditSettings",
    "BertActivity",
    "SpikingBert",
    "audit_model",
    "DeviceTables",
    "DeviceVariation",
    "FiringPopulation",
    "LayerCheck",
    "LayerRecord",
    "SimulationResult",
    "SpikeTrace",
    "SpikingLinear",
    "SpikingNetwork",
    "VerifyResult",
    "accumulate_spikes",
    "convert",
    "draw_variation",
    "population_from_quantizer",
    "reference_forward",
    "register_checkpoint_kind",
    "spiking_accumulator",
    "trace_from_steps",
    "verify",
]
