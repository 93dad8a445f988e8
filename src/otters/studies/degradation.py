"""Accuracy beyond the exactness envelope: a trained student on a chip degraded one parameter at a time.

Inside the envelope of ``otters tolerance`` (``otters.coding.tolerance``) every device read gives the
exact ADC code and the spiking BERT equals its QNN bit for bit (Otters, ICLR 2026, Prop. 1). Past a
bound some codes are wrong; how much accuracy that costs is a measurement, not a derivation. This study
takes the envelope of the student's own window lengths, then moves one parameter past its bound while
the others stay at the hardware simulator's defaults (``otters.snn.hardware_verify.chip_read``):

- clock period dt: multiples of ``max_clock_period`` (reads at the start of the tick holding t_k);
- ADC bits: b_min, b_min - 1, ... (below n = log2(T + 1) bits one code spans several levels);
- uniform output drift: multiples of ``max_output_drift``, on the side of the window that binds
  (the one nearer 0; the envelope's drift window is [low, high), ``drift_window``);
- read jitter: multiples of ``max_jitter`` (uniform +-J per read, seeded).

Each point runs the hardware-level executor (``otters.snn.hardware.HardwareExecutor``: ticks, stepped
thresholds, one device read per spike through a b-bit ADC) on a fixed, seeded subset of the split, one
sentence at a time, and records the accuracy, the agreement of its predictions with the closed-form
simulator's (= the QNN's) and how many sentences kept their logits bit for bit.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from otters.coding.tolerance import drift_window, tolerance
from otters.data.splits import load_split
from otters.data.tasks import get_task
from otters.errors import OttersError
from otters.io import savefig_atomic
from otters.snn.convert import convert
from otters.snn.hardware import HardwareExecutor
from otters.snn.hardware_verify import chip_read, read_windows_T
from otters.studies import inputs

PARAMETERS = ("dt", "adc_bits", "drift", "jitter")
_TITLES = {"dt": "clock period", "adc_bits": "ADC bits", "drift": "output drift", "jitter": "read jitter"}


@dataclass(frozen=True)
class DegradationRequest:
    """One degradation sweep of a student ``checkpoint`` on ``sentences`` seeded rows of ``task``'s ``split``.
    ``multiples``: factors of the clock, drift and jitter bounds; ``bit_drops``: ADC bits b_min - d
    (points below 1 bit are skipped); ``adc_bits``: the chip's ADC for the other parameters."""

    checkpoint: Path
    task: str = "rt"
    split: str = "test"
    sentences: int = 64
    seed: int = 0
    parameters: tuple[str, ...] = PARAMETERS
    multiples: tuple[float, ...] = (1.0, 1.5, 2.0, 4.0)
    bit_drops: tuple[int, ...] = (0, 1, 2, 3)
    adc_bits: int = 8
    max_len: int = 128
    data_dir: Path | None = None


@dataclass
class DegradationPoint:
    """One degraded chip: ``parameter`` at ``value`` (s, bits or relative drift), ``label`` ("1.5x" or
    "b_min-1"), ``multiple`` of its bound (None for bits). ``accuracy`` on the subset, ``agreement``:
    the fraction of predictions equal to the closed-form simulator's, ``exact_sentences``: sentences whose
    logits equal the closed form's bit for bit, ``exact``: all of them. ``wrong_codes``: steps k of the
    windows read whose reading differs from the exact code, ``max_code_error``: the largest difference in
    levels (None under jitter, whose reads are drawn one by one). Past the clock bound the set of wrong
    steps is not monotone in dt (a tick may again hold an instant whose read is exact)."""

    parameter: str
    label: str
    multiple: float | None
    value: float
    accuracy: float
    agreement: float
    exact_sentences: int
    exact: bool
    wall_s: float
    wrong_codes: int | None = None
    max_code_error: float | None = None


@dataclass
class DegradationResult:
    """The sweep: the student and subset, the closed-form (= QNN) accuracy on it, the envelope the points are
    measured against (``bounds``: max_clock_period, min_adc_bits, max_output_drift and its side, max_jitter,
    the default clock and ADC), and one :class:`DegradationPoint` per degraded chip."""

    checkpoint: str
    task: str
    split: str
    sentences: int
    tokens: int
    seed: int
    metric: str
    closed_form: float
    bounds: dict
    points: list[DegradationPoint] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def by_parameter(self) -> dict[str, list[DegradationPoint]]:
        out: dict[str, list[DegradationPoint]] = {}
        for p in self.points:
            out.setdefault(p.parameter, []).append(p)
        return out


