"""Is the spiking network lossless? What ``otters verify`` prints and the ``verify`` step of ``otters run`` records.

Exactness (Otters, ICLR 2026, Proposition 1): on the nominal device the SNN's decoded levels, stored
K/V, accumulators and logits equal the QNN's bit for bit. Two model families:

- :func:`verify_bert_student` (:class:`BertVerifyRequest`): a BERT student (checkpoint or preset) on
  real sentences, stage by stage (``otters.snn.bert.verify``);
- :func:`verify_mlp` (:class:`MlpVerifyRequest`): a quantized MLP (checkpoint or random) on drawn inputs.

Both return a :class:`Verification`: the simulator's ``VerifyResult`` and a description of the model
and inputs. ``coding`` "mttfs" / ``dead_zone`` k give Matterhorn's masked TTFS (silent levels
calibrated on separate data) and the dead-zone QNN the SNN must then equal (docs/matterhorn.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from otters.coding.chip_read import check_read_settings
from otters.device import PAPER_CURVE, load_curve
from otters.errors import OttersError
from otters.nn.qmlp import QuantMLPConfig, random_qmlp
from otters.snn import SIMULATORS, convert, draw_variation, verify
from otters.snn.bert import verify_bert
from otters.snn.checkpoints import load_for_verify
from otters.snn.hardware_verify import chip_read, verify_hardware
from otters.snn.mttfs import calibrate_silent, configure_coding, model_coding
from otters.studies import inputs

BERT_SIMULATORS = ("event", "threshold")


@dataclass(frozen=True)
class DeviceSettings:
    """The chip the SNN runs on: ``curve`` (a fitted curve JSON, None = the paper's device), the ADC
    resolution, and a drawn chip's relative deviations (0 = nominal; lossy otherwise)."""

    curve: Path | None = None
    adc_bits: int = 8
    chip_std: float = 0.0
    synapse_std: float = 0.0

    def decay_curve(self):
        return PAPER_CURVE if self.curve is None else load_curve(self.curve)

    def variation(self, curve, seed: int):
        """The drawn chip, or None on the nominal device."""
        if not (self.chip_std or self.synapse_std):
            return None
        return draw_variation(curve, self.chip_std, self.chip_std, self.chip_std, self.synapse_std, seed)

    def describe(self) -> dict:
        return {"curve": str(self.curve) if self.curve else "paper", "adc_bits": self.adc_bits,
                "chip_std": self.chip_std, "synapse_std": self.synapse_std}


@dataclass(frozen=True)
class BertVerifyRequest:
    """A BERT student to verify: ``checkpoint`` (a student folder) or ``preset`` on ``geometry``
    (``init`` "hf" / "random", seeded by ``seed``), on the first ``sentences`` rows of ``task``'s ``split``.
    ``simulator``: "event" or "threshold" (compare-with-stepped-threshold firing, as the hardware does)."""

    checkpoint: Path | None = None
    preset: str | None = None
    geometry: str = "minilm-l6"
    init: str | None = None
    seed: int = 0
    sentences: int = 16
    task: str = "rt"
    split: str = "validation"
    max_len: int = 128
    simulator: str = "event"
    device: DeviceSettings = DeviceSettings()
    coding: str | None = None
    dead_zone: int | None = None


@dataclass(frozen=True)
class MlpVerifyRequest:
    """A quantized MLP to verify: ``checkpoint`` (a QuantMLP .safetensors) or a random one (``random_mlp``)."""

    checkpoint: Path | None = None
    random_mlp: bool = False
    depth: int = 3
    width: int = 64
    bits: int = 4
    weight_bits: int = 1
    signed: bool = False
    residual: bool = False
    seed: int = 0
    batch: int = 16
    simulator: str = "event"
    device: DeviceSettings = DeviceSettings()
    coding: str = "ttfs"
    dead_zone: int = 0
    granularity: str = "layer"


@dataclass
class Verification:
    """``result``: the simulator's VerifyResult (``exact``, per-layer checks, traces); ``model``: what was
    verified on which inputs (printed by ``otters verify --json`` under "model")."""

    result: object
    model: dict

    @property
    def exact(self) -> bool:
        return bool(self.result.exact)

    def to_dict(self) -> dict:
        return {**self.result.to_dict(), "model": self.model}


def random_mlp_case(depth: int, width: int, bits: int, weight_bits: int, signed: bool, residual: bool, seed: int,
                    batch: int):
    """(a random calibrated QuantMLP, its ``batch`` inputs) of the given shape, seeded."""
    for name, value, lo, hi in (("--depth", depth, 1, 64), ("--width", width, 1, 16384), ("--batch", batch, 1, 1 << 16)):
        if not lo <= value <= hi:
            raise OttersError(f"{name} must be in {lo}..{hi}, got {value}")
    config = QuantMLPConfig(sizes=[width] * (depth + 1), act_bits=bits, weight_bits=weight_bits, signed_input=signed,
                            signed_hidden=signed, residual=residual)
    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed + 1))
    return random_qmlp(config, x, seed=seed), x


