"""Steps 1-3 of ``otters run``: the device, the teacher, the distilled students.

Each step is a function ``step(ctx, state)`` returning its dataclass (``otters.report.results``); the
runner records it in run.json when the step returns. Long steps use resumable trainers (``otters.teacher``,
``otters.distill.run``), so an interrupted step continues where its last checkpoint left it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from otters.data.glue import glue_file
from otters.data.tasks import get_task
from otters.distill.checkpoint import RUN_FILE
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.errors import OttersError
from otters.io import read_json
from otters.pipeline.context import RunContext
from otters.pipeline.profiles import PRESET
from otters.pipeline.state import RunState
from otters.report.results import Command, DeviceResult, DistilledStudent, DistillResult, TeacherResult
from otters.studies.device import run_device_demo
from otters.teacher.cache import TEACHER_FILE, intermediate_teacher_dir, is_teacher_dir, teacher_cache_dir
from otters.teacher.finetune import ensure_teacher
from otters.train.metrics import prefixed


def step_device(ctx: RunContext, state: RunState) -> DeviceResult:
    """Fit the synapse's decay O(t) = I0 exp(-(t/tau)^beta) + I_offset to noisy samples, derive the T = 15
    firing instants O(t_k) = (T - k)/T and check exact TTFS coding through the device (Otters Sec. 3,
    Prop. 1): ``otters device demo`` (figures schedule.png and fit.png)."""
    out = ctx.path("device")
    summary = run_device_demo(out, profile=ctx.profile.device_demo, seed=ctx.seed, log=ctx.log)
    return DeviceResult(
        dir=str(out), fit=summary["fit"], schedule_T15=summary["schedules"]["15"], coding=summary["coding"],
        output_variation=summary["output_variation"],
        figures={"schedule": str(out / "schedule.png"), "fit": str(out / "fit.png")},
        commands=[
            Command("firing schedule of the paper's device (T = 15)", "otters device schedule --T 15"),
            Command("device fit, schedule and coding demo",
                    ctx.command("device", "demo", out="runs/device-demo", profile=ctx.profile.device_demo,
                                seed=ctx.seed, glue_env=False)),
        ])


def _quick_teacher_dir(ctx: RunContext) -> Path:
    """Cache folder of the profile's own small teacher, named by its settings (never the full teacher's)."""
    full = teacher_cache_dir(ctx.task, ctx.model_dir)
    settings = json.dumps({"seed": ctx.seed, **ctx.profile.teacher}, sort_keys=True)
    return full.with_name(f"{full.name}-{ctx.profile.name}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}")


def _teacher_record(path: Path) -> dict:
    info = read_json(path / TEACHER_FILE) if (path / TEACHER_FILE).is_file() else {}
    best = info.get("best") or {}
    return {"main_metric": info.get("main_metric"), "validation": best.get("validation"), "best_step": best.get("step"),
            "train_rows": info.get("train_rows"), "wall_s": info.get("wall_s"), "settings": info.get("settings")}


def _profile_intermediate(ctx: RunContext) -> str | None:
    """The intermediate task of this run's full teacher recipe (profile ``teacher_intermediate``), or None."""
    return ctx.profile.teacher_intermediate.get(get_task(ctx.task).name)


def _intermediate_recipe(ctx: RunContext) -> str | None:
    """The profile's intermediate task for this run's teacher, or None (none set, or its data is missing)."""
    intermediate = _profile_intermediate(ctx)
    if not intermediate:
        return None
    try:
        present = glue_file(intermediate, "train", ctx.data_dir).is_file()
    except OttersError:
        present = False
    if not present:
        ctx.log(f"no {intermediate} training data found (the GLUE folder: --data-dir or OTTERS_GLUE_DIR); "
                f"the {ctx.task} teacher is fine-tuned without its {intermediate} intermediate stage")
    return intermediate if present else None


def _cached_full_teacher(ctx: RunContext) -> tuple[Path, str | None] | None:
    """(folder, intermediate task or None) of the best finished full teacher in the cache, or None:
    the one through the profile's intermediate stage first, then the one from the base model directly."""
    recipe = _profile_intermediate(ctx)
    via = intermediate_teacher_dir(ctx.task, recipe, ctx.model_dir) if recipe else None
    for folder, used in ((via, recipe), (teacher_cache_dir(ctx.task, ctx.model_dir), None)):
        if folder is not None and is_teacher_dir(folder):
            return folder, used
    return None


