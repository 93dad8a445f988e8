"""Seeds: the one seeding function of every trainer, and per-epoch seeds.

Determinism of a run rests on three things set here: Python, NumPy and torch seeded from the run's
seed (:func:`seed_everything`), each epoch's batch order drawn from a seed that depends on (run seed,
epoch) only (:func:`epoch_seed`) (the thread count, also part of it, is
set by ``otters.train.common.set_threads``).
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run is repeatable on the same machine."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed derived from (run seed, epoch) alone (numpy SeedSequence)."""
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1)[0])
