"""What every step of ``otters run`` sees: the run directory, the settings, and the ways to report."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from otters.pipeline.profiles import Profile
from otters.train.metrics import MetricsSink


@dataclass
class RunContext:
    """One run: ``run_dir``; ``task``; ``profile``; ``seed``; ``data_dir`` (GLUE folder or None);
    ``model_dir`` (teacher's base model, None = the packaged MiniLM); ``teacher`` (a fine-tuned
    teacher folder to use as is, or None); ``eval_split`` (chosen by the preflight); ``log``; ``metrics``
    (a sink for the training curves of the teacher and the students, ``otters run --tensorboard``; not a
    setting of the run: it changes no result and is not recorded)."""

    run_dir: Path
    task: str
    profile: Profile
    seed: int = 0
    data_dir: Path | None = None
    model_dir: Path | None = None
    teacher: Path | None = None
    eval_split: str = "test"
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    metrics: MetricsSink | None = None

    def settings(self) -> dict:
        """What run.json records and ``--resume`` compares."""
        return {"task": self.task, "profile": self.profile.to_dict(), "seed": self.seed,
                "data_dir": str(self.data_dir) if self.data_dir else None,
                "model_dir": str(self.model_dir) if self.model_dir else None,
                "teacher": str(self.teacher) if self.teacher else None}

    def path(self, *parts: str) -> Path:
        return self.run_dir.joinpath(*parts)

    def command(self, *args, glue_env: bool = True, **options) -> str:
        """A shell command line ``otters ARGS --option value ...`` (None options dropped, True = a flag),
        prefixed with OTTERS_GLUE_DIR when the run reads a GLUE folder and the command has no --data-dir
        (``glue_env=False``: the command reads no task data)."""
        words = ["otters", *[str(a) for a in args]]
        for key, value in options.items():
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            words += [flag] if value is True else [flag, str(value)]
        line = " ".join(shlex.quote(w) for w in words)
        if glue_env and self.data_dir is not None and "data_dir" not in options:
            line = f"OTTERS_GLUE_DIR={shlex.quote(str(self.data_dir))} {line}"
        return line
