"""Does a spiking-ViT run fit its time budget? Time a few training steps and extrapolate.

One run = ``epochs`` x ``ceil(N_train / batch)`` training steps + a validation pass per epoch + one
test pass with operation counting. :func:`estimate_run` times ``steps`` training steps (after one
untimed warm-up step) and a short evaluation of each kind at the current torch thread count, then

    projected = t_step * steps_total + t_val_image * N_val * epochs + t_test_image * N_test

in wall seconds (what the budget is about; inflated when other jobs share the CPU) and in CPU
seconds of this process (``time.process_time``: closer to the cost on an idle core). It builds its
own throw-away model; nothing is written.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from otters.errors import OttersError
from otters.train.seed import seed_everything
from otters.vit.data import ImageData
from otters.vit.model import SpikingViT
from otters.vit.train import TrainSettings, default_config, evaluate_vit, normalise, training_split


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def estimate_run(data: ImageData, attention: str, T: int, settings: TrainSettings, steps: int = 100,
                 eval_images: int = 512, **geometry) -> dict:
    """Time ``steps`` training steps and ``eval_images`` images of each evaluation kind; project one run."""
    if steps < 1 or eval_images < 1:
        raise OttersError("steps and eval images must be >= 1")
    cfg = default_config(data, attention, T, **geometry)
    seed_everything(settings.seed)
    model = SpikingViT(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    train_x, train_y = training_split(data, settings)
    mean, std = data.channel_stats()
    n = len(train_y)
    steps_per_epoch = math.ceil(n / settings.batch_size)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(settings.seed))

    def train_step(i: int) -> None:
        start = (i % steps_per_epoch) * settings.batch_size
        idx = order[start : start + settings.batch_size]
        loss = F.cross_entropy(model(normalise(train_x[idx], mean, std)), train_y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    train_step(0)
    start = _clock()
    for i in range(1, steps + 1):
        train_step(i)
    step_wall, step_cpu = (t / steps for t in _since(start))
    timings = {}
    for kind, x, y, count in (("val", data.val_x, data.val_y, False), ("test", data.test_x, data.test_y, True)):
        k = min(eval_images, len(y))
        start = _clock()
        evaluate_vit(model, x[:k], y[:k], mean, std, settings.eval_batch_size, count_ops=count)
        timings[kind] = tuple(t / k for t in _since(start))
    total_steps = steps_per_epoch * settings.epochs
    out = {"attention": attention, "T": T, "config": cfg.to_dict(), "threads": torch.get_num_threads(),
           "steps_timed": steps, "steps_per_epoch": steps_per_epoch, "epochs": settings.epochs,
           "batch_size": settings.batch_size, "step_wall_s": step_wall, "step_cpu_s": step_cpu,
           "val_image_wall_s": timings["val"][0], "test_image_wall_s": timings["test"][0],
           "budget_s": settings.budget_s}
    for j, clock in enumerate(("wall", "cpu")):
        per_step = (step_wall, step_cpu)[j]
        parts = {"train_s": per_step * total_steps,
                 "val_s": timings["val"][j] * len(data.val_y) * settings.epochs,
                 "test_s": timings["test"][j] * len(data.test_y)}
        out[f"projected_{clock}"] = {**parts, "total_s": sum(parts.values())}
    out["within_budget"] = None if not settings.budget_s else out["projected_wall"]["total_s"] <= settings.budget_s
    return out
