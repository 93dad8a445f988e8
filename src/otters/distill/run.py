"""Knowledge distillation of the Otters / Sorbet students, staged or in one stage, resumable.

Recipe (Sorbet, ICML 2025; Otters, ICLR 2026): the student is initialised
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

Coding (Matterhorn, ``otters.distill.coding``): ``coding`` "mttfs" and/or ``dead_zone`` k give
the final stage M-TTFS silent levels calibrated on training sentences and the dead zone, trained
through; ``init`` starts a single stage from a packed student checkpoint instead of the teacher.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from otters.data.examples import TextExamples
from otters.data.metrics import main_metric
from otters.data.splits import load_split, seeded_subset
from otters.data.tasks import get_task
from otters.data.tokenize import bucketed_batches, collate, encode, load_tokenizer
from otters.data.transfer import check_transfer_source, transfer_texts
from otters.distill.checkpoint import RUN_FILE, load_student_checkpoint
from otters.distill.coding import calibration_batches, coding_prepare, save_coding_if_any
from otters.distill.loss import DistillWeights, distillation_loss
from otters.distill.plan import freeze_teacher, hf_model, kd_outputs, resolve_teacher_dir, stage_plan, transfer_weights
from otters.distill.settings import DEFAULT_PRESET, LATER_DEFAULTS, DistillSettings
from otters.distill.teacher_cache import TeacherOutputs, teacher_outputs
from otters.errors import OttersError
from otters.io import atomic_write_json, read_json
from otters.models import save_student
from otters.models.packing import CONFIG_FILE
from otters.paths import check_output_dir
from otters.quant.lsq import set_fused_quantizers
from otters.quant.lsq_fused import check_fused_available
from otters.snn.mttfs import CODING_FILE, load_coded_student, load_coding
from otters.state_schema import read_distill_state, read_json_object
from otters.teacher.cache import TEACHER_FILE, cache_root
from otters.teacher.settings import teacher_settings
from otters.train import ddp
from otters.train.checkpoint import read_jsonl, staging_dir
from otters.train.common import quiet_transformers, replace_dir, set_threads
from otters.train.loop import TrainConfig, Trainer
from otters.train.metrics import MetricsSink, prefixed
from otters.train.predict import split_metrics
from otters.train.seed import epoch_seed

DONE_FILE, STAGE_FILE = "done.json", "distill_stage.json"


def prepare_data(spec, teacher_dir: Path, s: DistillSettings, data_dir=None):
    """(train Encoded, validation Encoded, max_len, tokenizer) tokenised with the teacher's tokenizer."""
    max_len = s.max_len
    if max_len is None and (teacher_dir / TEACHER_FILE).is_file():
        max_len = (read_json_object(teacher_dir / TEACHER_FILE).get("settings") or {}).get("max_len")
    max_len = int(max_len or teacher_settings(spec.name)["max_len"])
    tokenizer = load_tokenizer(teacher_dir)
    train = seeded_subset(load_split(spec, "train", data_dir), s.train_rows, s.seed)
    if s.transfer is not None:  # unlabelled: the loss reads the teacher's outputs only
        extra = transfer_texts(spec.name, s.transfer, data_dir, s.transfer_rows, s.seed + 2)
        train = TextExamples(spec, "train+transfer", list(train.text_a) + list(extra.text_a), None, None)
    val = seeded_subset(load_split(spec, "validation", data_dir), s.eval_rows, s.seed + 1)
    return encode(tokenizer, train, max_len), encode(tokenizer, val, max_len), max_len, tokenizer


def make_loss_fn(teacher, regression: bool, weights: DistillWeights, stored: TeacherOutputs | None = None):
    """loss(student, batch): distillation_loss of the student against the frozen teacher on the batch.

    With ``stored`` (the teacher's outputs on the training rows; the batch then carries its row
    indices as ``"rows"``) the teacher's outputs are read back instead of recomputed; the attention
    loss needs the live teacher.
    """
    need_attn = bool(weights.attention)
    if stored is not None and need_attn:
        raise OttersError("the teacher-output cache holds logits and hidden states, not attention scores; "
                          "turn it off to distil attention")

    def loss_fn(student, batch):
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        s_out = student(**inputs, output_attentions=need_attn)
        if stored is not None:
            t_out = stored.for_batch(batch["rows"].cpu().numpy(), batch["input_ids"].shape[1], batch["input_ids"].device)
            return distillation_loss(kd_outputs(s_out), t_out, batch["attention_mask"], regression, weights)
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
    def on_best(model, record):
        staged = staging_dir(stage_dir / "best")
        save_student(model, staged, latent=True)
        save_coding_if_any(model, staged)
        atomic_write_json(staged / STAGE_FILE, {**record_base, "validation": record})
        replace_dir(staged, stage_dir / "best")

    return on_best


