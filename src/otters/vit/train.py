"""Training, evaluation, checkpoints and the energy estimate of the spiking ViT.

Recipe: cross-entropy, AdamW (lr 2e-3, weight decay 0.01), batch 128, 3 epochs, linear warm-up over
the first 5 % of steps then cosine decay to zero (a one-cycle schedule over the whole run:
lr(s) = lr * (s + 1) / w for s < w, then lr * 0.5 (1 + cos(pi (s - w) / (S - w)))), no augmentation;
the model after the last epoch is kept (validation accuracy is logged per epoch, the test set is
evaluated once at the end, by otters.vit.experiment).

Runs resume: with ``run_dir`` the model, optimizer and generators are saved after every epoch
(otters.vit.state) and a later call continues from the last finished epoch, bit for bit.
Final checkpoints: ``model.safetensors`` (state dict) + ``config.json`` (geometry, normalisation,
results), both written atomically; nothing is pickled.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from otters.errors import OttersError
from otters.io import atomic_write_json, load_tensors, read_json, save_tensors
from otters.train.common import progress as progress_bar
from otters.train.schedule import warmup_cosine
from otters.train.seed import seed_everything
from otters.vit.data import ImageData
from otters.vit.model import OpStats, SpikingViT, ViTConfig
from otters.vit.state import has_state, load_state, run_identity, save_state

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
    """Train a SpikingViT on ``data``; returns (model, info).

    ``info``: ``history`` (per epoch: train loss, validation accuracy, seconds), ``train_wall_s`` /
    ``train_cpu_s`` (summed over sessions, killed partial epochs excluded), ``sessions``,
    ``resumed_from_epoch``, ``projected_train_s``. With ``run_dir`` the state is saved after every
    epoch and an existing state of the same run is continued (another run's: OttersError).
    ``log(entry)`` is called after each epoch's state is on disk; ``warn(text)`` when the projected
    training time exceeds ``settings.budget_s``.
    """
    if settings.epochs < 1 or settings.batch_size < 1:
        raise OttersError("epochs and batch size must be >= 1")
    seed_everything(settings.seed)
    model = SpikingViT(cfg)
    mean, std = data.channel_stats()
    train_x, train_y = training_split(data, settings)
    n = len(train_y)
    steps_per_epoch = math.ceil(n / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    generator = torch.Generator().manual_seed(settings.seed)
    identity = run_identity(data.summary(), cfg.to_dict(), asdict(settings))
    info = {"history": [], "epochs_done": 0, "step": 0, "train_wall_s": 0.0, "train_cpu_s": 0.0, "sessions": 0}
    if run_dir is not None and has_state(Path(run_dir)):
        saved = load_state(Path(run_dir), model, optimizer, generator, identity)
        info.update({k: saved[k] for k in info})
    info["sessions"] += 1
    info["resumed_from_epoch"] = info["epochs_done"]
    info["projected_train_s"] = None
    step = info["step"]
    if progress:
        bar = progress_bar(total, f"{cfg.attention} seed {settings.seed}", done=step)
    else:
        bar = nullcontext(lambda n=1, note="": None)
    session_wall, session_steps = time.perf_counter(), 0
    with bar as advance:
        for epoch in range(info["epochs_done"], settings.epochs):
            model.train()
            order = torch.randperm(n, generator=generator)
            loss_sum, seen = 0.0, 0
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for start in range(0, n, settings.batch_size):
                for group in optimizer.param_groups:  # = LambdaLR(warmup_cosine): lr * factor(step)
                    group["lr"] = settings.lr * warmup_cosine(step, total, settings.warmup_frac)
                idx = order[start : start + settings.batch_size]
                loss = F.cross_entropy(model(normalise(train_x[idx], mean, std)), train_y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                session_steps += 1
                loss_sum += float(loss.detach()) * len(idx)
                seen += len(idx)
                advance(1, f"epoch {epoch + 1} loss {loss_sum / seen:.3f}")
                if session_steps == min(BUDGET_PROBE_STEPS, total) and info["projected_train_s"] is None:
                    per_step = (time.perf_counter() - session_wall) / session_steps
                    info["projected_train_s"] = info["train_wall_s"] + per_step * (total - step + session_steps)
                    if settings.budget_s and info["projected_train_s"] > settings.budget_s and warn is not None:
                        warn(f"{cfg.attention} seed {settings.seed}: {per_step:.2f} s per step projects "
                             f"{info['projected_train_s'] / 60:.1f} min of training, over the "
                             f"{settings.budget_s / 60:.1f} min budget")
            val = evaluate_vit(model, data.val_x, data.val_y, mean, std, settings.eval_batch_size)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            info["train_wall_s"] += wall
            info["train_cpu_s"] += cpu
            entry = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "val_accuracy": val["accuracy"],
                     "epoch_seconds": wall, "epoch_cpu_seconds": cpu}
            info["history"].append(entry)
            info["epochs_done"], info["step"] = epoch + 1, step
            if run_dir is not None:
                state = {k: info[k] for k in ("history", "epochs_done", "step", "train_wall_s", "train_cpu_s",
                                              "sessions")}
                save_state(Path(run_dir), model, optimizer, generator, {"identity": identity, **state})
            if log is not None:
                log(entry)
    return model.eval(), info


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
    model = SpikingViT(ViTConfig.from_dict(meta["config"]))
    missing, unexpected = model.load_state_dict(load_tensors(directory / "model.safetensors"), strict=False)
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
