"""What each step of ``otters run`` returns (one dataclass per step, recorded in ``run.json``) and the report reads.

The report (``otters.report``) reads these attributes; ``run.json`` holds their JSON form
(``otters.report.record``), whose keys are the field names, so a run directory written before the
results were typed reads back unchanged. Nested settings and simulator records the report shows as
they are (a fitted curve's parameters, an audit's counts) stay plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, is_dataclass

from otters.errors import OttersError
from otters.report.record import RecordMismatch, from_json


@dataclass
class Command:
    """A shell command that reproduces a number of the report, and what that number is."""

    what: str
    command: str


@dataclass
class PreflightResult:
    """Checks before the run: the task's rows, the evaluation split, the base model, the machine."""

    task: str
    eval_split: str
    train_rows: int
    eval_rows: int
    base_model: str
    chromium: str | None = None
    machine: dict = field(default_factory=dict)
    cpu_count: int | None = None
    load_average: list | None = None


@dataclass
class DeviceResult:
    """The device step: fit of O(t), the T = 15 schedule, exact coding through the device, drawn chips."""

    dir: str
    fit: dict
    schedule_T15: dict
    coding: dict
    output_variation: dict
    figures: dict
    commands: list[Command] = field(default_factory=list)


@dataclass
class TeacherResult:
    """The fine-tuned full-precision teacher: its folder, where it came from, its validation scores."""

    dir: str
    source: str
    main_metric: str | None = None
    validation: dict | None = None
    best_step: int | None = None
    train_rows: int | None = None
    wall_s: float | None = None
    settings: dict | None = None
    commands: list[Command] = field(default_factory=list)


@dataclass
class DistilledStudent:
    """One distilled student: its folder, training noise ``hat`` (0 = base), token limit, stage records."""

    student: str
    hat: float
    max_len: int | None
    stages: list
    command: str


@dataclass
class DistillResult:
    """The base student (``student``) and one HAT student per profile level."""

    student: str
    max_len: int | None
    stages: list
    hat_students: list[DistilledStudent]
    preset: str
    commands: list[Command] = field(default_factory=list)


@dataclass
class VerifyStepResult:
    """Stage-by-stage exactness of the spiking BERT on a few sentences, and its spike counts."""

    exact: bool
    simulator: str
    sentences: int
    max_level_diff: float
    max_potential_diff: float
    max_spikes_per_neuron: int
    first_inexact_layer: str | None
    checks: int
    spikes: int
    neurons: int
    firing_rate: float
    windows: int
    raster_tokens: int
    files: dict
    commands: list[Command] = field(default_factory=list)


@dataclass
class Scores:
    """Task metrics (fractions) on ``n`` rows."""

    n: int
    metrics: dict


@dataclass
class MajorityScores:
    """Always predicting the training split's most frequent class (JSON key of ``label``: "class")."""

    n: int
    label: str = field(metadata={"json": "class"})
    metrics: dict = field(default_factory=dict)


@dataclass
class HatScores:
    """A HAT student's QNN and SNN metrics on the same rows, and whether their logits are equal."""

    qnn: dict
    snn: dict
    n: int
    logits_equal: bool


@dataclass
class EvaluateResult:
    """Teacher, QNN and SNN scored on the evaluation split (a seeded subset when ``rows`` is set)."""

    split: str
    main_metric: str
    rows: int | None
    teacher: Scores
    majority: MajorityScores | None
    qnn: Scores
    snn: Scores
    logits_equal: bool
    max_abs_logit_diff: float
    mismatched_rows: int
    student_max_len: int
    predicted_classes: int | None
    hat: dict[str, HatScores]
    commands: list[Command] = field(default_factory=list)


@dataclass
class SparsitySummary:
    """Silent neurons of the student's populations (fractions of neuron evaluations, from the QNN's level
    histograms) under plain (offset) TTFS, sign-split TTFS (``sign_split``; None in runs recorded before it) and
    M-TTFS; ``split`` is the data split they were measured on."""

    samples: int
    split: str
    calibration_samples: int
    neurons: int
    ttfs: float
    mttfs: float
    sign_split: float | None = None


