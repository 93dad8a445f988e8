"""Accuracy, firing and energy of a trained spiking ViT checkpoint: what ``otters vit eval`` prints.

Source: A2OS2A (CVPR 2025): addition-only spiking self-attention; energy per image from the counted
accumulates (ACs) and multiply-accumulates (MACs) priced with each table of ``otters.vit.energy``
(operations only: memory and data movement are not counted).
"""

from __future__ import annotations

from pathlib import Path

import torch

from otters.errors import OttersError
from otters.vit.data import load_images
from otters.vit.energy import ENERGY_TABLES, energy_tables
from otters.vit.train import evaluate_vit, load_vit


def evaluate_vit_checkpoint(checkpoint: Path, split: str = "test", data_dir=None, table: str | None = None) -> dict:
    """The evaluation of ``checkpoint`` on its image set's ``split`` (test or val): accuracy, ACs and MACs per
    image (attention apart), energy per image per table, and which checkpoint, data and attention it was."""
    if split not in ("test", "val"):
        raise OttersError(f"--split must be test or val, got {split!r}")
    model, meta = load_vit(checkpoint)
    images = load_images(meta["data"], data_dir)
    x, y = (images.test_x, images.test_y) if split == "test" else (images.val_x, images.val_y)
    result = evaluate_vit(model, x, y, torch.tensor(meta["mean"]), torch.tensor(meta["std"]), count_ops=True)
    tables = ENERGY_TABLES if table in (None, *ENERGY_TABLES) else (*ENERGY_TABLES, table)
    result["energy_per_image"] = energy_tables(result["acs_per_image"], result["macs_per_image"], tables)
    result.update({"checkpoint": str(checkpoint), "split": split, "attention": meta["config"]["attention"],
                   "data": meta["data"]})
    return result
