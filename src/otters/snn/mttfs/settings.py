"""The coding of a QNN: plain TTFS or M-TTFS, with or without a dead zone, set up for training and inference.

Source: Matterhorn (arXiv 2601.22876), M-TTFS and the dead zone, on Otters' TTFS timing and device
(ICLR 2026, Prop. 1). Design and proof: docs/matterhorn.md. :func:`configure_coding` is what
``otters distill --coding/--dead-zone`` calls; :func:`model_coding` is what ``otters.snn.convert``
reads when no coding is asked for; ``otters.snn.mttfs.checkpoint`` carries the coding with a checkpoint.
"""

from __future__ import annotations

import torch
from torch import nn

from otters.errors import OttersError
from otters.quant.deadzone import DeadZoneQuantizer, _default_silent, apply_dead_zone, dead_zone_state
from otters.snn.mttfs.names import population_names

CODINGS = ("ttfs", "mttfs", "split")
"""ttfs: the offset code (silence = qmin); mttfs: Matterhorn's masked TTFS (silence = the calibrated most
frequent level); split: sign-split TTFS, two populations per signed activation (positive and negative
sub-populations, each neuron at most one spike) with silence at the level of the value 0: M-TTFS with a
data-free silent level (otters.quant.deadzone's "zero")."""
GRANULARITIES = ("layer", "channel")
DEFAULT_CODING = "ttfs"
"""The coding of a model configured with none (:func:`model_coding`): the offset code. Sign-split TTFS is
measured 4.7 % cheaper per inference on the committed rt student and exact in the closed form, but the
hardware-level simulator, the measured audit and the envelope's confirmation run the offset code only
(docs/hardware.md, section 4); the default follows them."""


def has_dead_zone(model: nn.Module) -> bool:
    """True when some quantizer of ``model`` has a dead zone k > 0 (a plain TTFS network cannot silence it)."""
    return any(isinstance(m, DeadZoneQuantizer) and m.dead_zone > 0 for m in model.modules())


def zero_level(quantizer) -> torch.Tensor:
    """The level of the value 0 (sign-split TTFS's silent level): 0 clamped into [qmin, qmax]; a sign
    quantizer (levels -1, +1) has no zero and keeps one population (+1 silent, as sign(0) = +1)."""
    return torch.tensor(int(_default_silent(quantizer, "zero")), dtype=torch.int64)


def configure_coding(model: nn.Module, coding: str = "ttfs", dead_zone: int = 0, silent="zero") -> dict:
    """Set a QNN (QuantMLP or BERT student) up for training/inference with ``coding`` and a dead zone.

    coding "ttfs" + dead_zone 0: nothing to do (plain QNN). "mttfs" + 0 with ``silent`` "zero": nothing
    in the QNN either (M-TTFS is lossless; masks are calibrated at conversion). dead_zone k > 0: every
    firing population (:func:`population_names`) gets a dead zone of half-width k around its silent
    level: for "mttfs", ``silent`` ("zero" = the level of the value 0, data-free and resume-safe, or a
    dict from :func:`calibrate_silent_levels` / ``otters.snn.mttfs.calibrate.calibrate_silent``); for
    "ttfs", qmin. With "mttfs" and a dict, every quantizer it names is given its level, with k = 0 where
    no dead zone applies (the stored K / V, or k = 0 itself): a dead-zone quantizer with k = 0 is the
    plain LSQ quantizer carrying its silent level, so :func:`save_coding` records the calibrated mask.
    The coding is remembered on the model (:func:`model_coding`). Returns the JSON-ready state.
    """
    if coding not in CODINGS:
        raise OttersError(f"coding must be one of {', '.join(CODINGS)}, got {coding!r}")
    populations = population_names(model)
    if dead_zone:
        around = "qmin" if coding == "ttfs" else "zero" if coding == "split" else silent
        apply_dead_zone(model, dead_zone, around, names=populations)
    if coding == "mttfs" and isinstance(silent, dict):
        rest = [n for n in silent if dead_zone == 0 or n not in populations]
        if rest:
            apply_dead_zone(model, 0, silent, names=rest)
    model.otters_coding = coding
    return {"coding": coding, "dead_zone": int(dead_zone), "quantizers": dead_zone_state(model)}


def model_coding(model: nn.Module) -> str:
    """The coding a model was configured with (:func:`configure_coding`, :func:`load_coding`);
    :data:`DEFAULT_CODING` otherwise."""
    return getattr(model, "otters_coding", None) or DEFAULT_CODING