def run_stage(index: int, name: str, model, teacher, spec, train_enc, val_enc, s: DistillSettings, out_dir: Path,
              resume: bool, info: ddp.DistInfo, device: str, progress: bool, log, prepare=None,
              metrics: MetricsSink | None = None) -> dict:
    """Train one stage; returns its summary (also written to ``<stage>/done.json``). ``prepare(model,
    first_batch)`` replaces the first-batch calibration of a fresh stage (a coded stage's set-up).
    ``metrics``: a sink for the stage's scalars, put under the stage's folder name (``1-w1a4/train/loss``)."""
    stage_dir = out_dir / f"{index}-{name}"
    metric = main_metric(spec)
    cfg = s.train_config(index, progress, device)
    lengths = train_enc.lengths
    teacher = teacher.to(info.device)
    stored = None
    # one writer: a data-parallel run keeps the live teacher; so does the attention loss (scores are not stored)
    if s.teacher_cache and info.world == 1 and not s.weights.attention:
        stored = teacher_outputs(teacher, train_enc, model.config.num_hidden_layers, cache_root() / "teacher-outputs")
        log(f"stage {index} ({name}): teacher outputs in {stored.folder} ({stored.rows_filled} of "
            f"{len(train_enc)} rows stored)")
    trainer = Trainer(
        model, cfg, stage_dir,
        loss_fn=make_loss_fn(teacher, spec.regression, s.weights, stored),
        make_batch=lambda rows: {**collate(train_enc, rows), "rows": torch.as_tensor(np.asarray(rows))},
        num_examples=len(train_enc),
        evaluate=lambda m: split_metrics(m, spec, val_enc),
        main_metric=metric,
        batch_order=lambda epoch: bucketed_batches(lengths, cfg.batch_size, True, epoch_seed(cfg.seed, epoch)),
        calibrate=prepare or _calibrate,
        on_best=_export_best(stage_dir, {"task": spec.name, "preset": s.preset, "stage": name, "index": index}),
        info=info, run_meta={"stage": name, "index": index}, metrics_sink=prefixed(metrics, stage_dir.name),
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


def distill(settings: DistillSettings, teacher=None, *, out_dir=None, resume: bool = False, data_dir=None,
            device: str = "auto", threads: int = 2, progress: bool = True, log=None,
            metrics: MetricsSink | None = None) -> Path:
    """Distil ``settings.preset`` for ``settings.task`` from ``teacher`` (module docstring); returns ``out/student``.

    Pipeline of Sorbet (ICML 2025) staged distillation with Otters' 1-bit K/V (ICLR 2026): each stage
    minimises L = L_pred + L_hid (+ w L_att) against the previous stage (first: the fine-tuned teacher).
    ``settings.coding`` / ``dead_zone`` (Matterhorn, ``otters.distill.coding``) code the final stage;
    ``settings.init`` (a student checkpoint; single stage, its preset; teacher default: the one it
    records) fine-tunes that student instead of starting from the teacher. ``teacher``: a Hugging Face
    folder, "minilm-l6", or None for the task's cached teacher. The other arguments change where and
    how the run happens, not its result; so does ``metrics``, a sink (``otters.train.metrics``) that also
    receives every stage's training and validation scalars. Under torchrun every process calls this;
    rank 0 writes.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    spec = get_task(settings.task)
    preset, init_model = settings.preset, None
    if settings.init is not None:
        loaded = load_student_checkpoint(settings.init, trainable=True)
        if preset is not None and preset != loaded.preset:
            raise OttersError(f"--init {settings.init} is a {loaded.preset} student; drop --preset or give "
                              f"{loaded.preset}")
        if settings.stages != "single" or settings.hat:
            raise OttersError("--init fine-tunes one stage of the checkpoint's own preset: use --stages single, no --hat")
        preset, init_model = loaded.preset, loaded.model
        teacher = teacher if teacher is not None else loaded.teacher
    s = settings.checked(spec.name, preset or DEFAULT_PRESET)
    plan = stage_plan(s.preset, s.stages)
    # Every option is checked before anything is written: a refused run leaves no distill.json behind.
    TrainConfig(epochs=s.epochs, max_steps=s.max_steps, batch_size=s.batch_size, lr=s.lr,
                eval_every=s.eval_every).check()
    for option, value in (("--max-len", s.max_len), ("--train-rows", s.train_rows), ("--eval-rows", s.eval_rows),
                          ("--transfer-rows", s.transfer_rows)):
        if value is not None and value < 1:
            raise OttersError(f"{option} must be at least 1, got {value}")
    if s.fused_quantizers:
        check_fused_available(str(device))
    if s.transfer is not None:
        check_transfer_source(spec.name, s.transfer)
    set_threads(threads)
    quiet_transformers()
    info = ddp.init_distributed(device)
    log = log if info.is_main else (lambda msg: None)
    out_dir = check_output_dir(Path(out_dir) if out_dir is not None else s.default_out())
    run_file = out_dir / RUN_FILE
    if resume and not run_file.is_file():
        raise OttersError(f"--resume: {out_dir} holds no distillation run ({RUN_FILE} is missing); "
                          "drop --resume to start one")
    teacher_dir = resolve_teacher_dir(teacher, spec.name, data_dir, log)
    train_enc, val_enc, s.max_len, tokenizer = prepare_data(spec, teacher_dir, s, data_dir)
    recorded = {**s.to_dict(), "teacher": str(teacher_dir), "plan": plan, "world": info.world}
    torch.manual_seed(s.seed)  # a teacher without a task head (minilm-l6) gets a seeded random one
    teacher_model, head = hf_model(teacher_dir, "bert-fp", spec, require_head=False)
    if run_file.is_file():
        if not resume:
            raise OttersError(f"{out_dir} already holds a distillation run; pass --resume to continue it or choose a new --out")
        before = read_distill_state(run_file)["settings"]
        changed = sorted(k for k in recorded if before.get(k, LATER_DEFAULTS.get(k)) != _jsonable(recorded[k]))
        if changed:
            raise OttersError(f"--resume with different settings ({', '.join(changed)}); use the same ones or a new --out")
    if info.is_main:
        atomic_write_json(run_file, {"settings": _jsonable(recorded), "stages": []})
    ddp.barrier(info)

    if not head:
        log(f"warning: {teacher_dir} has no trained {spec.name} head; its targets are random (smoke runs only)")
    freeze_teacher(teacher_model)
    summaries, previous = [], None
    hat_override = {"hat_noise": s.hat} if s.hat else {}
    for index, (name, overrides) in enumerate(plan, start=1):
        stage_dir = out_dir / f"{index}-{name}"
        torch.manual_seed(s.seed + index)  # the fresh parts of a stage's model (classifier, new steps)
        stage_preset = "bert-fp" if name == "fp" else s.preset
        # Stage 1 starts from the teacher's weights (or the --init checkpoint); later stages from the previous best.
        if init_model is not None:
            student = init_model
        else:
            student, _ = hf_model(teacher_dir, stage_preset, spec, require_head=False, **overrides, **hat_override)
        if previous is not None:
            transfer_weights(previous, student)
            teacher_model = freeze_teacher(copy.deepcopy(previous))
        set_fused_quantizers(student, s.fused_quantizers)
        if overrides:
            student.config.preset = f"{s.preset}@{name}"
        prepare = None
        if index == len(plan) and s.coded:
            if (stage_dir / CODING_FILE).is_file():  # a resumed stage keeps the levels it was calibrated with
                load_coding(student, stage_dir)
            calib = calibration_batches(train_enc, s.calibration_rows, s.seed + 7) if s.coding == "mttfs" else None
            prepare = coding_prepare(s.coding, s.dead_zone, calib, stage_dir, info.is_main, _calibrate)
        if (stage_dir / DONE_FILE).is_file():
            summary = read_json(stage_dir / DONE_FILE)
            log(f"stage {index} ({name}) already done; skipping")
        else:
            summary = run_stage(index, name, student, teacher_model, spec, train_enc, val_enc, s, out_dir,
                                resume, info, device, progress, log, prepare, metrics)
        summaries.append(summary)
        best_dir = stage_dir / "best"
        if not (best_dir / CONFIG_FILE).is_file():
            raise OttersError(f"stage {name} produced no best checkpoint in {best_dir}")
        previous = load_coded_student(best_dir).to("cpu")
        if info.is_main:
            record = read_distill_state(run_file)
            record["stages"] = summaries
            atomic_write_json(run_file, record)
    final = out_dir / "student"
    if info.is_main:
        staged = staging_dir(final)
        save_student(previous, staged, latent=False)
        save_coding_if_any(previous, staged)
        tokenizer.save_pretrained(str(staged))  # the student reads the same token ids as its teacher
        atomic_write_json(staged / RUN_FILE, {"settings": _jsonable(recorded), "stages": summaries})
        replace_dir(staged, final)
        log(f"distilled {s.preset} for {spec.name}: {final}")
    ddp.barrier(info)
    ddp.shutdown(info)
    return final


def _jsonable(value):
    """Tuples to lists (so a settings dict compares equal to its JSON round trip)."""
    return json.loads(json.dumps(value))
