"""Per-task fine-tuning settings of a teacher (overridable from the command line or a profile).

Small tasks get more epochs and smaller batches; SST-2 is long and its sentences short, so it uses
max_len 64, 2 epochs and evaluates every 500 steps. ``eval_every`` 0 means once per epoch.
"""

from __future__ import annotations

from otters.data.tasks import get_task
from otters.errors import OttersError

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