def step_teacher(ctx: RunContext, state: RunState) -> TeacherResult:
    """The fine-tuned full-precision teacher (BERT recipe, Devlin et al. 2019; Otters Sec. 4 distils from it).

    Order: ``--teacher DIR`` as given; else a finished full teacher in the cache (``otters teacher``, the
    one with the profile's intermediate stage first) when the profile allows reuse; else the profile's own
    teacher, trained (resumably) and cached. The full profile's own teacher is the full recipe, with the
    intermediate stage when its data is present.
    """
    p = ctx.profile
    if ctx.teacher is not None:
        path, source = Path(ctx.teacher), "given (--teacher)"
        command = None
    else:
        model = str(ctx.model_dir) if ctx.model_dir else None
        cached = _cached_full_teacher(ctx) if p.teacher and p.reuse_cached_teacher else None
        if cached:
            path, used = cached
            source = "cached full teacher" + (f" ({used} intermediate stage)" if used else "")
            command = ctx.command("teacher", task=ctx.task, model=model, data_dir=ctx.data_dir, intermediate=used)
            ctx.log(f"using the finished full teacher in the cache: {path}")
        elif not p.teacher:
            used = _intermediate_recipe(ctx)
            path = ensure_teacher(ctx.task, ctx.model_dir, ctx.data_dir, log=ctx.log, threads=p.threads, seed=ctx.seed,
                                  intermediate=used, metrics=prefixed(ctx.metrics, "teacher"))
            source = "full teacher (otters teacher)" + (f", {used} intermediate stage" if used else "")
            command = ctx.command("teacher", task=ctx.task, model=model, data_dir=ctx.data_dir, intermediate=used)
        else:
            out = _quick_teacher_dir(ctx)
            t = p.teacher
            path = ensure_teacher(ctx.task, ctx.model_dir, ctx.data_dir, out, log=ctx.log, threads=p.threads,
                                  seed=ctx.seed, metrics=prefixed(ctx.metrics, "teacher"), **t)
            source = f"{p.name} teacher ({t.get('max_train_rows') or 'all'} training rows, {t.get('epochs')} epoch(s))"
            command = ctx.command("teacher", task=ctx.task, model=model, data_dir=ctx.data_dir, epochs=t.get("epochs"),
                                  max_len=t.get("max_len"), batch_size=t.get("batch_size"),
                                  lr=t.get("lr"), train_rows=t.get("max_train_rows"), eval_every=t.get("eval_every"),
                                  seed=ctx.seed,
                                  out=out)
    return TeacherResult(dir=str(path), source=source, **_teacher_record(Path(path)),
                         commands=[Command("teacher fine-tuning", command)] if command else [])


def _distill_one(ctx: RunContext, teacher: str, hat: float, out: Path) -> DistilledStudent:
    d = ctx.profile.distill
    settings = DistillSettings(ctx.task, PRESET, hat=hat, stages=d["stages"], epochs=d["epochs"],
                               max_steps=d["max_steps"], seed=ctx.seed, batch_size=d["batch_size"], lr=d["lr"],
                               eval_every=d["eval_every"], max_len=d["max_len"], train_rows=d["train_rows"],
                               eval_rows=d["eval_rows"])
    student = distill(settings, teacher, out_dir=out, resume=(out / RUN_FILE).is_file(), data_dir=ctx.data_dir,
                      threads=ctx.profile.threads, log=ctx.log, metrics=prefixed(ctx.metrics, out.name))
    summary = read_json(out / RUN_FILE)
    command = ctx.command("distill", task=ctx.task, preset=PRESET, teacher=teacher, hat=hat or None,
                          stages=d["stages"], epochs=d["epochs"], max_steps=d["max_steps"], batch_size=d["batch_size"],
                          lr=d["lr"], eval_every=d["eval_every"], max_len=d["max_len"], train_rows=d["train_rows"],
                          eval_rows=d["eval_rows"], seed=ctx.seed, data_dir=ctx.data_dir,
                          out=f"runs/repro-distill{'-hat' + format(hat, 'g') if hat else ''}")
    return DistilledStudent(student=str(student), hat=hat, max_len=summary["settings"].get("max_len"),
                            stages=summary["stages"], command=command)


def step_distill(ctx: RunContext, state: RunState) -> DistillResult:
    """Distil the Otters-1bitKV student (1-bit weights and K/V, 4-bit activations; Sorbet's loss: soft CE on
    logits + MSE on hidden states) from the teacher, plus one HAT student per profile ``hat`` level
    (Gaussian noise of std hat*|V| on every spiking stage's potential in training; Otters Sec. 5)."""
    teacher = state.result("teacher").dir
    base = _distill_one(ctx, teacher, 0.0, ctx.path("distill"))
    hats = [_distill_one(ctx, teacher, float(h), ctx.path(f"distill-hat{h:g}")) for h in ctx.profile.hat]
    commands = [Command("distillation (base student)", base.command)]
    commands += [Command(f"distillation (HAT {h.hat:g})", h.command) for h in hats]
    return DistillResult(student=base.student, max_len=base.max_len, stages=base.stages, hat_students=hats,
                         preset=PRESET, commands=commands)