@dataclass
class CodingEnergy:
    """One lossless coding of the student's signed activations (dead zone 0: offset TTFS ``ttfs``, sign-split
    ``split``, M-TTFS ``mttfs``), its spiking BERT run on the same sentences: ``silent`` from the QNN's level
    histograms and ``silent_measured`` from the run (they agree), spikes, device reads and ADC conversions per
    inference, the energy per inference (mJ, audited and priced) and its parts; ``default``: the coding the
    spiking BERT uses when none is asked for."""

    coding: str
    label: str
    silent: float
    silent_measured: float
    total_mj: float
    parts: dict
    spikes: float
    device_reads: float
    conversions: float
    default: bool = False


@dataclass
class EnergyResult:
    """Energy per inference of the spiking model (mJ, audited operations priced), and its silent neurons;
    ``codings``: offset / split / M-TTFS side by side on the sparsity sentences (empty in runs recorded before)."""

    total_mj: float
    parts: dict
    by_data: dict
    audit: dict
    input: dict
    table: str
    sparsity: SparsitySummary
    files: dict
    commands: list[Command] = field(default_factory=list)
    codings: list[CodingEnergy] = field(default_factory=list)


@dataclass
class LevelScores:
    """The metric on the chips drawn at one deviation ``level``."""

    level: float
    values: list
    mean: float
    std: float


@dataclass
class RobustnessEntry:
    """One student on drawn chips: its HAT level and role (base, HAT2, ...), QNN and nominal-chip
    metrics, whether the nominal chip is bit-exact, and ``results[kind]`` per level."""

    hat: float | None
    role: str
    qnn: float
    nominal: float
    exact: bool
    results: dict[str, list[LevelScores]]


@dataclass
class DegradationPointResult:
    """One chip degraded past the exactness envelope in one ``parameter`` (dt, adc_bits, drift, jitter) to
    ``value`` (``label``: "1.5x" of the bound, or "b_min-1" bits): accuracy, agreement with the closed form's
    predictions, sentences still bit-exact, steps whose ADC code is wrong and the largest code error in levels
    (None under jitter)."""

    parameter: str
    label: str
    multiple: float | None
    value: float
    accuracy: float
    agreement: float
    exact_sentences: int
    exact: bool
    wrong_codes: int | None = None
    max_code_error: float | None = None


@dataclass
class DegradationSummary:
    """The base student beyond the exactness envelope (``otters degrade``; the full profile only): the
    hardware-level simulator on ``sentences`` seeded rows of ``split``, the closed-form (= QNN) accuracy on
    them, the envelope's ``bounds`` and one point per degraded chip; ``files``: degradation.json and the figure
    (accuracy vs degradation, one panel per parameter)."""

    sentences: int
    split: str
    closed_form: float
    bounds: dict
    points: list[DegradationPointResult]
    files: dict
    command: Command


@dataclass
class RobustnessResult:
    """The device-variation sweep of every student on the same chips (labels: the students' folders), and
    (full profile) the base student beyond the exactness envelope."""

    metric: str
    rows: int
    levels: list
    kinds: list
    draws: int
    checkpoints: dict[str, RobustnessEntry]
    files: dict
    commands: list[Command] = field(default_factory=list)
    degradation: DegradationSummary | None = None


@dataclass
class ReportResult:
    """The report step: report.html, summary.json, the figures, the exported students, the browser check."""

    html: str
    json: str
    figures: dict
    students: dict
    browser_check: dict | None = None


STEP_RESULTS = {"preflight": PreflightResult, "device": DeviceResult, "teacher": TeacherResult,
                "distill": DistillResult, "verify": VerifyStepResult, "evaluate": EvaluateResult,
                "energy": EnergyResult, "robustness": RobustnessResult, "report": ReportResult}


def read_step_result(name: str, record, where) -> object:
    """The dataclass of step ``name`` from its run.json ``record`` (a dataclass is returned as it is); a record
    of another shape (a run directory written by another otters version) is refused in one line that says
    what to do."""
    if is_dataclass(record):
        return record
    try:
        return from_json(STEP_RESULTS[name], record)
    except (RecordMismatch, TypeError) as exc:
        raise OttersError(f"{where}: the record of step {name!r} was written by another otters version ({exc}); "
                          "start a new run (otters run --out NEW_DIR)") from None
