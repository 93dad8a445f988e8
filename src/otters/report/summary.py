"""summary.json: the run's numbers, as a :class:`RunSummary` built from the steps' typed results.

Built from run.json's settings and step results only, so the report can be rendered again from a
finished or partial run directory without recomputing anything. summary.json is its JSON form
(``otters.report.record.to_json``); a section whose step has not run is null.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field

from otters import __version__
from otters.data.metrics import metric_names
from otters.report.paper import PaperRow, hat_name, paper_beside, paper_column
from otters.report.results import Command, EnergyResult, RobustnessResult, VerifyStepResult

STEP_ORDER = ("preflight", "device", "teacher", "distill", "verify", "evaluate", "energy", "robustness", "report")


@dataclass
class StepCommand:
    """A reproduction command and the step whose number it reproduces."""

    step: str
    what: str
    command: str


@dataclass
class AccuracyRow:
    model: str
    n: int
    metrics: dict


@dataclass
class Accuracy:
    """Our rows (majority baseline, teacher, QNN, SNN, HAT students) and the paper's rows beside them."""

    metric: str
    metric_names: list
    split: str
    rows: list[AccuracyRow]
    paper_column: str | None
    paper: list[PaperRow]
    commands: list[Command] = field(default_factory=list)


@dataclass
class Exactness:
    """Stage-by-stage verification, and (once the evaluation ran) the logits of every evaluated sentence."""

    verify: VerifyStepResult
    commands: list[Command] = field(default_factory=list)
    logits_equal: bool | None = None
    max_abs_logit_diff: float | None = None
    mismatched_rows: int | None = None
    n: int | None = None


@dataclass
class DeviceSummary:
    """The device fit and the T = 15 schedule (Otters, ICLR 2026, Proposition 1)."""

    r2: float | None
    rms_error_vs_truth: float | None
    params: dict | None
    t_1: float
    t_T: float
    clock: float | None
    accumulator_exact: bool | None
    commands: list[Command] = field(default_factory=list)


@dataclass
class EnergySummary(EnergyResult):
    """The energy step and the analytical table beside the paper's (from energy.json)."""

    paper_table: list | None = None


@dataclass
class Loss:
    """A model's metric on the nominal chip and at the largest deviation, and the loss between them."""

    label: str
    nominal: float
    at_level: float
    loss: float
    role: str | None = None


@dataclass
class HatComparison:
    """HAT criterion at the largest deviation of one kind: the HAT model loses less than half of the base's
    loss (``less_than_half`` None when the base loses nothing there)."""

    kind: str
    level: float
    hat: float
    base: Loss
    hat_model: Loss
    less_than_half: bool | None


@dataclass
class RobustnessSummary(RobustnessResult):
    hat_comparison: list[HatComparison] = field(default_factory=list)


@dataclass
class TeacherSummary:
    dir: str
    source: str
    main_metric: str | None
    validation: dict | None
    train_rows: int | None


@dataclass
class RunSummary:
    """Everything the report and the terminal show; ``steps``: wall seconds per step."""

    otters_version: str
    run_dir: str
    task: str
    profile: str
    seed: int
    machine: dict
    steps: dict
    total_wall_s: float
    notes: list[str] = field(default_factory=list)
    commands: list[StepCommand] = field(default_factory=list)
    student: dict | None = None
    accuracy: Accuracy | None = None
    exactness: Exactness | None = None
    device: DeviceSummary | None = None
    energy: EnergySummary | None = None
    robustness: RobustnessSummary | None = None
    teacher: TeacherSummary | None = None
    figures: dict = field(default_factory=dict)
    browser_check: dict | None = None


def _accuracy(task: str, ev) -> Accuracy:
    rows = [AccuracyRow("teacher (full precision)", ev.teacher.n, ev.teacher.metrics),
            AccuracyRow("student QNN (Otters-1bitKV)", ev.qnn.n, ev.qnn.metrics),
            AccuracyRow("student SNN (converted, nominal device)", ev.snn.n, ev.snn.metrics)]
    if ev.majority:
        m = ev.majority
        rows.insert(0, AccuracyRow(f"majority class ({m.label}) baseline", m.n, m.metrics))
    for hat, h in ev.hat.items():
        name = f"{hat_name(float(hat))} (training noise {float(hat):g})"
        rows += [AccuracyRow(f"{name} student QNN", h.n, h.qnn), AccuracyRow(f"{name} student SNN", h.n, h.snn)]
    return Accuracy(metric=ev.main_metric, metric_names=list(metric_names(task)), split=ev.split, rows=rows,
                    paper_column=paper_column(task), paper=paper_beside(task), commands=ev.commands)


def _machine(pre) -> dict:
    """The machine recorded by the preflight (older runs recorded only the CPU count and load)."""
    found = dict(pre.machine if pre else {})
    found.setdefault("cpu_count", pre.cpu_count if pre else None)
    found.setdefault("load_average", pre.load_average if pre else None)
    found.setdefault("processor", platform.machine())
    return found


