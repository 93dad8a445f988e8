"""Fine-tuning of the full-precision teachers that the spiking students are distilled from.

A Hugging Face BERT (default: the packaged all-MiniLM-L6-v2) gets a task head through
``AutoModelForSequenceClassification`` (num_labels = classes, or 1 with an MSE loss for STS-B) and
is fine-tuned with AdamW and a linear warm-up/decay schedule (BERT's recipe, Devlin et al. 2019,
Section 4 and Appendix A.3). It is evaluated on the validation split carved from train.tsv every
``eval_every`` steps and at each epoch's end; the best checkpoint by the task's main metric is kept.
The Otters paper distils from a fine-tuned BERT-base teacher (Section 4); this trainer works with
any local BERT directory.

Intermediate fine-tuning (``intermediate="sst2"`` for ``rt``): the base model is first fine-tuned on
another task whose rows sharing text with the target's validation/test sentences are dropped
(:mod:`otters.data.overlap`), then on the target, starting from that model and its head when the
label counts agree (Phang et al. 2018, "Sentence encoders on STILTs").

Layout: ``<out>`` is written only when training is complete (``save_pretrained`` into a work
directory, then an atomic rename), with ``teacher.json`` recording the task, settings, validation
history and wall time. ``<out>.work`` holds the resumable state while training runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from otters.data.metrics import main_metric
from otters.data.overlap import OverlapIndex, drop_overlapping, evaluation_texts
from otters.data.splits import load_split, seeded_subset
from otters.data.tasks import TaskSpec, get_task
from otters.data.tokenize import bucketed_batches, collate, encode, load_tokenizer, resolve_model_dir
from otters.errors import OttersError
from otters.io import atomic_write_json, read_json
from otters.train.common import (MetricsLog, exclusive_lock, load_training_state, progress, quiet_transformers,
                                 replace_dir, save_training_state, set_threads)
from otters.train.optim import build_optimizer
from otters.train.predict import split_metrics
from otters.train.schedule import linear_warmup_decay
from otters.train.seed import seed_everything

TEACHER_FILE = "teacher.json"
BEST_RECORD = "best_record.json"
STATE_SAVE_SECONDS = 600  # also save resumable state this often between evaluations

# Per-task settings (overridable). Small tasks get more epochs and smaller batches; SST-2 is long
# and its sentences short, so it uses max_len 64, 2 epochs and evaluates every 500 steps.
TEACHER_DEFAULTS: dict[str, dict] = {
    "default": {"epochs": 3, "max_len": 128, "batch_size": 32, "lr": 5e-5, "eval_every": 0},
    "rt": {"epochs": 4},
    "sst2": {"epochs": 2, "max_len": 64, "eval_every": 500},
    "cola": {"epochs": 5, "max_len": 64},
    "mrpc": {"epochs": 6, "batch_size": 16},
    "stsb": {"epochs": 6, "batch_size": 16},
    "rte": {"epochs": 8, "batch_size": 16},
    "wnli": {"epochs": 3, "batch_size": 16},
    "qqp": {"epochs": 2, "eval_every": 2000},
    "mnli": {"epochs": 2, "eval_every": 2000},
    "mnli-mm": {"epochs": 2, "eval_every": 2000},
    "qnli": {"epochs": 2, "eval_every": 1000},
}


def teacher_settings(task: str, **overrides) -> dict:
    """The task's default settings with every non-None override applied."""
    spec = get_task(task)
    settings = {**TEACHER_DEFAULTS["default"], **TEACHER_DEFAULTS.get(spec.name, {})}
    settings.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("epochs", "max_len", "batch_size"):
        if int(settings[key]) < 1:
            raise OttersError(f"{key} must be at least 1, got {settings[key]}")
    return settings