def _student_on_sentences(r: BertVerifyRequest, loaded: tuple | None = None):
    """(model, description, tokenizer, batch, source): the request's student and its tokenised sentences;
    a fresh preset gets its LSQ steps from these sentences."""
    model, description = loaded or inputs.student(r.checkpoint, r.preset, r.geometry, r.init, r.seed)
    tokenizer = inputs.tokenizer_for(r.checkpoint, r.geometry if r.preset else None)
    texts_a, texts_b, source = inputs.sentences(r.sentences, r.task, r.split)
    batch = inputs.tokenize(tokenizer, texts_a, texts_b, r.max_len, model.config.vocab_size)
    if r.checkpoint is None:
        inputs.calibrate(model, batch)
    return model, dict(description), tokenizer, batch, source


def verify_bert_student(request: BertVerifyRequest, loaded: tuple | None = None) -> Verification:
    """The student's spiking BERT against its QNN on real sentences, every stage (Proposition 1).

    A checkpoint runs with its own coding (``coding.json``); ``coding`` / ``dead_zone`` given (re)configure
    it: M-TTFS silent levels calibrated on the first ``sentences`` rows of ``task``'s train split, the dead
    zone applied to the QNN (which is then the dead-zone QNN the SNN must equal). ``loaded``: the
    (model, description) of ``inputs.student`` for this request, when the caller has it already."""
    r = request
    torch.set_num_threads(min(2, torch.get_num_threads()))
    if r.simulator not in BERT_SIMULATORS:
        raise OttersError(f"a BERT student runs --simulator event or threshold, not {r.simulator!r}")
    model, description, tokenizer, batch, source = _student_on_sentences(r, loaded)
    if r.coding is not None or r.dead_zone:
        _configure_bert(model, tokenizer, r.coding or model_coding(model), int(r.dead_zone or 0), r)
    curve = r.device.decay_curve()
    snn = convert(model, curve, adc_bits=r.device.adc_bits)
    result = verify_bert(model, snn, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"],
                         fire_mode=r.simulator, variation=r.device.variation(curve, r.seed))
    description.update({"coding": model_coding(model), "snn_coding": snn.coding,
                        "dead_zone": max((int(getattr(m, "dead_zone", 0)) for m in model.modules()), default=0)})
    description.update({"sentences": int(batch["input_ids"].shape[0]), "source": source,
                        "tokens": int(batch["attention_mask"].sum()), **r.device.describe()})
    return Verification(result, description)


def _configure_bert(model, tokenizer, coding: str, dead_zone: int, r: BertVerifyRequest) -> None:
    """configure_coding of a BERT student; M-TTFS silent levels from ``task``'s training sentences."""
    silent = "zero"
    if coding == "mttfs":
        texts_a, texts_b, _ = inputs.sentences(r.sentences, r.task, "train")
        calib = inputs.tokenize(tokenizer, texts_a, texts_b, r.max_len, model.config.vocab_size)
        silent = calibrate_silent(model, calib)
    configure_coding(model, coding, dead_zone, silent=silent)


