"""``otters run``: one command from text to a verified spiking model, an energy bill and a report.

Steps (each a function of ``(RunContext, RunState)`` returning its dataclass of
``otters.report.results``, recorded atomically in ``<run>/run.json`` when it returns; ``--resume`` skips the recorded ones and re-enters the
interrupted one, whose trainer continues from its own checkpoint):

preflight -> device -> teacher -> distill -> verify -> evaluate -> energy -> robustness -> report.

Sources: Otters (ICLR 2026) for the device, Proposition 1, 1-bit K/V, HAT and robustness; Sorbet
(ICML 2025) for the student and its distillation; docs/run.md for what each step writes.
"""

from __future__ import annotations

import dataclasses
import os
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Callable

from otters.data.tasks import get_task
from otters.errors import OttersError
from otters.io import atomic_write_json, read_json
from otters.paths import check_output_dir
from otters.pipeline.context import RunContext
from otters.pipeline.export import export_students
from otters.pipeline.preflight import preflight
from otters.pipeline.profiles import Profile, get_profile
from otters.pipeline.state import RUN_FILE, RunState
from otters.pipeline.steps_eval import step_energy, step_evaluate, step_robustness, step_verify
from otters.pipeline.steps_train import step_device, step_distill, step_teacher
from otters.report import write_report
from otters.report.browser import check_in_browser
from otters.report.results import PreflightResult, ReportResult
from otters.train.common import set_threads
from otters.train.metrics import MetricsSink


def step_preflight(ctx: RunContext, state: RunState) -> PreflightResult:
    """Libraries, base model and data present (each failure names its fix); what the machine is."""
    found = PreflightResult(**preflight(ctx.task, ctx.data_dir, ctx.model_dir))
    ctx.eval_split = found.eval_split
    return found


def step_report(ctx: RunContext, state: RunState) -> ReportResult:
    """The packed student(s) copied to ``<run>/student`` (``otters.pipeline.export``), then report.html
    (self-contained) and summary.json from everything recorded so far."""
    students = export_students(ctx.run_dir, state.result("distill")) if state.done("distill") else {}
    steps = dict(state.steps)
    steps["report"] = {"wall_s": 0.0, "result": None}  # its own time is added once it is known
    out = write_report(ctx.run_dir, state.settings, steps, students)
    check = _browser_check(out)
    return ReportResult(html=out.html, json=out.json, figures=out.figures, students=students, browser_check=check)


def _record_report_time(result: ReportResult, wall: float) -> None:
    """summary.json is written inside the report step: add that step's own wall time once it is known."""
    summary = read_json(result.json)
    summary["steps"]["report"] = round(float(wall), 2)
    summary["total_wall_s"] = float(sum(summary["steps"].values()))
    atomic_write_json(result.json, summary)


def _browser_check(out) -> dict:
    """Open the report in headless Chromium when there is one (otters.report.browser) and add the verdict to
    summary.json (report.html cannot hold the verdict on itself)."""
    check = check_in_browser(out.html, [k for k, v in out.figures.items() if v])
    summary = read_json(out.json)
    summary["browser_check"] = check
    atomic_write_json(out.json, summary)
    return check


STEPS: tuple[tuple[str, str, Callable], ...] = (
    ("preflight", "check libraries, model and data", step_preflight),
    ("device", "device: fit O(t), firing schedule, exact coding through the device", step_device),
    ("teacher", "teacher: fine-tune (or reuse the cached one)", step_teacher),
    ("distill", "distil the Otters-1bitKV student", step_distill),
    ("verify", "convert to a spiking BERT and verify exactness", step_verify),
    ("evaluate", "evaluate teacher, QNN and SNN", step_evaluate),
    ("energy", "operation audit and energy with measured spikes", step_energy),
    ("robustness", "device-variation robustness sweep", step_robustness),
    ("report", "report.html and summary.json", step_report),
)
STEP_NAMES = tuple(name for name, _, _ in STEPS)


def default_run_dir(task: str, profile: str) -> Path:
    """``runs/<task>-<profile>-<YYYYmmdd-HHMMSS>``: a new directory per run."""
    return Path("runs") / f"{task}-{profile}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


@contextmanager
def _glue_env(data_dir):
    """Commands that read sentences without a --data-dir option find the GLUE folder through OTTERS_GLUE_DIR."""
    if data_dir is None:
        yield
        return
    before = os.environ.get("OTTERS_GLUE_DIR")
    os.environ["OTTERS_GLUE_DIR"] = str(data_dir)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OTTERS_GLUE_DIR", None)
        else:
            os.environ["OTTERS_GLUE_DIR"] = before