def model_hash(model_dir: str | os.PathLike | None = None) -> str:
    """First 12 hex digits of sha256(config.json + weight files): names the cache of a base model."""
    path = resolve_model_dir(model_dir)
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for name in sorted(p.name for p in path.iterdir() if p.suffix in (".safetensors", ".bin")):
        with open(path / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def cache_root() -> Path:
    """``$OTTERS_CACHE`` if set, else ``~/.cache/otters``."""
    return Path(os.environ.get("OTTERS_CACHE") or Path.home() / ".cache" / "otters").expanduser()


def teacher_cache_dir(task: str, model_dir: str | os.PathLike | None = None,
                      exclude_overlap: str | None = None) -> Path:
    """``<cache_root>/teachers/<task>[-minus-<other>]-<model-hash>``: where :func:`ensure_teacher` keeps a teacher."""
    minus = f"-minus-{get_task(exclude_overlap).name}" if exclude_overlap else ""
    return cache_root() / "teachers" / f"{get_task(task).name}{minus}-{model_hash(model_dir)}"


def intermediate_teacher_dir(task: str, intermediate: str, model_dir: str | os.PathLike | None = None) -> Path | None:
    """Where :func:`ensure_teacher` keeps ``task``'s teacher fine-tuned from a cached ``intermediate`` stage
    (that stage decontaminated against ``task``); None while the intermediate stage is unfinished, because
    the folder's name hashes the stage's weights."""
    stage = teacher_cache_dir(intermediate, model_dir, exclude_overlap=task)
    return teacher_cache_dir(task, stage) if is_teacher_dir(stage) else None


def is_teacher_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` is a finished teacher (its ``teacher.json`` exists)."""
    return (Path(path) / TEACHER_FILE).is_file()


def load_model(model_dir, spec: TaskSpec | None = None):
    """A sequence-classification model from a local folder (new head sized for ``spec`` if given)."""
    from transformers import AutoModelForSequenceClassification

    quiet_transformers()
    kwargs = {}
    if spec is not None:
        kwargs["num_labels"] = spec.num_labels
        if spec.regression:
            kwargs["problem_type"] = "regression"
        else:  # set explicitly: a regression model (an intermediate STS-B stage) would keep its MSE loss
            kwargs["problem_type"] = "single_label_classification"
            kwargs["id2label"] = dict(enumerate(spec.label_names))
            kwargs["label2id"] = {name: i for i, name in enumerate(spec.label_names)}
        # A model fine-tuned on another task keeps its head when the label count agrees, else gets a new one.
        kwargs["ignore_mismatched_sizes"] = True
    try:
        return AutoModelForSequenceClassification.from_pretrained(str(model_dir), local_files_only=True, **kwargs)
    except (OSError, ValueError) as exc:
        raise OttersError(f"cannot load a model from {model_dir} ({str(exc).splitlines()[0]})") from None


def _fingerprint(spec, settings, seed, base_hash, n_train, exclude_overlap=None) -> dict:
    extra = {"exclude_overlap": exclude_overlap} if exclude_overlap else {}
    return {"task": spec.name, "seed": seed, "base_model_hash": base_hash, "train_rows": n_train, **settings, **extra}


def _lock_path(out_dir: Path) -> Path:
    return out_dir.with_name(out_dir.name + ".lock")


def finetune_teacher(task: str, model_dir=None, data_dir=None, out_dir=None, *, log=None, **train_kwargs) -> Path:
    """Fine-tune a teacher for ``task`` and return its directory (see the module docstring).

    Loss: cross-entropy (classes) or MSE (STS-B). Keyword settings (epochs, max_len, batch_size, lr,
    eval_every, seed, warmup_ratio, weight_decay, resume, threads, max_train_rows) as in
    :func:`_finetune`. Refuses to start while another process trains into the same directory.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    model_dir = resolve_model_dir(model_dir)
    out_dir = Path(out_dir) if out_dir is not None else teacher_cache_dir(task, model_dir,
                                                                           train_kwargs.get("exclude_overlap"))
    with exclusive_lock(_lock_path(out_dir), f"teacher directory {out_dir}"):
        return _finetune(task, model_dir, data_dir, out_dir, log=log, **train_kwargs)


def _finetune(task: str, model_dir: Path, data_dir, out_dir: Path, *, log, epochs=None, max_len=None,
              batch_size=None, lr=None, eval_every=None, seed: int = 0, warmup_ratio: float = 0.1,
              weight_decay: float = 0.01, resume: bool = True, threads: int = 2,
              max_train_rows: int | None = None, exclude_overlap: str | None = None,
              intermediate_of: Path | None = None) -> Path:
    """The training run behind :func:`finetune_teacher` (caller holds the directory's lock).

    ``resume``: continue from ``<out>.work`` if an interrupted run with the same settings left it.
    ``max_train_rows`` trains on a seeded random subset of that many rows (quick or CPU-bound runs).
    ``exclude_overlap``: drop train and validation rows sharing text with that task's evaluation splits.
    ``intermediate_of``: the intermediate teacher ``model_dir`` is (recorded in ``teacher.json``).
    Settings left None take the task's defaults (:data:`TEACHER_DEFAULTS`).
    """
    import torch

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

    steps_per_epoch = -(-len(train_enc) // settings["batch_size"])
    total_steps = steps_per_epoch * settings["epochs"]
    optimizer = build_optimizer(model, settings["lr"], weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: linear_warmup_decay(step, total_steps, warmup_ratio))
    fingerprint = _fingerprint(spec, settings, seed, model_hash(model_dir), len(train_enc),
                               decontamination and decontamination["against"])
    work = out_dir.with_name(out_dir.name + ".work")
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": None, "elapsed_s": 0.0}
    if work.exists():
        marker = work / "state" / "state.json"
        usable = resume and marker.is_file() and read_json(marker)["state"].get("fingerprint") == fingerprint
        if usable:
            state = load_training_state(work / "state", model, optimizer, scheduler)
            log(f"resuming {spec.name} teacher at step {state['global_step']}/{total_steps} from {work}")
        else:
            why = "--no-resume" if not resume else "no saved state or different settings"
            log(f"starting afresh: discarding {work} ({why})")
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    history = MetricsLog(work / "metrics.jsonl")
    # An interrupt can land between an evaluation and the state save that follows it: drop the
    # history past the saved step (it is recomputed), and trust the best weights' own record.
    history.records = [r for r in history.records if r["step"] <= state["global_step"]]
    if (work / "best" / BEST_RECORD).is_file():
        state["best"] = read_json(work / "best" / BEST_RECORD)
    metric = main_metric(spec)
    eval_every = int(settings["eval_every"]) or steps_per_epoch
    started, last_save = time.monotonic(), time.monotonic()
    elapsed0 = float(state["elapsed_s"])

    def checkpoint_state():
        state["elapsed_s"] = elapsed0 + time.monotonic() - started
        save_training_state(work / "state", model, optimizer, scheduler, {**state, "fingerprint": fingerprint})

    def evaluate_and_keep():
        scores = split_metrics(model, spec, val_enc)
        model.train()
        record = {"step": state["global_step"], "epoch": round(state["global_step"] / steps_per_epoch, 3),
                  "validation": scores, "elapsed_s": round(elapsed0 + time.monotonic() - started, 1)}
        improved = state["best"] is None or scores[metric] > state["best"]["validation"][metric]
        if improved:
            staging = work / "best.tmp"
            if staging.exists():
                shutil.rmtree(staging)
            model.save_pretrained(str(staging))
            tokenizer.save_pretrained(str(staging))
            atomic_write_json(staging / BEST_RECORD, record)  # the weights carry their own record
            replace_dir(staging, work / "best")
            state["best"] = record
        history.append({**record, "best": improved})
        log(f"step {state['global_step']}: validation {metric} = {scores[metric]:.4f}" + (" (best)" if improved else ""))

    model.train()
    with progress(total_steps, f"teacher {spec.name}", done=state["global_step"]) as advance:
        while state["epoch"] < settings["epochs"]:
            batches = bucketed_batches(train_enc.lengths, settings["batch_size"], True, seed * 1000 + state["epoch"])
            for rows in batches[state["step_in_epoch"]:]:
                batch = collate(train_enc, rows)
                if spec.regression:
                    batch["labels"] = batch["labels"].float()
                loss = model(**batch).loss
                if not torch.isfinite(loss):
                    raise OttersError(f"training diverged (loss {loss.item()}); lower --lr")
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state["global_step"] += 1
                state["step_in_epoch"] += 1
                advance(1, f"loss {loss.item():.4f}")
                if state["step_in_epoch"] == len(batches):
                    state["epoch"] += 1
                    state["step_in_epoch"] = 0
                    evaluate_and_keep()
                    checkpoint_state()
                    last_save = time.monotonic()
                elif state["global_step"] % eval_every == 0:
                    evaluate_and_keep()
                    checkpoint_state()
                    last_save = time.monotonic()
                elif time.monotonic() - last_save > STATE_SAVE_SECONDS:
                    checkpoint_state()
                    last_save = time.monotonic()
    wall = elapsed0 + time.monotonic() - started
    summary = {
        "task": spec.name, "kind": "hf-teacher", "base_model": str(model_dir), "settings": fingerprint,
        "optimizer": {"name": "AdamW", "warmup_ratio": warmup_ratio, "weight_decay": weight_decay, "grad_clip": 1.0},
        "main_metric": metric, "best": state["best"], "history": history.records,
        "train_rows": len(train_enc), "validation_rows": len(val_enc), "wall_s": round(wall, 1),
        "threads": threads, "torch": torch.__version__,
    }
    if decontamination is not None:
        summary["decontamination"] = decontamination
    if intermediate_of is not None:
        summary["intermediate"] = _intermediate_record(intermediate_of)
    if state["best"] is None:
        raise OttersError("training ended without an evaluation; use at least one epoch")
    (work / "best" / BEST_RECORD).unlink(missing_ok=True)
    atomic_write_json(work / "best" / TEACHER_FILE, summary)
    replace_dir(work / "best", out_dir)
    shutil.rmtree(work, ignore_errors=True)
    log(f"teacher {spec.name}: best validation {metric} = {state['best']['validation'][metric]:.4f} "
        f"at step {state['best']['step']}, {wall / 60:.1f} min; saved to {out_dir}")
    return out_dir


def _intermediate_record(path: Path) -> dict:
    info = read_json(path / TEACHER_FILE)
    return {"task": info["task"], "checkpoint": str(path), "wall_s": info["wall_s"],
            "train_rows": info["train_rows"], "decontamination": info.get("decontamination"),
            "best_validation": (info.get("best") or {}).get("validation")}


def ensure_teacher(task: str, model_dir=None, data_dir=None, out_dir=None, *, force: bool = False, log=None,
                   intermediate: str | None = None, **train_kwargs) -> Path:
    """The cached teacher of ``task`` (trained with :func:`finetune_teacher` only if absent or ``force``).

    ``intermediate``: first fine-tune (or reuse) a teacher of that task, decontaminated against
    ``task``'s evaluation splits and with that task's default settings, then start from it. ``force``
    retrains only the final stage.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    model_dir = resolve_model_dir(model_dir)
    intermediate_of = None
    if intermediate:
        if get_task(intermediate).name == get_task(task).name:
            raise OttersError(f"the intermediate task must differ from the task, got {intermediate} twice")
        shared = {k: train_kwargs[k] for k in ("seed", "threads", "resume") if k in train_kwargs}
        model_dir = intermediate_of = ensure_teacher(intermediate, model_dir, data_dir, log=log,
                                                     exclude_overlap=get_task(task).name, **shared)
    out_dir = Path(out_dir) if out_dir is not None else teacher_cache_dir(task, model_dir,
                                                                           train_kwargs.get("exclude_overlap"))
    # Wait for a concurrent trainer of the same teacher, then use what it made.
    with exclusive_lock(_lock_path(out_dir), f"teacher directory {out_dir}", wait=True, log=log):
        if is_teacher_dir(out_dir) and not force:
            info = read_json(out_dir / TEACHER_FILE)
            best = info.get("best") or {}
            metric = info.get("main_metric", main_metric(task))
            value = (best.get("validation") or {}).get(metric)
            shown = f"{value:.4f}" if isinstance(value, (int, float)) else "?"
            log(f"using cached {get_task(task).name} teacher at {out_dir} (validation {metric} = {shown}); "
                f"pass --force to retrain")
            return out_dir
        return _finetune(task, model_dir, data_dir, out_dir, log=log, intermediate_of=intermediate_of, **train_kwargs)


def teacher_report(path: str | os.PathLike, data_dir=None, splits: tuple = ("validation", "test"),
                   command: str | None = None) -> dict:
    """A results record of a finished teacher: its settings, wall time, and metrics on ``splits``.

    Splits without labels or files (GLUE test, a missing dev file) are skipped and listed as such.
    """
    from otters.train.evaluate import evaluate_checkpoint

    path = Path(path)
    if not is_teacher_dir(path):
        raise OttersError(f"{path} is not a finished teacher (no {TEACHER_FILE})")
    info = read_json(path / TEACHER_FILE)
    report = {
        "task": info["task"], "command": command, "checkpoint": str(path), "base_model": info["base_model"],
        "settings": info["settings"], "main_metric": info["main_metric"], "train_rows": info["train_rows"],
        "wall_s": info["wall_s"], "threads": info["threads"], "best_step": (info.get("best") or {}).get("step"),
        "history": [{"step": r["step"], "validation": r["validation"]} for r in info.get("history", [])],
        "metrics": {}, "skipped": {},
    }
    for key in ("decontamination", "intermediate"):
        if info.get(key):
            report[key] = info[key]
    if info.get("intermediate"):  # the time of both stages: what reproducing the teacher costs
        report["total_wall_s"] = round(info["wall_s"] + info["intermediate"]["wall_s"], 1)
    for split in splits:
        try:
            result = evaluate_checkpoint(path, info["task"], split, "fp", data_dir)
        except OttersError as exc:
            report["skipped"][split] = str(exc)
            continue
        report["metrics"][split] = {"n": result["n"], **result["metrics"]}
    return report
