"""otters.snn: lossless QNN -> SNN conversion onto optoelectronic TTFS synapses, and its check.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1. See docs/conversion.md.

- :func:`convert` (qnn -> :class:`SpikingNetwork`), :func:`verify` (-> :class:`VerifyResult`);
- :class:`FiringPopulation` (TTFS neurons, stepped threshold), :class:`SpikingLinear` (spikes ->
  integer accumulator -> potential), :func:`accumulate_spikes` (for dynamic weights, e.g. binary K/V);
- simulators: ``SpikingNetwork.run(x, simulator="event" | "tick", variation=...)``;
- device variation: :class:`DeviceVariation`, :func:`draw_variation`; traces: :class:`SpikeTrace`;
- whole BERT students: ``convert(student)`` -> :class:`SpikingBert` (``otters.snn.bert``), activity
  (:class:`BertActivity`) and the operation audit (:func:`audit_model`, ``otters.snn.audit``).
"""

from otters.snn.audit import AuditSettings, audit_model
from otters.snn.bert import SpikingBert
from otters.snn.bert_activity import BertActivity
from otters.snn.checkpoints import register_checkpoint_kind
from otters.snn.convert import convert, reference_forward
from otters.snn.hooks import spiking_accumulator
from otters.snn.network import SIMULATORS, SpikingNetwork
from otters.snn.populations import FiringPopulation, population_from_quantizer
from otters.snn.results import LayerRecord, SimulationResult
from otters.snn.stages import SpikingLinear, accumulate_spikes
from otters.snn.tables import DeviceTables, DeviceVariation, draw_variation
from otters.snn.traces import SpikeTrace, trace_from_steps
from otters.snn.verify import LayerCheck, VerifyResult, verify

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
