"""Learning-rate schedules as pure functions of the step: the multiplier of the base rate.

A trainer sets ``lr = base_lr * factor(step)`` before each optimizer step, so the rate of step s
depends on s alone and a resumed run repeats the uninterrupted run's rates exactly.
"""

from __future__ import annotations

import math


def linear_warmup_decay(step: int, total: int, warmup_fraction: float) -> float:
    """Multiplier for step ``step`` (0-based): (s + 1)/W for s < W, then (N - s)/(N - W), never below 0.

    W = ceil(warmup_fraction * N). Source: BERT's linear warm-up + linear decay (Devlin et al. 2019,
    "BERT", Appendix A.2; BertAdam's ``warmup_linear``, used by Sorbet, ICML 2025).
    """
    warm = math.ceil(warmup_fraction * total)
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (total - step) / max(1, total - warm))


def warmup_cosine(step: int, total: int, warmup_fraction: float) -> float:
    """Linear warm-up for w = max(1, ceil(warmup_fraction * N)) steps, then cosine: 0.5 (1 + cos(pi p)).

    (s + 1)/w for s < w; then p = (s - w)/(N - w), clipped to 1 (a one-cycle schedule over the whole
    run, as in the spiking-ViT recipe of ``otters.vit``).
    """
    warmup = max(1, math.ceil(warmup_fraction * total))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