def hat_comparison(rob: RobustnessResult) -> list[HatComparison]:
    """The HAT criterion at the largest deviation of the sweep, per HAT student and kind of variation.

    loss = metric of the student's SNN on the nominal chip - mean metric over the chips drawn at the
    largest level; ``less_than_half`` = HAT loss < base loss / 2 (None when the base loses nothing there:
    the criterion then says nothing). Base = the student without training noise (``hat`` 0 or None).
    """
    base = [(k, v) for k, v in rob.checkpoints.items() if not v.hat]
    hats = [(k, v) for k, v in rob.checkpoints.items() if v.hat]
    if not base or not hats or not rob.levels:
        return []
    base_label, b = base[0]
    level = max(rob.levels)
    out = []
    for label, h in hats:
        for kind in rob.kinds:
            last_b, last_h = b.results[kind][-1], h.results[kind][-1]
            loss_b, loss_h = b.nominal - last_b.mean, h.nominal - last_h.mean
            out.append(HatComparison(
                kind=kind, level=level, hat=h.hat, base=Loss(base_label, b.nominal, last_b.mean, loss_b),
                hat_model=Loss(label, h.nominal, last_h.mean, loss_h, h.role),
                less_than_half=None if loss_b <= 0 else bool(loss_h < 0.5 * loss_b)))
    return out


def _notes(run_dir, profile: dict, res: dict) -> list[str]:
    notes = []
    if profile["name"] == "quick":
        d, t = profile["distill"], profile["teacher"]
        rows = "all training" if t.get("max_train_rows") is None else f"{t['max_train_rows']}"
        notes.append(
            f"quick is a smoke profile: the student was distilled for {d['max_steps']} steps of {d['batch_size']} rows "
            f"(single stage) and the teacher, unless a finished full teacher was cached, saw "
            f"{rows} rows for {t.get('epochs')} epoch(s); its accuracy is far below the paper's by "
            "design. Use --profile full (staged distillation, full epochs; hours, meant for a GPU) for accuracy.")
    ev = res.get("evaluate")
    if ev and ev.predicted_classes == 1:
        notes.append("the student predicts the same class for every evaluated sentence (it collapsed to a "
                     "constant): its accuracy is the majority-class baseline, not learned.")
    if "preflight" in res and not res["preflight"].chromium:
        notes.append("chromium was not found, so report.html was not opened in a headless browser on this "
                     "machine; to have every run check it, run (as root): apt-get install -y chromium")
    missing = [n for n in STEP_ORDER[1:-1] if n not in res]
    if missing:
        notes.append(f"steps not run yet: {', '.join(missing)} (continue with: otters run --resume {run_dir})")
    return notes


def build_summary(run_dir, settings: dict, results: dict, walls: dict, students: dict | None = None,
                  paper_table: list | None = None) -> RunSummary:
    """The summary of a run from its settings, ``results`` {step: typed result} and ``walls`` {step: s}."""
    profile = settings["profile"]
    steps = {name: walls[name] for name in STEP_ORDER if name in walls}
    out = RunSummary(otters_version=__version__, run_dir=str(run_dir), task=settings["task"], profile=profile["name"],
                     seed=settings["seed"], machine=_machine(results.get("preflight")), steps=steps,
                     total_wall_s=float(sum(steps.values())), student=students or None)
    if "evaluate" in results:
        out.accuracy = _accuracy(settings["task"], results["evaluate"])
    if "verify" in results:
        v = results["verify"]
        out.exactness = Exactness(verify=v, commands=v.commands)
        if "evaluate" in results:
            ev = results["evaluate"]
            out.exactness.logits_equal, out.exactness.max_abs_logit_diff = ev.logits_equal, ev.max_abs_logit_diff
            out.exactness.mismatched_rows, out.exactness.n = ev.mismatched_rows, ev.snn.n
    if "device" in results:
        d = results["device"]
        times = d.schedule_T15["fire_times"]
        out.device = DeviceSummary(r2=d.fit.get("r2"), rms_error_vs_truth=d.fit.get("rms_error_vs_truth"),
                                   params=d.fit.get("params"), t_1=times[1], t_T=times[-1],
                                   clock=d.schedule_T15.get("coarsest_clock"),
                                   accumulator_exact=d.coding.get("accumulator_exact"), commands=d.commands)
    if "energy" in results:
        out.energy = EnergySummary(**vars(results["energy"]), paper_table=paper_table)
    if "robustness" in results:
        out.robustness = RobustnessSummary(**vars(results["robustness"]))
        out.robustness.hat_comparison = hat_comparison(out.robustness)
    for name in STEP_ORDER:
        for c in getattr(results.get(name), "commands", None) or []:
            out.commands.append(StepCommand(name, c.what, c.command))
    out.notes = _notes(run_dir, profile, results)
    teacher = results.get("teacher")
    if teacher:
        out.teacher = TeacherSummary(teacher.dir, teacher.source, teacher.main_metric, teacher.validation,
                                     teacher.train_rows)
    return out
