"""Fine-tuning of the full-precision teachers that the spiking students are distilled from.

A Hugging Face BERT (default: the packaged all-MiniLM-L6-v2) gets a task head through
``AutoModelForSequenceClassification`` (num_labels = classes, or 1 with an MSE loss for STS-B) and
is fine-tuned on the generic trainer (``otters.train.loop.Trainer``: AdamW, linear warm-up/decay,
gradient clipping at 1, bit-exact resume; BERT's recipe, Devlin et al. 2019, Section 4 and Appendix
A.3), in float32, batches bucketed by length in a seeded order per epoch. It is evaluated on the validation split carved from train.tsv every
``eval_every`` steps and at each epoch's end; the best checkpoint by the task's main metric is kept.
The Otters paper distils from a fine-tuned BERT-base teacher (Section 4); this trainer works with
any local BERT directory.

Intermediate fine-tuning (``intermediate="sst2"`` for ``rt``): the base model is first fine-tuned on
another task whose rows sharing text with the target's validation/test sentences are dropped
(:mod:`otters.data.overlap`), then on the target, starting from that model and its head when the
label counts agree (Phang et al. 2018, "Sentence encoders on STILTs").

Layout: ``<out>`` is written only when training is complete (``save_pretrained`` into a work
directory, then an atomic rename), with ``teacher.json`` recording the task, settings, validation
history and wall time. ``<out>.work`` holds the run while it trains: the trainer's ``checkpoint/``
and ``metrics.jsonl``, the best weights so far (``best/``) and the settings fingerprint
(``teacher_run.json``; a run with other settings is discarded rather than resumed).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch

from otters.data.metrics import main_metric
from otters.data.overlap import OverlapIndex, drop_overlapping, evaluation_texts
from otters.data.splits import load_split, seeded_subset
from otters.data.tasks import get_task
from otters.data.tokenize import bucketed_batches, collate, encode, load_tokenizer, resolve_model_dir
from otters.errors import OttersError
from otters.io import atomic_write_json
from otters.models.hf_safe import require_safetensors
from otters.paths import check_output_dir
from otters.state_schema import read_checkpoint_pointer, read_json_object
from otters.teacher.cache import TEACHER_FILE, is_teacher_dir, lock_path, model_hash, teacher_cache_dir
from otters.teacher.model import load_model
from otters.teacher.settings import teacher_settings
from otters.train.checkpoint import CheckpointStore, read_jsonl, staging_dir
from otters.train.common import exclusive_lock, replace_dir, set_threads
from otters.train.ddp import pick_device
from otters.train.loop import TrainConfig, Trainer
from otters.train.metrics import MetricsSink, prefixed
from otters.train.predict import split_metrics
from otters.train.seed import seed_everything

RUN_FILE = "teacher_run.json"  # the settings fingerprint of the run in ``<out>.work`` (compared on resume)


def _fingerprint(spec, settings, seed, base_hash, n_train, exclude_overlap=None) -> dict:
    extra = {"exclude_overlap": exclude_overlap} if exclude_overlap else {}
    return {"task": spec.name, "seed": seed, "base_model_hash": base_hash, "train_rows": n_train, **settings, **extra}


def _check_request(task: str, out_dir: Path, train_kwargs: dict) -> None:
    """Checked before the lock file is made beside ``out_dir``: a refused command leaves nothing behind."""
    check_output_dir(out_dir)
    teacher_settings(task, **{k: train_kwargs.get(k) for k in ("epochs", "max_len", "batch_size", "lr", "eval_every")})


def finetune_teacher(task: str, model_dir=None, data_dir=None, out_dir=None, *, log=None, **train_kwargs) -> Path:
    """Fine-tune a teacher for ``task`` and return its directory (see the module docstring).

    Loss: cross-entropy (classes) or MSE (STS-B). Keyword settings (epochs, max_len, batch_size, lr,
    eval_every, seed, warmup_ratio, weight_decay, resume, threads, max_train_rows) as in
    :func:`_finetune`. Refuses to start while another process trains into the same directory.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    model_dir = require_safetensors(resolve_model_dir(model_dir))
    out_dir = Path(out_dir) if out_dir is not None else teacher_cache_dir(task, model_dir,
                                                                           train_kwargs.get("exclude_overlap"))
    _check_request(task, out_dir, train_kwargs)
    with exclusive_lock(lock_path(out_dir), f"teacher directory {out_dir}"):
        return _finetune(task, model_dir, data_dir, out_dir, log=log, **train_kwargs)


