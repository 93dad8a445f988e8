"""Training, evaluation, checkpoints and the energy estimate of the spiking ViT.

Recipe: cross-entropy, AdamW (lr 2e-3, weight decay 0.01), batch 128, 3 epochs, linear warm-up over
the first 5 % of steps then cosine decay to zero (a one-cycle schedule over the whole run:
lr(s) = lr * (s + 1) / w for s < w, then lr * 0.5 (1 + cos(pi (s - w) / (S - w)))), no augmentation;
the model after the last epoch is kept (validation accuracy is logged per epoch, the test set is
evaluated once at the end, by otters.vit.experiment).

Runs train on the generic trainer (``otters.train.loop.Trainer``) and resume: with ``run_dir`` the
model, optimizer and random states are saved after every epoch (the run's record: otters.vit.state)
and a later call continues from the last finished epoch, bit for bit.
Final checkpoints: ``model.safetensors`` (state dict) + ``config.json`` (geometry, normalisation,
results), both written atomically; nothing is pickled.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from otters.errors import OttersError
from otters.io import atomic_write_json, load_tensors, read_json, save_tensors
from otters.train.loop import TrainConfig, Trainer
from otters.train.seed import seed_everything
from otters.vit.data import ImageData
from otters.vit.model import OpStats, SpikingViT, ViTConfig
from otters.vit.schema import check_vit_meta, check_vit_tensors
from otters.vit.state import STATE_KIND, run_identity, saved_progress

BUDGET_PROBE_STEPS = 20  # training steps timed before the run's total time is projected


@dataclass
class TrainSettings:
    """Optimisation settings (see the module docstring for the recipe) and the per-run time budget."""

    epochs: int = 3
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.05
    seed: int = 0
    limit_train: int | None = None  # use only the first N training images (quick runs)
    eval_batch_size: int = 256
    budget_s: float | None = 900.0  # wall seconds per run (training + test pass); None: no check


def normalise(images_u8: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """x = (u8 / 255 - mean_c) / std_c per channel c (statistics of the training split)."""
    x = images_u8.float().div_(255.0)
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


@torch.no_grad()
def evaluate_vit(model: SpikingViT, images_u8, labels, mean, std, batch_size: int = 256,
                 count_ops: bool = False) -> dict:
    """Accuracy of ``model`` on uint8 images; with ``count_ops`` also ACs/MACs per image and firing
    rates (otters.vit.model.OpStats)."""
    model.eval()
    stats = OpStats() if count_ops else None
    correct = 0
    for start in range(0, len(labels), batch_size):
        x = normalise(images_u8[start : start + batch_size], mean, std)
        logits = model(x, stats)
        correct += int((logits.argmax(1) == labels[start : start + batch_size]).sum())
    out = {"accuracy": correct / max(len(labels), 1), "images": int(len(labels))}
    if stats is not None:
        out.update(stats.summary())
    return out


def training_split(data: ImageData, settings: TrainSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and labels a run uses (the first ``limit_train`` when set)."""
    train_x, train_y = data.train_x, data.train_y
    if settings.limit_train:
        train_x, train_y = train_x[: settings.limit_train], train_y[: settings.limit_train]
    return train_x, train_y


