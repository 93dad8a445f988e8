"""The one training loop (teacher fine-tuning, distillation stages, the spiking ViT): AdamW with a
step-size group, warm-up + linear (or cosine) decay, periodic validation with best-checkpoint
selection, JSON-lines metrics (and an optional metrics sink: ``otters.train.metrics``), rich progress,
DDP, bit-exact resume.

Determinism: the batch order of epoch e is a function of (seed, e) only, the learning rate of step s
a function of s only, and every random draw of a step comes from torch RNGs whose states are saved
with the checkpoint. A run resumed from the checkpoint of step s therefore repeats, bit for bit, the
steps s+1, s+2, ... of the uninterrupted run (same machine, same thread count).

One idea, kept whole (a little over 300 lines): the determinism contract above holds only if the step,
the checkpoint and the resume are read together.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from otters.errors import OttersError
from otters.io import atomic_write_text
from otters.train import ddp
from otters.train.checkpoint import (
    CheckpointStore,
    load_model_tensors,
    load_optimizer_tensors,
    model_tensors,
    optimizer_tensors,
    read_jsonl,
    restore_rng,
    rng_tensors,
)
from otters.train.common import progress
from otters.train.metrics import MetricsSink, numeric
from otters.train.optim import build_optimizer
from otters.train.schedule import linear_warmup_decay, warmup_cosine
from otters.train.seed import epoch_seed

# Keys of TrainConfig that may change between a run and its resumption (they do not alter the math).
_RESUMABLE_CHANGES = {"progress", "log_every", "device"}
# Keys added after checkpoints were written: a checkpoint without one was made with this value.
_ADDED_KEYS = {"eval_at_epoch_end": False, "schedule": "linear"}
SCHEDULES = {"linear": linear_warmup_decay, "cosine": warmup_cosine}


@dataclass
class TrainConfig:
    """Optimisation settings (defaults: BertAdam's fine-tuning recipe as Sorbet, ICML 2025, uses it)."""

    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32  # global batch (split over ranks under DDP)
    lr: float = 5e-5
    step_size_lr: float = 1e-4  # learned quantizer steps (LSQ alpha): own group, no weight decay
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    schedule: str = "linear"  # "linear" warm-up + decay (BERT) or "cosine" after the warm-up (otters.train.schedule)
    grad_clip: float | None = 1.0
    eval_every: int = 100
    eval_at_epoch_end: bool = False  # also evaluate (and checkpoint) after the last step of every epoch
    checkpoint_every: int | None = None  # default: at every evaluation
    log_every: int = 10
    seed: int = 0
    amp: bool = True  # bf16 autocast on CUDA (never on CPU)
    progress: bool = True
    device: str = "auto"

    def check(self) -> None:
        if self.epochs < 1:
            raise OttersError(f"epochs must be >= 1, got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise OttersError(f"max steps must be >= 1, got {self.max_steps}")
        if self.batch_size < 1 or self.eval_every < 1 or self.log_every < 1:
            raise OttersError("batch size, eval interval and log interval must be >= 1")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise OttersError(f"warm-up fraction must be in [0, 1), got {self.warmup_fraction}")
        if not (self.lr > 0 and self.step_size_lr > 0):
            raise OttersError("learning rates must be > 0")
        if self.schedule not in SCHEDULES:
            raise OttersError(f"unknown schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    """Where a run ended: last step, best validation value and its step, and the last evaluation."""

    step: int
    best_metric: float | None
    best_step: int | None
    last_eval: dict = field(default_factory=dict)
    resumed_from: int | None = None
    elapsed_s: float = 0.0  # wall seconds of the run, all sessions (earlier ones up to their last checkpoint)


def epoch_batches(num_examples: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Global batches of epoch ``epoch``: a permutation drawn from (seed, epoch), cut every batch_size rows."""
    order = np.random.default_rng(epoch_seed(seed, epoch)).permutation(num_examples)
    return [order[i:i + batch_size] for i in range(0, num_examples, batch_size)]


class Trainer:
    """Trains ``model`` on ``num_examples`` rows; see the module docstring.

    loss_fn(model, batch) -> (loss tensor, {part: float}); the model given is the DDP wrapper in a
    distributed run. make_batch(indices) -> dict of tensors. evaluate(model) -> {metric: float}
    (run on rank 0 only). batch_order(epoch) -> list of global index batches (default: a seeded
    permutation). calibrate(model, batch) runs once before the first step of a fresh run (LSQ step
    initialisation on the first global batch, identical on every rank). on_best(model, record)
    exports the best model (rank 0). log(text) receives one line per evaluation (rank 0).
    on_checkpoint(step) runs once a checkpoint is on disk. ``optimizer``: one built by the caller
    (each group with its ``base_lr``), default :func:`otters.train.optim.build_optimizer`. ``run_meta``
    is saved with every checkpoint (a caller may update it between checkpoints).
    ``out_dir`` receives checkpoint/, metrics.jsonl. ``metrics_sink`` (rank 0) receives the scalars of
    every logged step and evaluation as well (:mod:`otters.train.metrics`); it changes nothing of the run.
    """

    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, out_dir: str | os.PathLike,
                 loss_fn: Callable, make_batch: Callable, num_examples: int,
                 evaluate: Callable | None = None, main_metric: str | None = None,
                 batch_order: Callable | None = None, calibrate: Callable | None = None,
                 on_best: Callable | None = None, info: ddp.DistInfo | None = None,
                 run_meta: dict | None = None, log: Callable | None = None, description: str = "train",
                 optimizer: torch.optim.Optimizer | None = None, on_checkpoint: Callable | None = None,
                 metrics_sink: MetricsSink | None = None):
        cfg.check()
        if num_examples < 1:
            raise OttersError("no training examples")
        self.cfg = cfg
        self.info = info or ddp.DistInfo(device=ddp.pick_device(cfg.device))
        self.model = model.to(self.info.device)
        self.out_dir = Path(out_dir)
        self.loss_fn, self.make_batch, self.num_examples = loss_fn, make_batch, num_examples
        self.evaluate, self.main_metric = evaluate, main_metric
        self.batch_order = batch_order or (lambda e: epoch_batches(num_examples, cfg.batch_size, cfg.seed, e))
        self.calibrate, self.on_best = calibrate, on_best
        self.log, self.description, self.on_checkpoint = log, description, on_checkpoint
        self.metrics_sink = metrics_sink
        self.schedule = SCHEDULES[cfg.schedule]
        self.run_meta = run_meta or {}
        self.store = CheckpointStore(self.out_dir / "checkpoint")
        self.metrics_path = self.out_dir / "metrics.jsonl"
        self.optimizer = optimizer or build_optimizer(self.model, cfg.lr, cfg.weight_decay, cfg.step_size_lr)
        self.steps_per_epoch = len(self.batch_order(0))
        self.total_steps = cfg.epochs * self.steps_per_epoch
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.step = 0
        self.best: dict = {"metric": None, "step": None}
        self.last_eval: dict = {}
        self.elapsed_before = 0.0  # wall seconds of earlier sessions, up to their last checkpoint
        self.started = time.monotonic()

    # ---- state -------------------------------------------------------------------------------
    def _math_config(self) -> dict:
        return {k: v for k, v in self.cfg.to_dict().items() if k not in _RESUMABLE_CHANGES}

    def elapsed(self) -> float:
        """Wall seconds of the run: earlier sessions (to their last checkpoint) plus this one."""
        return self.elapsed_before + time.monotonic() - self.started

    def save_checkpoint(self) -> None:
        """Write model, optimizer, every rank's RNG and the loop position (rank 0 writes)."""
        states = ddp.gather_objects(rng_tensors(self.model), self.info)
        if not self.info.is_main:
            return
        opt_tensors, opt_scalars = optimizer_tensors(self.optimizer)
        rng = {f"rank{r}.{k}": v for r, s in enumerate(states) for k, v in s.items()}
        meta = {"config": self._math_config(), "world": self.info.world, "best": self.best,
                "last_eval": self.last_eval, "optimizer_scalars": opt_scalars, "run": self.run_meta,
                "finished": self.step >= self.total_steps, "elapsed_s": self.elapsed()}
        self.store.save(self.step, {"model": model_tensors(self.model), "optim": opt_tensors, "rng": rng}, meta)

    def load_checkpoint(self) -> int:
        """Restore the latest checkpoint; returns its step."""
        meta, tensors = self.store.load()
        changed = sorted(k for k, v in self._math_config().items() if meta["config"].get(k, _ADDED_KEYS.get(k)) != v)
        if changed:
            raise OttersError(f"--resume with different settings ({', '.join(changed)}) than the run in "
                              f"{self.out_dir}; use the same settings or a new --out")
        if meta["world"] != self.info.world:
            raise OttersError(f"the run used {meta['world']} processes; resume it with the same number")
        load_model_tensors(self.model, tensors["model"], "model checkpoint")
        load_optimizer_tensors(self.optimizer, tensors["optim"], meta.get("optimizer_scalars", {}))
        prefix = f"rank{self.info.rank}."
        restore_rng({k[len(prefix):]: v for k, v in tensors["rng"].items() if k.startswith(prefix)}, self.model)
        self.step, self.best, self.last_eval = int(meta["step"]), meta["best"], meta.get("last_eval", {})
        self.elapsed_before, self.started = float(meta.get("elapsed_s", 0.0)), time.monotonic()
        if self.info.is_main:  # drop records of steps after the checkpoint: they will be redone
            kept = [r for r in read_jsonl(self.metrics_path) if r.get("step", 0) <= self.step]
            atomic_write_text(self.metrics_path, "".join(_json_line(r) for r in kept))
        return self.step

    def _log(self, record: dict) -> None:
        if not self.info.is_main:
            return
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(_json_line(record))
            fh.flush()
            os.fsync(fh.fileno())

    def _emit(self, kind: str, values: dict) -> None:
        """The numbers of ``values`` to the metrics sink as ``<kind>/<name>`` (rank 0; no sink: nothing)."""
        if self.metrics_sink is None or not self.info.is_main:
            return
        self.metrics_sink.scalars(self.step, {f"{kind}/{k}": v for k, v in numeric(values).items()})

    # ---- one step -----------------------------------------------------------------------------
    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.info.device) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _autocast(self):
        on_gpu = self.info.device.startswith("cuda")
        return torch.autocast("cuda" if on_gpu else "cpu", dtype=torch.bfloat16, enabled=self.cfg.amp and on_gpu)

    def _train_step(self, wrapped, indices: np.ndarray) -> tuple[float, dict]:
        local = ddp.shard(indices, self.info.rank, self.info.world) if self.info.distributed else indices
        batch = self._to_device(self.make_batch(local))
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * self.schedule(self.step, self.total_steps, self.cfg.warmup_fraction)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss, parts = self.loss_fn(wrapped, batch)
        if self.info.distributed:
            loss = loss * ddp.loss_weight(len(local), len(indices), self.info.world)
        if not torch.isfinite(loss):
            raise OttersError(f"the loss became {float(loss)} at step {self.step + 1}; lower the learning rate")
        loss.backward()
        if self.cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip, foreach=False)
        self.optimizer.step()
        return float(loss.detach()), parts

    def _evaluate(self) -> None:
        if self.evaluate is None:
            return
        record = None
        if self.info.is_main:
            self.model.eval()
            with torch.no_grad():  # no autocast: a QNN's integer inference path must run in float32
                metrics = self.evaluate(self.model)
            self.model.train()
            self.last_eval = {"step": self.step, **metrics}
            value = metrics.get(self.main_metric) if self.main_metric else None
            improved = value is not None and (self.best["metric"] is None or value > self.best["metric"])
            if improved:
                self.best = {"metric": float(value), "step": self.step}
                if self.on_best is not None:
                    self.on_best(self.model, dict(self.last_eval))
            self._log({"step": self.step, "eval": metrics, "best": dict(self.best)})
            self._emit("eval", metrics)
            if self.log is not None and value is not None:
                self.log(f"step {self.step}: validation {self.main_metric} = {value:.4f}" + (" (best)" if improved else ""))
            record = (self.last_eval, self.best)
        self.last_eval, self.best = ddp.broadcast_object(record, self.info)

    # ---- the loop -----------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> TrainResult:
        """Train to ``total_steps`` (or continue a killed run with ``resume``)."""
        torch.manual_seed(self.cfg.seed + self.info.rank)
        resumed_from = None
        if self.store.exists():
            if not resume:
                raise OttersError(f"{self.out_dir} already holds a run; pass --resume to continue it or choose a new --out")
            resumed_from = self.load_checkpoint()
        elif self.info.is_main and self.metrics_path.exists():
            self.metrics_path.unlink()
        self.model.train()
        if resumed_from is None and self.calibrate is not None:
            first = self._to_device(self.make_batch(self.batch_order(0)[0]))
            with torch.no_grad():
                self.calibrate(self.model, first)
        wrapped = ddp.wrap(self.model, self.info)
        every_ckpt = self.cfg.checkpoint_every or self.cfg.eval_every
        show = self.cfg.progress and self.info.is_main
        with progress(self.total_steps, self.description, done=self.step) if show else _no_progress() as advance:
            busy, seen = 0.0, 0  # seconds inside training steps (evaluation and checkpoints excluded), rows
            while self.step < self.total_steps:
                epoch, position = divmod(self.step, self.steps_per_epoch)
                indices = self.batch_order(epoch)[position]
                tick = time.perf_counter()
                loss, parts = self._train_step(wrapped, indices)
                busy += time.perf_counter() - tick
                self.step += 1
                seen += len(indices)
                advance(1, f"loss {loss:.4f}")
                if self.step % self.cfg.log_every == 0 or self.step == self.total_steps:
                    record = {"loss": ddp.all_mean(loss, self.info), **parts, "lr": self.optimizer.param_groups[0]["lr"],
                              "samples_per_s": seen / max(busy, 1e-9)}
                    self._log({"step": self.step, "epoch": epoch, **record})
                    self._emit("train", record)
                    busy, seen = 0.0, 0
                last = self.step == self.total_steps
                epoch_end = self.cfg.eval_at_epoch_end and position == self.steps_per_epoch - 1
                if self.step % self.cfg.eval_every == 0 or last or epoch_end:
                    self._evaluate()
                if self.step % every_ckpt == 0 or last or epoch_end:
                    self.save_checkpoint()
                    ddp.barrier(self.info)
                    if self.on_checkpoint is not None:
                        self.on_checkpoint(self.step)
        return TrainResult(self.step, self.best["metric"], self.best["step"], dict(self.last_eval), resumed_from,
                           self.elapsed())


def _json_line(record: dict) -> str:
    return json.dumps(record, sort_keys=True) + "\n"


@contextlib.contextmanager
def _no_progress():
    yield lambda n=1, note="": None