def parse_multiples(text: str) -> tuple[float, ...]:
    """"1,1.5,2,4" -> (1.0, 1.5, 2.0, 4.0), each a finite number > 0; OttersError names the form."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise OttersError(f"--multiples takes comma-separated numbers > 0, e.g. 1,1.5,2,4; got {text!r}")
    return values


def parse_bit_drops(text: str) -> tuple[int, ...]:
    """"0,1,2" -> (0, 1, 2): ADC bits below b_min, each an integer >= 0."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 0:
        raise OttersError(f"--bit-drops takes comma-separated integers >= 0, e.g. 0,1,2,3; got {text!r}")
    return values


def parse_parameters(text: str) -> tuple[str, ...]:
    """"dt,jitter" -> ("dt", "jitter"), each one of :data:`PARAMETERS`."""
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in values if v not in PARAMETERS]
    if not values or unknown:
        raise OttersError(f"--parameters takes a comma-separated subset of {','.join(PARAMETERS)}; got {text!r}")
    return values


def envelope(snn, adc_bits: int) -> dict:
    """The exactness envelope of every window length the chip reads (the tightest bound over them), at
    the hardware simulator's default clock for ``adc_bits``."""
    Ts = read_windows_T(snn)
    dt = chip_read(snn, None, adc_bits).dt
    bounds = [tolerance(snn.curve, T, max(adc_bits, (T + 1).bit_length() - 1), dt) for T in Ts]
    clocks = [b.max_clock_period.value for b in bounds if b.max_clock_period.value is not None]
    windows = [drift_window(snn.curve, T, max(adc_bits, (T + 1).bit_length() - 1), dt) for T in Ts]
    low, high = max(w[0] for w in windows), min(w[1] for w in windows)
    return {"T": Ts, "adc_bits": int(adc_bits), "dt": float(dt),
            "max_clock_period": min(clocks) if clocks else None,
            "min_adc_bits": max(int(b.min_adc_bits.value) for b in bounds),
            "max_output_drift": min(high, -low), "drift_side": 1 if high <= -low else -1,
            "drift_window": [low, high],
            "max_jitter": min(b.max_jitter.value for b in bounds)}


def _points(env: dict, request: DegradationRequest) -> list[tuple[str, str, float | None, float]]:
    """(parameter, label, multiple, value) of every chip the request degrades, in order."""
    out = []
    for parameter in request.parameters:
        if parameter == "adc_bits":
            for d in request.bit_drops:
                if env["min_adc_bits"] - d >= 1:
                    out.append((parameter, "b_min" if d == 0 else f"b_min-{d}", None, float(env["min_adc_bits"] - d)))
            continue
        bound = {"dt": env["max_clock_period"], "drift": env["max_output_drift"], "jitter": env["max_jitter"]}[parameter]
        if bound is None:  # T = 1 alone: no clock bound
            continue
        sign = env["drift_side"] if parameter == "drift" else 1
        out += [(parameter, f"{m:g}x", m, sign * m * bound) for m in request.multiples]
    return out


def _read(snn, env: dict, parameter: str, value: float):
    if parameter == "dt":
        return chip_read(snn, value, env["adc_bits"])
    if parameter == "adc_bits":
        return chip_read(snn, None, int(value))
    if parameter == "drift":
        return chip_read(snn, env["dt"], env["adc_bits"], drift=value)
    return chip_read(snn, env["dt"], env["adc_bits"], jitter=value)


def _subset(task: str, split: str, n: int, seed: int, data_dir):
    """``n`` rows of ``task``'s ``split`` drawn without replacement by ``seed`` (kept in split order)."""
    spec = get_task(task)
    if spec.regression:
        raise OttersError(f"the degradation study scores accuracy; {task} is a regression task")
    examples = load_split(spec, split, data_dir)
    if examples.labels is None:
        raise OttersError(f"{task} {split} has no labels to score")
    if n < 1:
        raise OttersError(f"--sentences must be >= 1, got {n}")
    keep = np.sort(np.random.default_rng(seed).permutation(len(examples))[: min(n, len(examples))])
    return examples.subset(keep)


