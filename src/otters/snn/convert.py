"""QNN -> SNN conversion by Proposition 1 (Otters, ICLR 2026, arXiv 2509.18968): the one entry.

Each quantizer becomes a firing population (T = 2^n - 1 steps, stepped threshold alpha*(T - k),
alpha/2 initial shift for rounding, signed offset folded into integer thresholds and an integer
accumulator correction); each quantized linear becomes a spiking linear stage whose synapses are
gamma_ij = w_ij * alpha_in * T (device output times weight code, read through the ADC); the bias
is the initial potential; digital blocks (residual adds, norms, softmax) run between windows.

:func:`convert` dispatches on the model type, here and nowhere else:

- a QBert student -> the whole spiking BERT (``otters.snn.bert``) with plain TTFS populations
  (``bert.stages.TtfsPopulations``) or M-TTFS ones (``mttfs.bert.MaskedPopulations``);
- a module with ``to_spiking(curve=..., adc_bits=...)`` (and ``integer_forward(x)`` for
  verification): its own stage graph;
- a QuantMLP or an ``nn.Sequential`` QNN -> :class:`otters.snn.mlp.SpikingNetwork` (plain TTFS,
  ``otters.snn.mlp.convert``) or, with ``coding="mttfs"``, explicit silent levels or dead-zone
  quantizers, the M-TTFS network (Matterhorn, arXiv 2601.22876; ``otters.snn.mttfs``).
"""

from __future__ import annotations

from torch import nn

from otters.device import PAPER_CURVE, DecayCurve
from otters.errors import OttersError
from otters.nn.qmlp import QuantMLP
from otters.snn.bert.convert import build_spiking_bert, check_student
from otters.snn.bert.stages import TtfsPopulations
from otters.snn.mlp.convert import convert_mlp
from otters.snn.mttfs.bert import MaskedPopulations
from otters.snn.mttfs.convert import convert_mttfs
from otters.snn.mttfs.settings import CODINGS, has_dead_zone, model_coding


def is_bert_student(model) -> bool:
    """A QBert student (converted whole into a spiking BERT)."""
    return hasattr(getattr(model, "bert", None), "layers") and hasattr(model, "classifier")


def convert(qnn, curve: DecayCurve | None = None, adc_bits: int = 8, coding: str | None = None, calibration=None,
            granularity: str = "layer", silent: dict | None = None):
    """The spiking network equivalent to ``qnn`` on the device ``curve`` (default: the paper's).

    Proposition 1 (Otters): T = 2^n - 1, O(t_k) = (T - k)/T, gamma = w alpha_in T, theta(t_k) =
    alpha (T - k), layer-wise windows. Raises OttersError naming any module with no exact equivalent.
    ``coding="mttfs"`` (Matterhorn's masked TTFS; silent levels from ``calibration`` inputs per
    ``granularity`` "layer"/"channel", or ``silent``), and any QNN with dead-zone quantizers, give
    masked populations. ``coding`` None: "ttfs", or a BERT student's own (``configure_coding`` /
    ``load_coding``). A BERT student takes one silent level per layer (``calibration``: a batch dict
    of sentences or a list of them).
    """
    curve = PAPER_CURVE if curve is None else curve
    if is_bert_student(qnn):
        if granularity != "layer":
            raise OttersError("the spiking BERT takes one silent level per layer (granularity 'layer')")
        check_student(qnn)
        coding = coding or model_coding(qnn)
        if coding not in CODINGS:
            raise OttersError(f"coding must be one of {', '.join(CODINGS)}, got {coding!r}")
        if coding in ("mttfs", "split") or has_dead_zone(qnn):  # a plain TTFS network cannot silence a range of levels
            populations = MaskedPopulations(qnn, coding, calibration, silent)
        else:
            populations = TtfsPopulations()
        return build_spiking_bert(qnn, populations, curve, adc_bits)
    coding = coding or "ttfs"
    converts_itself = hasattr(qnn, "to_spiking") and not isinstance(qnn, (QuantMLP, nn.Sequential))
    if coding != "ttfs" or silent or (not converts_itself and has_dead_zone(qnn)):
        return convert_mttfs(qnn, curve, adc_bits, coding, calibration, granularity, silent)
    if converts_itself:
        return qnn.to_spiking(curve=curve, adc_bits=adc_bits)
    return convert_mlp(qnn, curve, adc_bits)
