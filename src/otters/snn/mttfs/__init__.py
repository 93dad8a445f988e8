"""otters.snn.mttfs: Matterhorn's masked TTFS (arXiv 2601.22876) on Otters' TTFS timing and device.

The silent (no-spike) state goes to the most frequent level m of each population, and a dead zone
|q - m| <= k silences the levels around it too. Rooms: ``settings.py`` (the coding of a QNN:
configure_coding, model_coding), ``checkpoint.py`` (coding.json beside a checkpoint), ``names.py``
(which quantizers fire), ``calibrate.py`` (silent levels from data), ``convert.py`` + ``sim.py``
(the M-TTFS MLP network and its two simulators), ``bert.py`` (M-TTFS populations of the spiking
BERT), ``stats.py`` + ``report.py`` (level histograms, silent ratios). The populations themselves are
in ``otters.snn.neuron``, their accumulation in ``otters.snn.synapse``. Design and proof: docs/matterhorn.md.
"""

from otters.snn.mttfs.calibrate import calibrate_silent, calibrate_silent_levels
from otters.snn.mttfs.checkpoint import CODING_FILE, load_coded_student, load_coding, save_coding
from otters.snn.mttfs.convert import MaskedSpikingNetwork, convert_mttfs
from otters.snn.mttfs.names import kv_names, population_names
from otters.snn.mttfs.settings import CODINGS, GRANULARITIES, configure_coding, has_dead_zone, model_coding, zero_level

__all__ = [
    "CODINGS",
    "CODING_FILE",
    "GRANULARITIES",
    "MaskedSpikingNetwork",
    "calibrate_silent",
    "calibrate_silent_levels",
    "configure_coding",
    "convert_mttfs",
    "has_dead_zone",
    "kv_names",
    "load_coded_student",
    "load_coding",
    "model_coding",
    "population_names",
    "save_coding",
    "zero_level",
]
