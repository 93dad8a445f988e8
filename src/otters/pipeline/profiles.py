"""Settings of ``otters run``: the ``quick`` (smoke, CPU) and ``full`` (best accuracy, long / GPU) profiles.

A profile fixes every knob of every step, so a run directory's ``run.json`` says exactly what was
done and ``--resume`` can refuse a run whose settings changed. Sources of the recipe: Sorbet (ICML
2025) staged distillation and Otters (ICLR 2026, Sec. 4-5: 1-bit K/V, T = 15, HAT2 = 20 % noise,
device-variation robustness).

Why ``quick`` is this size (measured on 2 idle CPU cores, docs/run.md section 6): a MiniLM-L6 teacher
step at batch 32 x 64 tokens takes ~0.45 s and a distillation step ~1.3 s, so quick fine-tunes the
teacher for one epoch on all rt training rows (or reuses a finished cached teacher), distils the
Otters-1bitKV student in one stage for 240 steps of 32 rows, and sweeps robustness on 128 rows.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

from otters.errors import OttersError

PRESET = "otters-1bitkv"  # the paper's model: 1-bit weights, 1-bit K/V, 4-bit activations (T = 15)


@dataclass
class Profile:
    """Every setting of a run (see :data:`PROFILES`); ``to_dict`` is what ``run.json`` records.

    ``teacher``: keyword settings of ``otters.teacher.finetune.ensure_teacher`` (``None`` values take the
    task's defaults); ``reuse_cached_teacher``: a finished full teacher in the cache is used instead of
    training the profile's own. ``teacher_intermediate``: task -> intermediate task of the full teacher's
    recipe (``otters teacher --intermediate``); the full profile trains it when that task's training data
    is present, and a finished one in the cache is preferred by either profile. ``distill``: keyword
    settings of ``otters.distill.run.distill``.
    ``hat``: HAT noise levels of extra students (0.2 = HAT2). ``eval_rows``: None scores the whole
    evaluation split. ``robustness``: levels, kinds, draws and rows of the device-variation sweep.
    ``degradation``: sentences, multiples of the bounds and ADC bit drops of ``otters degrade`` on the base
    student (empty: skipped).
    """

    name: str
    device_demo: str
    teacher: dict
    reuse_cached_teacher: bool
    distill: dict
    hat: tuple = ()
    eval_rows: int | None = None
    verify_sentences: int = 16
    energy_sentences: int = 32
    energy_table: str = "22nm"
    raster_neurons: int = 48
    robustness: dict = field(default_factory=dict)
    degradation: dict = field(default_factory=dict)
    threads: int = 2
    # rt's best teacher (docs/results.md, accuracy): a decontaminated SST-2 stage first, 84.01 % test vs 82.13 % from
    # MiniLM directly (docs/data.md section 5)
    teacher_intermediate: dict = field(default_factory=lambda: {"rt": "sst2"})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hat"] = list(self.hat)
        d["robustness"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.robustness.items()}
        d["degradation"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.degradation.items()}
        return d


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        device_demo="quick",
        # Sized to the 15-minute budget on 2 idle CPU cores (measured, docs/run.md section 6): one teacher
        # epoch over all of rt's training rows at 64 tokens, then 240 single-stage distillation steps.
        # lr 2e-4 for both: BERT's usual 5e-5 barely moves in so few steps (rt teacher, 50 steps: 77.3 % at
        # 2e-4 vs 58.1 % at 5e-5; student, step 80: 70.8 % vs 60.6 %).
        teacher={"epochs": 1, "max_len": 64, "batch_size": 32, "max_train_rows": None, "eval_every": 0, "lr": 2e-4},
        reuse_cached_teacher=True,
        distill={"stages": "single", "epochs": 1, "max_steps": 240, "batch_size": 32, "lr": 2e-4,
                 "eval_every": 80, "max_len": 64, "train_rows": None, "eval_rows": 512},
        hat=(),
        eval_rows=None,
        verify_sentences=16,
        energy_sentences=32,
        robustness={"levels": (0.0, 0.1, 0.2), "kinds": ("synapse", "output"), "draws": 1, "rows": 128},
    ),
    "full": Profile(
        name="full",
        device_demo="full",
        teacher={},
        reuse_cached_teacher=True,
        # Sorbet's staged recipe, one epoch per stage (4 x 319 steps on rt). lr 2e-4 rather than 5e-5:
        # the latent weights of 1-bit layers must move far enough to flip signs in a few hundred steps
        # (rt, single stage, step 80: 70.8 % validation at 2e-4 vs 60.6 % at 5e-5; docs/run.md).
        distill={"stages": "staged", "epochs": 1, "max_steps": None, "batch_size": 32, "lr": 2e-4,
                 "eval_every": 80, "max_len": 64, "train_rows": None, "eval_rows": None},
        hat=(0.2,),
        eval_rows=None,
        verify_sentences=256,
        energy_sentences=128,
        # every (level, kind, draw) evaluates both students on the device-read path: 4 x 4 x 2 x 256 rows
        # keeps the sweep near 15 min on 2 CPU cores
        robustness={"levels": (0.0, 0.05, 0.1, 0.2),
                    "kinds": ("synapse", "output", "tau", "beta"), "draws": 2, "rows": 256},
        # the hardware-level simulator runs one sentence at a time, ~0.75 s per rt test sentence on 2 loaded CPU
        # cores (docs/hardware.md, section 5): 22 chips of 64 sentences take ~18 min
        degradation={"sentences": 64, "multiples": (1.0, 1.5, 2.0, 4.0, 16.0, 64.0), "bit_drops": (0, 1, 2, 3)},
        # one thread: on this 2-core machine a second job (teachers) runs beside it, and one thread per
        # job was measured 3-6x faster than two under load (docs/training.md section 7)
        threads=1,
    ),
}


def get_profile(name: str, **overrides) -> Profile:
    """A copy of profile ``name`` with top-level fields replaced and dict fields updated from ``overrides``.

    Example: ``get_profile("quick", distill={"max_steps": 2}, eval_rows=8)`` keeps the other distill
    settings. Unknown names are an OttersError.
    """
    if name not in PROFILES:
        raise OttersError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    profile = copy.deepcopy(PROFILES[name])
    for key, value in overrides.items():
        if not hasattr(profile, key):
            raise OttersError(f"unknown profile setting {key!r}")
        current = getattr(profile, key)
        if isinstance(current, dict) and isinstance(value, dict):
            unknown = sorted(set(value) - set(current)) if key in ("distill", "robustness", "degradation") else []
            if unknown:
                raise OttersError(f"unknown {key} setting(s): {', '.join(unknown)}")
            current.update(value)
        else:
            setattr(profile, key, tuple(value) if key == "hat" else value)
    return profile
