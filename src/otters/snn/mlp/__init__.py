"""otters.snn.mlp: a converted QNN MLP as a spiking network, its two simulators and its check.

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1. :class:`SpikingNetwork` (network.py:
an input population, then :class:`SpikingLinear` stages in their windows); ``event_sim.py`` (closed
form, for inference) and ``tick_sim.py`` (every clock tick, the reference); ``results.py`` /
``traces.py`` (what a simulation returns); ``convert.py`` (QuantMLP / nn.Sequential -> network) and
``verify.py`` (layer by layer against the QNN's integer inference).
"""

from otters.snn.mlp.convert import convert_mlp, reference_forward
from otters.snn.mlp.network import SIMULATORS, SpikingLinear, SpikingNetwork
from otters.snn.mlp.results import LayerRecord, SimulationResult
from otters.snn.mlp.traces import SpikeTrace, trace_from_steps
from otters.snn.mlp.verify import verify_mlp

__all__ = [
    "SIMULATORS",
    "LayerRecord",
    "SimulationResult",
    "SpikeTrace",
    "SpikingLinear",
    "SpikingNetwork",
    "convert_mlp",
    "reference_forward",
    "trace_from_steps",
    "verify_mlp",
]