def _finetune(task: str, model_dir: Path, data_dir, out_dir: Path, *, log, epochs=None, max_len=None,
              batch_size=None, lr=None, eval_every=None, seed: int = 0, warmup_ratio: float = 0.1,
              weight_decay: float = 0.01, resume: bool = True, threads: int = 2,
              max_train_rows: int | None = None, exclude_overlap: str | None = None,
              intermediate_of: Path | None = None, device: str = "cpu", show_progress: bool = True,
              metrics: MetricsSink | None = None) -> Path:
    """The training run behind :func:`finetune_teacher` (caller holds the directory's lock).

    ``resume``: continue from ``<out>.work`` if an interrupted run with the same settings left it.
    ``max_train_rows`` trains on a seeded random subset of that many rows (quick or CPU-bound runs).
    ``exclude_overlap``: drop train and validation rows sharing text with that task's evaluation splits.
    ``intermediate_of``: the intermediate teacher ``model_dir`` is (recorded in ``teacher.json``).
    ``device``: where to train ("cpu", "cuda", "cuda:<i>", "auto"); on CUDA the steps run under bf16
    autocast (validation in fp32), on the CPU in fp32. Settings left None take the task's defaults
    (:data:`TEACHER_DEFAULTS`). ``metrics``: a sink (``otters.train.metrics``) that also receives the
    training and validation scalars, under the task's name (``<task>/train/loss``, ``<task>/eval/<metric>``).
    """
    spec = get_task(task)
    settings = teacher_settings(spec.name, epochs=epochs, max_len=max_len, batch_size=batch_size, lr=lr,
                                eval_every=eval_every)
    set_threads(threads)
    seed_everything(seed)
    train_rows = load_split(spec, "train", data_dir)
    train_rows = seeded_subset(train_rows, max_train_rows, seed)
    val_rows = load_split(spec, "validation", data_dir)
    decontamination = None
    if exclude_overlap:
        index = OverlapIndex(evaluation_texts(exclude_overlap, data_dir))
        train_rows, dropped_train = drop_overlapping(train_rows, index)
        val_rows, dropped_val = drop_overlapping(val_rows, index)
        decontamination = {"against": get_task(exclude_overlap).name, "protected_texts": index.size,
                           "window_chars": index.window, "dropped_train": dropped_train,
                           "dropped_validation": dropped_val}
        log(f"{spec.name}: dropped {dropped_train} train and {dropped_val} validation rows that share text with "
            f"{decontamination['against']}'s evaluation splits; {len(train_rows)} train rows left")
        if not len(train_rows) or not len(val_rows):
            raise OttersError(f"no {spec.name} rows are left after removing the overlap with {exclude_overlap}")
    tokenizer = load_tokenizer(model_dir)
    train_enc = encode(tokenizer, train_rows, settings["max_len"])
    val_enc = encode(tokenizer, val_rows, settings["max_len"])
    model = load_model(model_dir, spec)
    fingerprint = _fingerprint(spec, settings, seed, model_hash(model_dir), len(train_enc),
                               decontamination and decontamination["against"])
    work = out_dir.with_name(out_dir.name + ".work")
    store = CheckpointStore(work / "checkpoint")
    usable = False
    if work.exists():
        marker = work / RUN_FILE
        usable = resume and store.exists() and marker.is_file() and read_json_object(marker) == fingerprint
        if not usable:
            why = "--no-resume" if not resume else "no saved state or different settings"
            log(f"starting afresh: discarding {work} ({why})")
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    atomic_write_json(work / RUN_FILE, fingerprint)
    metric = main_metric(spec)
    lengths = train_enc.lengths

    def make_batch(rows):
        batch = collate(train_enc, rows)
        if spec.regression:
            batch["labels"] = batch["labels"].float()
        return batch

    def export_best(trained, record):
        staging = staging_dir(work / "best")
        trained.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        replace_dir(staging, work / "best")

    cfg = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"],
                      step_size_lr=settings["lr"], weight_decay=weight_decay, warmup_fraction=warmup_ratio,
                      grad_clip=1.0, eval_every=int(settings["eval_every"]) or -(-len(train_enc) // settings["batch_size"]),
                      eval_at_epoch_end=True, seed=seed, amp=pick_device(device).startswith("cuda"),
                      progress=show_progress, device=device)
    trainer = Trainer(model, cfg, work, loss_fn=lambda m, batch: (m(**batch).loss, {}), make_batch=make_batch,
                      num_examples=len(train_enc), evaluate=lambda m: split_metrics(m, spec, val_enc),
                      main_metric=metric,
                      batch_order=lambda epoch: bucketed_batches(lengths, cfg.batch_size, True, seed * 1000 + epoch),
                      on_best=export_best, log=log, description=f"teacher {spec.name}",
                      metrics_sink=prefixed(metrics, spec.name))
    if usable:
        log(f"resuming {spec.name} teacher at step {read_checkpoint_pointer(store.pointer)['step']}/{trainer.total_steps} from {work}")
    result = trainer.fit(resume=usable)
    steps_per_epoch = trainer.steps_per_epoch
    history = [{"step": r["step"], "epoch": round(r["step"] / steps_per_epoch, 3), "validation": r["eval"],
                "best": r["best"]["step"] == r["step"]} for r in read_jsonl(trainer.metrics_path) if "eval" in r]
    best = next((r for r in history if r["step"] == result.best_step), None)
    wall = result.elapsed_s
    summary = {
        "task": spec.name, "kind": "hf-teacher", "base_model": str(model_dir), "settings": fingerprint,
        "optimizer": {"name": "AdamW", "warmup_ratio": warmup_ratio, "weight_decay": weight_decay, "grad_clip": 1.0},
        "main_metric": metric, "best": best and {k: v for k, v in best.items() if k != "best"}, "history": history,
        "train_rows": len(train_enc), "validation_rows": len(val_enc), "wall_s": round(wall, 1),
        "threads": threads, "torch": torch.__version__,
    }
    if decontamination is not None:
        summary["decontamination"] = decontamination
    if intermediate_of is not None:
        summary["intermediate"] = _intermediate_record(intermediate_of)
    if best is None:
        raise OttersError("training ended without an evaluation; use at least one epoch")
    atomic_write_json(work / "best" / TEACHER_FILE, summary)
    replace_dir(work / "best", out_dir)
    shutil.rmtree(work, ignore_errors=True)
    log(f"teacher {spec.name}: best validation {metric} = {best['validation'][metric]:.4f} "
        f"at step {best['step']}, {wall / 60:.1f} min; saved to {out_dir}")
    return out_dir


