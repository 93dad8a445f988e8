"""Knowledge distillation of the Otters / Sorbet students, staged or in one stage, resumable.

Recipe (Sorbet, ICML 2025; Otters, ICLR 2026; PAPERS.md sec. 1.3 and 2): the student is initialised
from the teacher's weights and trained on the task's training split with soft cross-entropy on the
logits + MSE on every hidden state (MSE on the output for STS-B; optional attention-score loss),
AdamW with warm-up and linear decay, the quantizer steps in their own group (lr 1e-4, no weight
decay); the validation split is scored every ``eval_every`` steps and the best checkpoint kept.
Hardware-aware training (HAT) adds Gaussian noise of relative std ``hat`` to every spiking stage's
potential (config ``hat_noise``; HAT1 = 0.1, HAT2 = 0.2).

Layout of ``out_dir``: ``distill.json`` (settings and per-stage results), one folder per stage
(``<i>-<stage>/``: trainer ``checkpoint/``, ``metrics.jsonl``, ``best/`` = packed student with latent
weights, ``done.json``), and ``student/``: the final packed student (load with
``otters.models.load_student``; with its ``coding.json``: ``otters.snn.mttfs.load_coded_student``).

Coding (Matterhorn, ``otters.train.distill_coding``): ``coding`` "mttfs" and/or ``dead_zone`` k give
the final stage M-TTFS silent levels calibrated on training sentences and the dead zone, trained
through; ``init`` starts a single stage from a packed student checkpoint instead of the teacher.
"""

from __future__ import annotations

import copy
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from otters.distill.checkpoint import load_student_checkpoint
from otters.errors import OttersError
from otters.io import atomic_write_json, read_json
from otters.train import ddp
from otters.train.checkpoint import read_jsonl, staging_dir
from otters.train.distill_coding import (DEFAULT_CALIBRATION_ROWS, calibration_batches, check_coding, coding_prepare,
                                         is_coded, save_coding_if_any)
from otters.train.losses import DistillWeights, distillation_loss
from otters.train.loop import TrainConfig, Trainer
from otters.train.predict import split_metrics
from otters.train.seed import epoch_seed
from otters.train.students import (freeze_teacher, hf_model, kd_outputs, resolve_teacher_dir, stage_plan,
                                   transfer_weights)

RUN_FILE, DONE_FILE, STAGE_FILE = "distill.json", "done.json", "distill_stage.json"


@dataclass
class DistillSettings:
    """Everything that defines a distillation run (compared on --resume)."""

    task: str
    preset: str
    stages: str = "staged"
    hat: float = 0.0
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32
    lr: float = 5e-5
    step_size_lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    eval_every: int = 100
    max_len: int | None = None
    seed: int = 0
    train_rows: int | None = None
    eval_rows: int | None = None
    weights: DistillWeights = field(default_factory=DistillWeights)
    coding: str = "ttfs"
    dead_zone: int = 0
    init: str | None = None
    calibration_rows: int = DEFAULT_CALIBRATION_ROWS

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["weights"] = self.weights.to_dict()
        return d


# Settings added after runs were recorded: a recorded run without them had these values (resume check).
_LATER_DEFAULTS = {"coding": "ttfs", "dead_zone": 0, "init": None, "calibration_rows": DEFAULT_CALIBRATION_ROWS}


def _default_out(s: DistillSettings) -> Path:
    hat = f"-hat{s.hat:g}" if s.hat else ""
    coded = f"-{s.coding}-dz{s.dead_zone}" if is_coded(s.coding, s.dead_zone) else ""
    return Path("runs") / f"distill-{s.task}-{s.preset}{hat}{coded}-seed{s.seed}"