@torch.no_grad()
def degrade(request: DegradationRequest, log: Callable[[str], None] | None = None) -> DegradationResult:
    """The student's accuracy on each degraded chip of ``request`` (module docstring)."""
    r = request
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model, description = inputs.student(Path(r.checkpoint), None, "minilm-l6", None)
    if description["coding"] != "ttfs" or description["dead_zone"]:
        raise OttersError("the hardware-level simulator runs plain TTFS; this student is coded "
                          f"{description['coding']!r} with dead zone {description['dead_zone']}")
    rows = _subset(r.task, r.split, r.sentences, r.seed, r.data_dir)
    tokenizer = inputs.tokenizer_for(Path(r.checkpoint))
    batch = inputs.tokenize(tokenizer, rows.text_a, rows.text_b, r.max_len, model.config.vocab_size)
    labels = np.asarray(rows.labels)[_tokenized_order(tokenizer, rows, r.max_len)]
    snn = convert(model)  # the exact path (8-bit ADC): the closed form every point is compared with
    ids, mask, types = batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
    reference = []
    for row in range(ids.shape[0]):
        real = mask[row].bool()
        reference.append(snn(ids[row][real][None], None, types[row][real][None]).logits[0])
    reference = torch.stack(reference)
    ref_pred = reference.argmax(-1).numpy()
    env = envelope(snn, r.adc_bits)
    result = DegradationResult(
        checkpoint=description["path"], task=r.task, split=r.split, sentences=int(ids.shape[0]),
        tokens=int(mask.sum()), seed=r.seed, metric="accuracy", closed_form=float((ref_pred == labels).mean()),
        bounds=env, settings={"multiples": list(r.multiples), "bit_drops": list(r.bit_drops),
                              "parameters": list(r.parameters), "max_len": r.max_len, "adc_per": "spike"})
    for parameter, label, multiple, value in _points(env, r):
        start = time.perf_counter()
        read = _read(snn, env, parameter, value)
        logits = HardwareExecutor(snn, read=read, adc_per="spike", seed=r.seed).forward(ids, mask, types).logits
        pred = logits.argmax(-1).numpy()
        same = sum(bool(torch.equal(logits[i], reference[i])) for i in range(len(pred)))
        wrong, worst = (None, None) if parameter == "jitter" else _code_errors(read, env["T"])
        point = DegradationPoint(parameter, label, multiple, float(value), float((pred == labels).mean()),
                                 float((pred == ref_pred).mean()), int(same), same == len(pred),
                                 time.perf_counter() - start, wrong, worst)
        result.points.append(point)
        if log is not None:
            log(f"{parameter} {label} ({value:.4g}): accuracy {point.accuracy:.4f}, agreement {point.agreement:.4f}, "
                f"{same}/{len(pred)} sentences bit-exact, {point.wall_s:.0f} s")
    return result


def _code_errors(read, Ts) -> tuple[int, float]:
    """(steps whose reading is not the exact code, the largest error in levels) over the window lengths Ts."""
    wrong, worst = 0, 0.0
    for T in Ts:
        R = read.resolution(T)
        error = np.abs(read.table(T)[:T] - (T - np.arange(T)) * R) / R
        wrong += int((error != 0).sum())
        worst = max(worst, float(error.max()))
    return wrong, worst


def _tokenized_order(tokenizer, rows, max_len: int) -> np.ndarray:
    """Indices of ``rows`` in the order ``inputs.tokenize`` puts them (longest first, ties in row order)."""
    enc = tokenizer(list(rows.text_a), list(rows.text_b) if rows.text_b is not None else None, truncation=True,
                    max_length=int(max_len), padding=False)
    lengths = np.asarray([len(ids) for ids in enc["input_ids"]])
    return np.argsort(-lengths, kind="stable")


def degradation_plot(result: DegradationResult | dict, path: str | os.PathLike) -> Path:
    """Accuracy versus degradation, one panel per parameter: x = multiple of the bound on a log axis (bits:
    b_min - d), a dashed line at the closed-form (= QNN) accuracy, bit-exact points filled, the others open."""
    # matplotlib is heavy and only needed for the figure
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = result.to_dict() if isinstance(result, DegradationResult) else result
    groups: dict[str, list[dict]] = {}
    for p in data["points"]:
        groups.setdefault(p["parameter"], []).append(p)
    params = [p for p in PARAMETERS if p in groups]
    if not params:
        raise OttersError("the degradation result holds no point to plot")
    fig, axes = plt.subplots(1, len(params), figsize=(3.6 * len(params), 3.3), squeeze=False, sharey=True)
    for ax, parameter in zip(axes[0], params):
        points = groups[parameter]
        if parameter == "adc_bits":
            xs = [p["value"] for p in points]
            ax.set_xlabel("ADC bits (b_min = %d)" % data["bounds"]["min_adc_bits"])
            ax.set_xticks(xs)
            ax.invert_xaxis()
        else:
            xs = [p["multiple"] for p in points]
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [f"{x:g}x" for x in xs], fontsize=7)
            ax.set_xlabel("multiple of the exactness bound")
        ys = [100 * p["accuracy"] for p in points]
        ax.plot(xs, ys, color="C0", lw=1.2)
        for x, y, p in zip(xs, ys, points):
            ax.plot([x], [y], marker="o", ms=5, color="C0", mfc="C0" if p["exact"] else "white")
        ax.axhline(100 * data["closed_form"], color="0.4", ls="--", lw=0.8, label="closed form (= QNN)")
        ax.set_title(_TITLES[parameter])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{data['task']} {data['split']} accuracy (%), {data['sentences']} sentences")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    out = savefig_atomic(fig, path, dpi=150)
    plt.close(fig)
    return out
