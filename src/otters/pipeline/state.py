"""The record of a run directory: ``run.json`` holds the settings and every finished step's result.

Written atomically (``otters.io.atomic_write_json``) after each step, so a Ctrl-C or a kill at any
instant leaves either the previous record or the new one; ``otters run --resume DIR`` reads it, skips
the finished steps and re-enters the interrupted one (whose trainer resumes from its own checkpoint).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from otters.errors import OttersError
from otters.io import atomic_write_json
from otters.report.record import to_json
from otters.report.results import read_step_result
from otters.state_schema import read_run_state

RUN_FILE = "run.json"
FORMAT = 1


def _plain(value):
    """Tuples to lists and Paths to strings: settings compare equal to their JSON round trip."""
    return json.loads(json.dumps(value, default=str))


class RunState:
    """``run.json`` of one run directory: ``settings``, ``steps`` {name: {"wall_s", "result"}}, ``order``."""

    def __init__(self, run_dir: Path, settings: dict, steps: dict | None = None, created: float | None = None):
        self.run_dir = Path(run_dir)
        self.settings = _plain(settings)
        self.steps: dict[str, dict] = dict(steps or {})
        self.created = created if created is not None else time.time()

    @property
    def path(self) -> Path:
        return self.run_dir / RUN_FILE

    @classmethod
    def load(cls, run_dir) -> "RunState":
        """The record of ``run_dir``; an OttersError names the fix when there is none."""
        run_dir = Path(run_dir)
        path = run_dir / RUN_FILE
        if not path.is_file():
            raise OttersError(f"{run_dir} holds no otters run ({RUN_FILE} is missing); start one with: otters run --out {run_dir}")
        data = read_run_state(path)
        if data.get("format") != FORMAT:
            raise OttersError(f"{path} was written by another otters version (format {data.get('format')}); start a new run")
        return cls(run_dir, data["settings"], data.get("steps"), data.get("created"))

    @classmethod
    def create(cls, run_dir, settings: dict) -> "RunState":
        """A new record; refuses a directory that already holds a run (resume it instead)."""
        run_dir = Path(run_dir)
        if (run_dir / RUN_FILE).is_file():
            raise OttersError(f"{run_dir} already holds a run; continue it with: otters run --resume {run_dir} "
                              "(or choose another --out)")
        run_dir.mkdir(parents=True, exist_ok=True)
        state = cls(run_dir, settings)
        state.save()
        return state

    def check_settings(self, settings: dict) -> None:
        """Refuse to resume with different settings (names the ones that changed)."""
        new = _plain(settings)
        changed = sorted(k for k in set(new) | set(self.settings) if new.get(k) != self.settings.get(k))
        if changed:
            raise OttersError(f"--resume with different settings ({', '.join(changed)}); resume with the run's own "
                              f"settings (otters run --resume {self.run_dir}) or start a new --out")

    def done(self, name: str) -> bool:
        return name in self.steps

    def result(self, name: str):
        """The typed result of finished step ``name`` (``otters.report.results``), read from its record."""
        if name not in self.steps:
            raise OttersError(f"step {name!r} has not run yet in {self.run_dir}; run: otters run --resume {self.run_dir}")
        return read_step_result(name, self.steps[name]["result"], self.path)

    def check_records(self) -> None:
        """Every finished step's record reads as its dataclass (else one OttersError line: start a new run)."""
        for name in self.steps:
            self.result(name)

    def finish(self, name: str, result, wall_s: float) -> None:
        """Record step ``name`` as done (atomically); ``result`` a step dataclass (or plain JSON data)."""
        self.steps[name] = {"wall_s": round(float(wall_s), 2), "finished": time.time(), "result": to_json(result)}
        self.save()

    def forget(self, name: str) -> None:
        """Mark a step (e.g. the report) to run again on the next resume."""
        if self.steps.pop(name, None) is not None:
            self.save()

    def save(self) -> None:
        atomic_write_json(self.path, {"format": FORMAT, "created": self.created, "settings": self.settings,
                                      "steps": self.steps})

