"""Training, evaluation, checkpoints and the energy estimate of the spiking ViT.

Recipe: cross-entropy, AdamW (lr 2e-3, weight decay 0.01), batch 128, linear warm-up over the first
5 % of steps then cosine decay to zero, no augmentation; the model after the last epoch is kept
(validation accuracy is logged per epoch, the test set is evaluated once at the end).
Checkpoints: ``model.safetensors`` (state dict) + ``config.json`` (geometry, normalisation, results),
both written atomically; nothing is pickled.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from otters.data.images import ImageData
from otters.errors import OttersError
from otters.io import atomic_write_json, load_tensors, read_json, save_tensors
from otters.models.vit import OpStats, SpikingViT, ViTConfig, count_parameters

@dataclass
class TrainSettings:
    """Optimisation settings (see the module docstring for the recipe)."""

    epochs: int = 3
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.05
    seed: int = 0
    limit_train: int | None = None  # use only the first N training images (quick runs)
    eval_batch_size: int = 256


def seed_all(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def normalise(images_u8: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """x = (u8 / 255 - mean_c) / std_c per channel c (statistics of the training split)."""
    x = images_u8.float().div_(255.0)
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def lr_factor(step: int, total: int, warmup_frac: float) -> float:
    """Linear warm-up for w = ceil(warmup_frac * total) steps, then cosine: 0.5 (1 + cos(pi p))."""
    warmup = max(1, math.ceil(warmup_frac * total))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


@torch.no_grad()
def evaluate_vit(model: SpikingViT, images_u8, labels, mean, std, batch_size: int = 256,
                 count_ops: bool = False) -> dict:
    """Accuracy of ``model`` on uint8 images; with ``count_ops`` also ACs/MACs per image and firing
    rates (otters.models.vit.OpStats)."""
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


def energy_per_image(acs: float, macs: float, table: str = "45nm") -> dict:
    """E = ACs * E_AC + MACs * E_MAC per image (fp32 ops), in pJ and uJ, from otters.energy's cost table.

    At 45 nm E_AC = 0.9 pJ (fp32 add) and E_MAC = 4.6 pJ (3.7 mult + 0.9 add), Horowitz ISSCC 2014;
    ``table="22nm"`` uses engineer F's scaled table. Synaptic operations only (the usual SNN
    accounting, PAPERS.md section 4): memory, data movement and neuron updates are not included.
    """
    try:
        from otters.energy import energy_from_acs_macs

        e = energy_from_acs_macs(acs, macs, table)
        e_ac, e_mac = e["e_ac_pj"], e["e_mac_pj"]
    except OttersError:
        raise
    except Exception as exc:  # otters.energy is developed alongside; never lose a finished run to it
        if table != "45nm":
            raise OttersError(f"energy table {table!r} unavailable ({exc})") from None
        e_ac, e_mac, table = 0.9, 4.6, f"45nm built-in (otters.energy failed: {exc})"
    pj = acs * e_ac + macs * e_mac
    return {"pJ": pj, "uJ": pj * 1e-6, "e_ac_pJ": e_ac, "e_mac_pJ": e_mac, "table": table}


def train_vit(cfg: ViTConfig, data: ImageData, settings: TrainSettings, progress: bool = False,
              log=None) -> tuple[SpikingViT, list[dict]]:
    """Train a SpikingViT on ``data``; returns (model, per-epoch history of loss / val accuracy)."""
    if settings.epochs < 1 or settings.batch_size < 1:
        raise OttersError("epochs and batch size must be >= 1")
    seed_all(settings.seed)
    model = SpikingViT(cfg)
    mean, std = data.channel_stats()
    train_x, train_y = data.train_x, data.train_y
    if settings.limit_train:
        train_x, train_y = train_x[: settings.limit_train], train_y[: settings.limit_train]
    n = len(train_y)
    steps_per_epoch = math.ceil(n / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total, settings.warmup_frac))
    generator = torch.Generator().manual_seed(settings.seed)
    history = []
    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TimeElapsedColumn(), TimeRemainingColumn(), transient=True)
        bar.start()
        task = bar.add_task(f"{cfg.attention} seed {settings.seed}", total=total)
    try:
        for epoch in range(settings.epochs):
            model.train()
            order = torch.randperm(n, generator=generator)
            loss_sum, seen, start_time = 0.0, 0, time.time()
            for start in range(0, n, settings.batch_size):
                idx = order[start : start + settings.batch_size]
                x = normalise(train_x[idx], mean, std)
                loss = F.cross_entropy(model(x), train_y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss_sum += float(loss.detach()) * len(idx)
                seen += len(idx)
                if bar is not None:
                    bar.update(task, advance=1, description=f"{cfg.attention} seed {settings.seed} "
                                                            f"epoch {epoch + 1} loss {loss_sum / seen:.3f}")
            val = evaluate_vit(model, data.val_x, data.val_y, mean, std, settings.eval_batch_size)
            entry = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "val_accuracy": val["accuracy"],
                     "epoch_seconds": time.time() - start_time}
            history.append(entry)
            if log is not None:
                log(entry)
    finally:
        if bar is not None:
            bar.stop()
    return model, history


def save_vit(directory: str | Path, model: SpikingViT, data: ImageData, extra: dict | None = None) -> Path:
    """Write ``model.safetensors`` + ``config.json`` (atomic each) into ``directory``."""
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


def run_experiment(data: ImageData, attention: str, T: int, settings: TrainSettings, seeds: list[int],
                   out: str | Path | None = None, progress: bool = False, log=None, **geometry) -> dict:
    """Train one model per seed, evaluate on the test set (accuracy, ACs, MACs, firing rates,
    energy per image) and summarise mean +- std over seeds; checkpoints go to out/seed<k>/ and the
    summary to out/results.json when ``out`` is given."""
    if not seeds:
        raise OttersError("give at least one seed")
    runs = []
    for seed in seeds:
        cfg = default_config(data, attention, T, **geometry)
        run_settings = TrainSettings(**{**asdict(settings), "seed": seed})
        t0 = time.time()
        model, history = train_vit(cfg, data, run_settings, progress=progress, log=log)
        train_seconds = time.time() - t0
        mean, std = data.channel_stats()
        test = evaluate_vit(model, data.test_x, data.test_y, mean, std, settings.eval_batch_size, count_ops=True)
        run = {"seed": seed, "train_seconds": train_seconds, "history": history,
               "test_accuracy": test["accuracy"], "ops": {k: v for k, v in test.items() if k != "accuracy"},
               "energy_per_image": energy_per_image(test["acs_per_image"], test["macs_per_image"]),
               "parameters": count_parameters(model)}
        runs.append(run)
        if out is not None:
            save_vit(Path(out) / f"seed{seed}", model, data, {"settings": asdict(run_settings), "result": run})
    accs = np.array([r["test_accuracy"] for r in runs])
    summary = {
        "data": data.summary(), "attention": attention, "T": T, "config": cfg.to_dict(),
        "settings": asdict(settings), "seeds": list(seeds),
        "test_accuracy_mean": float(accs.mean()), "test_accuracy_std": float(accs.std(ddof=1)) if len(accs) > 1 else 0.0,
        "energy_note": "synaptic operations only: ACs x E_AC + MACs x E_MAC, otters.energy 45nm table (0.9 / 4.6 pJ, Horowitz 2014)",
        "runs": runs,
    }
    for key in ("acs_per_image", "macs_per_image", "attn_acs_per_image", "attn_macs_per_image"):
        summary[f"{key}_mean"] = float(np.mean([r["ops"][key] for r in runs]))
    summary["energy_uJ_mean"] = float(np.mean([r["energy_per_image"]["uJ"] for r in runs]))
    summary["train_seconds_mean"] = float(np.mean([r["train_seconds"] for r in runs]))
    if out is not None:
        atomic_write_json(Path(out) / "results.json", summary)
    return summary