def prepare_data(spec, teacher_dir: Path, s: DistillSettings, data_dir=None):
    """(train Encoded, validation Encoded, max_len, tokenizer) tokenised with the teacher's tokenizer."""
    from otters.data.splits import load_split, seeded_subset
    from otters.data.tokenize import encode, load_tokenizer
    from otters.train.teacher import TEACHER_FILE, teacher_settings

    max_len = s.max_len
    if max_len is None and (teacher_dir / TEACHER_FILE).is_file():
        max_len = (read_json(teacher_dir / TEACHER_FILE).get("settings") or {}).get("max_len")
    max_len = int(max_len or teacher_settings(spec.name)["max_len"])
    tokenizer = load_tokenizer(teacher_dir)
    train = seeded_subset(load_split(spec, "train", data_dir), s.train_rows, s.seed)
    val = seeded_subset(load_split(spec, "validation", data_dir), s.eval_rows, s.seed + 1)
    return encode(tokenizer, train, max_len), encode(tokenizer, val, max_len), max_len, tokenizer


def make_loss_fn(teacher, regression: bool, weights: DistillWeights):
    """loss(student, batch): distillation_loss of the student against the frozen teacher on the batch."""
    import torch

    need_attn = bool(weights.attention)

    def loss_fn(student, batch):
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        s_out = student(**inputs, output_attentions=need_attn)
        device_type = batch["input_ids"].device.type
        # The teacher runs in float32 outside autocast: a quantized teacher's integer path must stay exact.
        with torch.no_grad(), torch.autocast(device_type, enabled=False):
            t_out = teacher(**inputs, output_attentions=need_attn)
        return distillation_loss(kd_outputs(s_out), kd_outputs(t_out), batch["attention_mask"], regression, weights)

    return loss_fn


def _calibrate(model, batch) -> None:
    """One forward on the first global batch: LSQ steps that are not yet initialised take it (Sorbet)."""
    model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"])


def _export_best(stage_dir: Path, record_base: dict):
    from otters.models import save_student
    from otters.train.common import replace_dir

    def on_best(model, record):
        staged = staging_dir(stage_dir / "best")
        save_student(model, staged, latent=True)
        save_coding_if_any(model, staged)
        atomic_write_json(staged / STAGE_FILE, {**record_base, "validation": record})
        replace_dir(staged, stage_dir / "best")

    return on_best


def run_stage(index: int, name: str, model, teacher, spec, train_enc, val_enc, s: DistillSettings, out_dir: Path,
              resume: bool, info: ddp.DistInfo, device: str, progress: bool, log, prepare=None) -> dict:
    """Train one stage; returns its summary (also written to ``<stage>/done.json``). ``prepare(model,
    first_batch)`` replaces the first-batch calibration of a fresh stage (a coded stage's set-up)."""
    from otters.data.metrics import main_metric
    from otters.data.tokenize import bucketed_batches, collate

    stage_dir = out_dir / f"{index}-{name}"
    metric = main_metric(spec)
    cfg = TrainConfig(epochs=s.epochs, max_steps=s.max_steps, batch_size=s.batch_size, lr=s.lr,
                      step_size_lr=s.step_size_lr, weight_decay=s.weight_decay, warmup_fraction=s.warmup_fraction,
                      eval_every=s.eval_every, seed=s.seed + 1000 * index, progress=progress, device=device)
    lengths = train_enc.lengths
    trainer = Trainer(
        model, cfg, stage_dir,
        loss_fn=make_loss_fn(teacher.to(info.device), spec.regression, s.weights),
        make_batch=lambda rows: collate(train_enc, rows), num_examples=len(train_enc),
        evaluate=lambda m: split_metrics(m, spec, val_enc),
        main_metric=metric,
        batch_order=lambda epoch: bucketed_batches(lengths, cfg.batch_size, True, epoch_seed(cfg.seed, epoch)),
        calibrate=prepare or _calibrate,
        on_best=_export_best(stage_dir, {"task": spec.name, "preset": s.preset, "stage": name, "index": index}),
        info=info, run_meta={"stage": name, "index": index},
    )
    started = time.perf_counter()
    result = trainer.fit(resume=resume)
    wall = time.perf_counter() - started
    records = read_jsonl(stage_dir / "metrics.jsonl")
    rates = [r["samples_per_s"] for r in records if "samples_per_s" in r]
    summary = {"stage": name, "index": index, "steps": result.step, "main_metric": metric,
               "best": {"metric": result.best_metric, "step": result.best_step}, "last_eval": result.last_eval,
               "resumed_from": result.resumed_from, "wall_s_this_process": round(wall, 2),
               "mean_samples_per_s": float(np.mean(rates)) if rates else None}
    if info.is_main:
        atomic_write_json(stage_dir / DONE_FILE, summary)
        # A finished stage is skipped on --resume: its resumable state (weights + AdamW moments) can go.
        shutil.rmtree(stage_dir / "checkpoint", ignore_errors=True)
        log(f"stage {index} ({name}): best validation {metric} = {result.best_metric} at step {result.best_step}")
    ddp.barrier(info)
    return summary