def verify_mlp(request: MlpVerifyRequest) -> Verification:
    """A QuantMLP's SNN against the QNN on ``batch`` inputs (drawn for a random MLP, from the checkpoint's
    input recipe otherwise)."""
    r = request
    torch.set_num_threads(min(2, torch.get_num_threads()))
    if r.simulator not in SIMULATORS:
        raise OttersError(f"--simulator must be one of {', '.join(SIMULATORS)}, got {r.simulator!r}")
    if (r.checkpoint is None) == (not r.random_mlp):
        raise OttersError("give a checkpoint file or --random-mlp (not both)")
    if r.random_mlp:
        qnn, x = random_mlp_case(r.depth, r.width, r.bits, r.weight_bits, r.signed, r.residual, r.seed, r.batch)
        model = {"kind": "random-mlp", "depth": r.depth, "width": r.width, "bits": r.bits,
                 "weight_bits": r.weight_bits, "signed": r.signed, "residual": r.residual, "seed": r.seed}
    else:
        qnn, make_inputs = load_for_verify(r.checkpoint)
        x = make_inputs(r.batch, r.seed)
        model = {"kind": "checkpoint", "path": str(r.checkpoint), "seed": r.seed}
    curve = r.device.decay_curve()
    calibration = None
    if r.coding != "ttfs" or r.dead_zone:
        configure_coding(qnn, r.coding, r.dead_zone)  # with a dead zone, the QNN checked is the dead-zone QNN
        calibration = (torch.randn(x.shape, generator=torch.Generator().manual_seed(r.seed + 2)) if r.random_mlp
                       else make_inputs(r.batch, r.seed + 1))
        model.update({"coding": r.coding, "dead_zone": r.dead_zone, "granularity": r.granularity})
    snn = convert(qnn, curve, adc_bits=r.device.adc_bits, coding=r.coding, calibration=calibration,
                  granularity=r.granularity)
    result = verify(qnn, snn, x, simulator=r.simulator, variation=r.device.variation(curve, r.seed))
    model.update({"batch": int(x.shape[0]), **r.device.describe()})
    return Verification(result, model)


@dataclass(frozen=True)
class HardwareSettings:
    """The clocked chip of ``--simulator hardware``: clock period ``dt`` (s), ``drift`` (relative
    uniform output drift), timing ``jitter`` (s, Gaussian), ``read_noise`` (relative, Gaussian)."""

    dt: float | None = None
    drift: float = 0.0
    jitter: float = 0.0
    read_noise: float = 0.0

    def __post_init__(self):
        check_read_settings(self.dt, self.drift, self.jitter, self.read_noise)  # before the student is built


def verify_bert_hardware(request: BertVerifyRequest, hardware: HardwareSettings) -> Verification:
    """The hardware-level simulation of a BERT student (reads on clock ticks through a b-bit ADC,
    spikes counted from threshold crossings; otters.snn.hardware_verify) against its closed form."""
    r = request
    torch.set_num_threads(min(2, torch.get_num_threads()))
    if r.coding not in (None, "ttfs") or r.dead_zone or r.device.chip_std or r.device.synapse_std:
        raise OttersError("--simulator hardware runs plain TTFS on a nominal or drifting chip: drop --coding, "
                          "--dead-zone, --chip-std and --synapse-std (use --drift, --jitter, --read-noise)")
    model, description, _, batch, source = _student_on_sentences(r)
    snn = convert(model, r.device.decay_curve())
    read = chip_read(snn, hardware.dt, r.device.adc_bits, hardware.drift, hardware.jitter, hardware.read_noise)
    result = verify_hardware(snn, read, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], r.seed)
    description.update({"sentences": int(batch["input_ids"].shape[0]), "source": source,
                        "tokens": int(batch["attention_mask"].sum()),
                        "curve": str(r.device.curve) if r.device.curve else "paper"})
    return Verification(result, description)