def train_vit(cfg: ViTConfig, data: ImageData, settings: TrainSettings, progress: bool = False,
              log=None, run_dir: str | Path | None = None, warn=None) -> tuple[SpikingViT, dict]:
    """Train a SpikingViT on ``data`` with :class:`otters.train.loop.Trainer`; returns (model, info).

    ``info``: ``history`` (per epoch: train loss, validation accuracy, seconds), ``train_wall_s`` /
    ``train_cpu_s`` (summed over sessions, killed partial epochs excluded), ``sessions``,
    ``resumed_from_epoch``, ``projected_train_s``. With ``run_dir`` the state is kept there after every
    epoch and an existing state of the same run is continued (another run's: OttersError); without,
    in a temporary folder. ``log(entry)`` is called after each epoch's state is on disk;
    ``warn(text)`` when the projected training time exceeds ``settings.budget_s``.
    """
    if settings.epochs < 1 or settings.batch_size < 1:
        raise OttersError("epochs and batch size must be >= 1")
    seed_everything(settings.seed)
    model = SpikingViT(cfg)
    mean, std = data.channel_stats()
    train_x, train_y = training_split(data, settings)
    n = len(train_y)
    identity = run_identity(data.summary(), cfg.to_dict(), asdict(settings))
    with contextlib.ExitStack() as stack:
        if run_dir is None:
            run_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="otters-vit-"))
        run_dir = Path(run_dir)
        saved = saved_progress(run_dir, identity)
        info = {"kind": STATE_KIND, "identity": identity, "history": [], "epochs_done": 0, "step": 0,
                "train_wall_s": 0.0, "train_cpu_s": 0.0, "sessions": 0}
        if saved is not None:
            info.update({k: saved[k] for k in info})
        info["sessions"] += 1
        resumed_from_epoch, start_step, projected = info["epochs_done"], info["step"], {"s": None}
        # AdamW over every parameter at one rate (the recipe's plain AdamW, unfused as it was measured).
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        for group in optimizer.param_groups:
            group["base_lr"] = settings.lr
        steps_per_epoch = math.ceil(n / settings.batch_size)
        tcfg = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                           weight_decay=settings.weight_decay, warmup_fraction=settings.warmup_frac,
                           schedule="cosine", grad_clip=None, eval_every=steps_per_epoch, eval_at_epoch_end=True,
                           seed=settings.seed, amp=False, progress=progress, device="cpu")
        orders: dict[int, torch.Tensor] = {}

        def batch_order(epoch: int) -> list[torch.Tensor]:
            """Epoch e's order: the (e + 1)-th permutation drawn from a generator seeded with the run's seed."""
            if epoch not in orders:
                generator = torch.Generator().manual_seed(settings.seed)
                for _ in range(epoch + 1):
                    order = torch.randperm(n, generator=generator)
                orders[epoch] = order
            order = orders[epoch]
            return [order[i : i + settings.batch_size] for i in range(0, n, settings.batch_size)]

        clock = {"wall": time.perf_counter(), "cpu": time.process_time(), "session": time.perf_counter(),
                 "steps": 0, "loss_sum": 0.0, "seen": 0}
        total = steps_per_epoch * settings.epochs

        def loss_fn(m, batch):
            loss = F.cross_entropy(m(batch["x"]), batch["y"])
            clock["loss_sum"] += float(loss.detach()) * len(batch["y"])
            clock["seen"] += len(batch["y"])
            clock["steps"] += 1
            if clock["steps"] == min(BUDGET_PROBE_STEPS, total) and projected["s"] is None:
                per_step = (time.perf_counter() - clock["session"]) / clock["steps"]
                projected["s"] = info["train_wall_s"] + per_step * (total - start_step)
                if settings.budget_s and projected["s"] > settings.budget_s and warn is not None:
                    warn(f"{cfg.attention} seed {settings.seed}: {per_step:.2f} s per step projects "
                         f"{projected['s'] / 60:.1f} min of training, over the {settings.budget_s / 60:.1f} min budget")
            return loss, {}

        def evaluate(m):
            """End of an epoch: validation accuracy, and the epoch's record (saved with the checkpoint)."""
            val = evaluate_vit(m, data.val_x, data.val_y, mean, std, settings.eval_batch_size)
            wall, cpu = time.perf_counter() - clock["wall"], time.process_time() - clock["cpu"]
            epoch = len(info["history"]) + 1
            info["history"].append({"epoch": epoch, "train_loss": clock["loss_sum"] / clock["seen"],
                                    "val_accuracy": val["accuracy"], "epoch_seconds": wall, "epoch_cpu_seconds": cpu})
            info["train_wall_s"] += wall
            info["train_cpu_s"] += cpu
            info["epochs_done"], info["step"] = epoch, epoch * steps_per_epoch
            clock["loss_sum"], clock["seen"] = 0.0, 0
            return {"accuracy": val["accuracy"]}

        def epoch_done(step: int) -> None:
            clock["wall"], clock["cpu"] = time.perf_counter(), time.process_time()
            if log is not None:
                log(info["history"][-1])

        trainer = Trainer(model, tcfg, run_dir,
                          loss_fn=loss_fn,
                          make_batch=lambda idx: {"x": normalise(train_x[idx], mean, std), "y": train_y[idx]},
                          num_examples=n, evaluate=evaluate, batch_order=batch_order, run_meta=info,
                          optimizer=optimizer, on_checkpoint=epoch_done,
                          description=f"{cfg.attention} seed {settings.seed}")
        trainer.fit(resume=saved is not None)
    result = {k: info[k] for k in ("history", "epochs_done", "step", "train_wall_s", "train_cpu_s", "sessions")}
    return model.eval(), {**result, "resumed_from_epoch": resumed_from_epoch, "projected_train_s": projected["s"]}


def save_vit(directory: str | Path, model: SpikingViT, data: ImageData, extra: dict | None = None) -> Path:
    """Write ``model.safetensors`` + ``config.json`` (atomic each; config.json last) into ``directory``."""
    directory = Path(directory)
    mean, std = data.channel_stats()
    save_tensors(directory / "model.safetensors", model.state_dict(), metadata={"format": "otters-vit"})
    meta = {"kind": "otters-vit", "config": model.cfg.to_dict(), "data": data.name,
            "mean": mean.tolist(), "std": std.tolist(), **(extra or {})}
    atomic_write_json(directory / "config.json", meta)
    return directory


def load_vit(path: str | Path) -> tuple[SpikingViT, dict]:
    """Load a checkpoint directory (or its model.safetensors); returns (model in eval mode, meta)."""
    path = Path(path)
    directory = path.parent if path.suffix == ".safetensors" else path
    meta = read_json(directory / "config.json")
    if not isinstance(meta, dict) or meta.get("kind") != "otters-vit":
        raise OttersError(f"{directory} is not an otters ViT checkpoint (config.json kind != otters-vit)")
    cfg = check_vit_meta(meta, directory / "config.json")
    tensors = load_tensors(directory / "model.safetensors")
    check_vit_tensors(cfg, tensors, directory / "model.safetensors")
    model = SpikingViT(cfg)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise OttersError(f"{directory}: weights do not fit the config (missing {list(missing)[:3]}, "
                          f"unexpected {list(unexpected)[:3]})")
    return model.eval(), meta


def default_config(data: ImageData, attention: str = "seed", T: int = 4, **overrides) -> ViTConfig:
    """The default geometry for a data set: dim 64, 2 blocks, 4 heads, MLP x4, T = 4; the patch
    splitter pools 28x28 and 32x32 images twice (7x7 / 8x8 tokens) and 8x8 digits once (4x4)."""
    c, h, w = data.shape
    if h != w:
        raise OttersError(f"square images expected, got {h}x{w}")
    stages = 1 if h <= 16 else 2
    cfg = ViTConfig(image_size=h, in_channels=c, num_classes=len(data.classes), attention=attention, T=T,
                    pool_stages=stages)
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    return cfg.validate()