def distill(task: str, preset: str | None = None, teacher=None, *, hat: float = 0.0, stages: str = "staged",
            out_dir=None, epochs: int = 3, max_steps: int | None = None, seed: int = 0, resume: bool = False,
            batch_size: int = 32, lr: float = 5e-5, eval_every: int = 100, max_len: int | None = None,
            train_rows: int | None = None, eval_rows: int | None = None, weights: DistillWeights | None = None,
            data_dir=None, device: str = "auto", threads: int = 2, progress: bool = True, log=None,
            coding: str = "ttfs", dead_zone: int = 0, init=None,
            calibration_rows: int = DEFAULT_CALIBRATION_ROWS) -> Path:
    """Distil ``preset`` for ``task`` from ``teacher`` (see the module docstring); returns ``out/student``.

    Pipeline of Sorbet (ICML 2025) staged distillation with Otters' 1-bit K/V (ICLR 2026): each stage
    minimises L = L_pred + L_hid (+ w L_att) against the previous stage (first: the fine-tuned teacher).
    ``coding`` / ``dead_zone`` (Matterhorn, ``otters.train.distill_coding``) code the final stage;
    ``init`` (a student checkpoint; single stage, its preset; teacher default: the one it records)
    fine-tunes that student instead of starting from the teacher. Under torchrun every process calls
    this; rank 0 writes.
    """
    import torch

    from otters.data.tasks import get_task
    from otters.models import save_student
    from otters.snn.mttfs import CODING_FILE, load_coded_student, load_coding
    from otters.train.common import quiet_transformers, replace_dir, set_threads

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    spec = get_task(task)
    init_model = None
    if init is not None:
        loaded = load_student_checkpoint(init, trainable=True)
        init_model, init_preset, init_teacher = loaded.model, loaded.preset, loaded.teacher
        if preset is not None and preset != init_preset:
            raise OttersError(f"--init {init} is a {init_preset} student; drop --preset or give {init_preset}")
        if stages != "single" or hat:
            raise OttersError("--init fine-tunes one stage of the checkpoint's own preset: use --stages single, no --hat")
        preset, teacher = init_preset, teacher if teacher is not None else init_teacher
    preset = preset or "otters-1bitkv"
    coding, dead_zone = check_coding(coding, dead_zone, preset)
    s = DistillSettings(spec.name, preset, stages, float(hat), epochs, max_steps, batch_size, lr,
                        eval_every=eval_every, max_len=max_len, seed=seed, train_rows=train_rows,
                        eval_rows=eval_rows, weights=weights or DistillWeights(), coding=coding, dead_zone=dead_zone,
                        init=None if init is None else str(init),
                        calibration_rows=int(calibration_rows) if coding == "mttfs" else DEFAULT_CALIBRATION_ROWS)
    if not 0.0 <= s.hat <= 1.0:
        raise OttersError(f"--hat is a relative noise std in [0, 1] (0.1 = HAT1, 0.2 = HAT2), got {hat}")
    plan = stage_plan(preset, stages)
    set_threads(threads)
    quiet_transformers()
    info = ddp.init_distributed(device)
    log = log if info.is_main else (lambda msg: None)
    out_dir = Path(out_dir) if out_dir is not None else _default_out(s)
    teacher_dir = resolve_teacher_dir(teacher, spec.name, data_dir, log)
    train_enc, val_enc, s.max_len, tokenizer = prepare_data(spec, teacher_dir, s, data_dir)
    settings = {**s.to_dict(), "teacher": str(teacher_dir), "plan": plan, "world": info.world}
    run_file = out_dir / RUN_FILE
    if run_file.is_file():
        if not resume:
            raise OttersError(f"{out_dir} already holds a distillation run; pass --resume to continue it or choose a new --out")
        before = read_json(run_file)["settings"]
        changed = sorted(k for k in settings if before.get(k, _LATER_DEFAULTS.get(k)) != _jsonable(settings[k]))
        if changed:
            raise OttersError(f"--resume with different settings ({', '.join(changed)}); use the same ones or a new --out")
    if info.is_main:
        atomic_write_json(run_file, {"settings": _jsonable(settings), "stages": []})
    ddp.barrier(info)

    teacher_model, head = hf_model(teacher_dir, "bert-fp", spec, require_head=False)
    if not head:
        log(f"warning: {teacher_dir} has no trained {spec.name} head; its targets are random (smoke runs only)")
    freeze_teacher(teacher_model)
    summaries, previous = [], None
    hat_override = {"hat_noise": s.hat} if s.hat else {}
    for index, (name, overrides) in enumerate(plan, start=1):
        stage_dir = out_dir / f"{index}-{name}"
        torch.manual_seed(s.seed + index)  # the fresh parts of a stage's model (classifier, new steps)
        stage_preset = "bert-fp" if name == "fp" else preset
        # Stage 1 starts from the teacher's weights (or the --init checkpoint); later stages from the previous best.
        if init_model is not None:
            student = init_model
        else:
            student, _ = hf_model(teacher_dir, stage_preset, spec, require_head=False, **overrides, **hat_override)
        if previous is not None:
            transfer_weights(previous, student)
            teacher_model = freeze_teacher(copy.deepcopy(previous))
        if overrides:
            student.config.preset = f"{preset}@{name}"
        prepare = None
        if index == len(plan) and is_coded(s.coding, s.dead_zone):
            if (stage_dir / CODING_FILE).is_file():  # a resumed stage keeps the levels it was calibrated with
                load_coding(student, stage_dir)
            calib = calibration_batches(train_enc, s.calibration_rows, s.seed + 7) if s.coding == "mttfs" else None
            prepare = coding_prepare(s.coding, s.dead_zone, calib, stage_dir, info.is_main, _calibrate)
        if (stage_dir / DONE_FILE).is_file():
            summary = read_json(stage_dir / DONE_FILE)
            log(f"stage {index} ({name}) already done; skipping")
        else:
            summary = run_stage(index, name, student, teacher_model, spec, train_enc, val_enc, s, out_dir,
                                resume, info, device, progress, log, prepare)
        summaries.append(summary)
        best_dir = stage_dir / "best"
        if not (best_dir / "otters.json").is_file():
            raise OttersError(f"stage {name} produced no best checkpoint in {best_dir}")
        previous = load_coded_student(best_dir).to("cpu")
        if info.is_main:
            record = read_json(run_file)
            record["stages"] = summaries
            atomic_write_json(run_file, record)
    final = out_dir / "student"
    if info.is_main:
        staged = staging_dir(final)
        save_student(previous, staged, latent=False)
        save_coding_if_any(previous, staged)
        tokenizer.save_pretrained(str(staged))  # the student reads the same token ids as its teacher
        atomic_write_json(staged / RUN_FILE, {"settings": _jsonable(settings), "stages": summaries})
        replace_dir(staged, final)
        log(f"distilled {preset} for {spec.name}: {final}")
    ddp.barrier(info)
    ddp.shutdown(info)
    return final


def _jsonable(value):
    """Tuples to lists (so a settings dict compares equal to its JSON round trip)."""
    import json

    return json.loads(json.dumps(value))