def _intermediate_record(path: Path) -> dict:
    info = read_json_object(path / TEACHER_FILE)
    return {"task": info["task"], "checkpoint": str(path), "wall_s": info["wall_s"],
            "train_rows": info["train_rows"], "decontamination": info.get("decontamination"),
            "best_validation": (info.get("best") or {}).get("validation")}


def ensure_teacher(task: str, model_dir=None, data_dir=None, out_dir=None, *, force: bool = False, log=None,
                   intermediate: str | None = None, **train_kwargs) -> Path:
    """The cached teacher of ``task`` (trained with :func:`finetune_teacher` only if absent or ``force``).

    ``intermediate``: first fine-tune (or reuse) a teacher of that task, decontaminated against
    ``task``'s evaluation splits and with that task's default settings, then start from it. ``force``
    retrains only the final stage. A ``metrics`` sink receives the scalars of every stage that trains.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    pick_device(train_kwargs.get("device", "cpu"))  # a device that is not there fails before anything is written
    model_dir = require_safetensors(resolve_model_dir(model_dir))
    intermediate_of = None
    if intermediate:
        if get_task(intermediate).name == get_task(task).name:
            raise OttersError(f"the intermediate task must differ from the task, got {intermediate} twice")
        shared = {k: train_kwargs[k] for k in ("seed", "threads", "resume", "device", "metrics") if k in train_kwargs}
        model_dir = intermediate_of = ensure_teacher(intermediate, model_dir, data_dir, log=log,
                                                     exclude_overlap=get_task(task).name, **shared)
    out_dir = Path(out_dir) if out_dir is not None else teacher_cache_dir(task, model_dir,
                                                                           train_kwargs.get("exclude_overlap"))
    _check_request(task, out_dir, train_kwargs)
    # Wait for a concurrent trainer of the same teacher, then use what it made.
    with exclusive_lock(lock_path(out_dir), f"teacher directory {out_dir}", wait=True, log=log):
        if is_teacher_dir(out_dir) and not force:
            info = read_json_object(out_dir / TEACHER_FILE)
            best = info.get("best") or {}
            metric = info.get("main_metric", main_metric(task))
            value = (best.get("validation") or {}).get(metric)
            shown = f"{value:.4f}" if isinstance(value, (int, float)) else "?"
            log(f"using cached {get_task(task).name} teacher at {out_dir} (validation {metric} = {shown}); "
                f"pass --force to retrain")
            return out_dir
        return _finetune(task, model_dir, data_dir, out_dir, log=log, intermediate_of=intermediate_of, **train_kwargs)