def _context(run_dir, task, profile, seed, data_dir, model_dir, teacher, overrides, log, metrics=None) -> RunContext:
    return RunContext(Path(run_dir).expanduser().resolve(), get_task(task).name, get_profile(profile, **(overrides or {})), int(seed),
                      Path(data_dir).expanduser().resolve() if data_dir else None,
                      Path(model_dir).expanduser().resolve() if model_dir else None,
                      Path(teacher).expanduser().resolve() if teacher else None, log=log, metrics=metrics)


def open_run(out=None, resume=None, task=None, profile=None, seed=None, data_dir=None, model_dir=None, teacher=None,
             overrides: dict | None = None, log=None, metrics: MetricsSink | None = None) -> tuple[RunContext, RunState]:
    """The context and record of a new run (``out``) or of the run to resume (``resume``); ``metrics``: a
    sink for the training curves of the teacher and distillation steps (``otters.train.metrics``).

    Resuming takes the run's recorded settings; options given again must agree with them.
    """
    log = log or (lambda msg: None)
    if resume is not None:
        resume = Path(resume).expanduser().resolve()
        state = RunState.load(resume)
        s = state.settings
        given = {"task": task, "profile": profile, "seed": seed, "data_dir": data_dir, "model_dir": model_dir,
                 "teacher": teacher}
        ctx = _context(resume, s["task"], s["profile"]["name"], s["seed"], s["data_dir"], s["model_dir"], s["teacher"],
                       None, log, metrics)
        ctx.profile = _profile_from_record(s["profile"])
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise OttersError("give --resume DIR alone (or --out DIR equal to it), not a different --out")
        clash = [k for k, v in given.items() if v is not None and str(_normal(k, v)) != str(s.get(k) if k != "profile"
                                                                                         else s["profile"]["name"])]
        if clash:
            raise OttersError(f"--resume continues the run with its own settings; drop {', '.join('--' + c.replace('_', '-') for c in clash)} "
                              f"or start a new run")
        state.check_settings(ctx.settings())
        state.check_records()  # a run directory of another otters version is refused before anything is written
        return ctx, state
    if out is not None:
        check_output_dir(out)
    ctx = _context(out or default_run_dir(task or "rt", profile or "quick"), task or "rt", profile or "quick",
                   0 if seed is None else seed, data_dir, model_dir, teacher, overrides, log, metrics)
    return ctx, RunState.create(ctx.run_dir, ctx.settings())


def _normal(key, value):
    if key in ("data_dir", "model_dir", "teacher"):
        return Path(value).expanduser().resolve()
    if key == "task":
        return get_task(value).name
    return value


def _profile_from_record(record: dict):
    fields = dict(record)
    try:
        fields["hat"] = tuple(fields.get("hat") or ())
        fields["robustness"] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields["robustness"].items()}
        return Profile(**fields)
    except (KeyError, TypeError, AttributeError) as exc:  # a damaged or hand-edited run.json
        raise OttersError(f"{RUN_FILE}: field 'settings.profile' does not describe a run profile of this otters "
                          f"version ({exc}); start a new run") from None


def run_pipeline(ctx: RunContext, state: RunState, console=None, stop_after: str | None = None) -> ReportResult | None:
    """Run every step not yet recorded (the report always again); returns the report step's result (None
    when ``stop_after`` stopped before it).

    ``stop_after``: stop after this step (tests, partial runs). Ctrl-C leaves the record of the finished
    steps and the trainers' checkpoints: ``otters run --resume <run>`` continues.
    """
    if stop_after is not None and stop_after not in STEP_NAMES:
        raise OttersError(f"unknown step {stop_after!r}; steps: {', '.join(STEP_NAMES)}")
    say = console.print if console is not None else ctx.log
    set_threads(ctx.profile.threads)
    state.forget("report")
    total = len(STEPS)
    with _glue_env(ctx.data_dir):
        for number, (name, title, fn) in enumerate(STEPS, start=1):
            if state.done(name) and name != "preflight":
                say(f"[dim][{number}/{total}] {title}: done earlier ({state.steps[name]['wall_s']:.0f} s), skipped[/dim]"
                    if console is not None else f"[{number}/{total}] {title}: done earlier, skipped")
                continue
            if console is not None:
                console.rule(f"[bold][{number}/{total}] {title}")
            else:
                say(f"[{number}/{total}] {title}")
            started = time.monotonic()
            try:
                result = fn(ctx, state)
            except KeyboardInterrupt:
                say(f"interrupted during step {name!r}; finished steps are recorded in {state.path}. "
                    f"Continue with: otters run --resume {ctx.run_dir}")
                raise
            wall = time.monotonic() - started
            if name == "preflight" and state.done(name):
                result = dataclasses.replace(state.result(name), eval_split=result.eval_split)
                wall = state.steps[name]["wall_s"]
            state.finish(name, result, wall)
            if name == "report":
                _record_report_time(result, wall)
            say(f"{name} done in {wall:.1f} s")
            if name == stop_after:
                break
    return state.result("report") if state.done("report") else None
