"""otters.pipeline: ``otters run``, from text to a verified spiking model, an energy bill and a report.

- :func:`open_run` (new run or ``--resume``) -> (:class:`RunContext`, :class:`RunState`);
- :func:`run_pipeline` runs the steps :data:`STEP_NAMES` not yet recorded in ``run.json``;
- :data:`PROFILES` / :func:`get_profile`: the ``quick`` and ``full`` settings.

Layer: above everything (it orchestrates otters.device ... otters.train and writes otters.report).
"""

from otters.pipeline.context import RunContext
from otters.pipeline.profiles import PRESET, PROFILES, Profile, get_profile
from otters.pipeline.runner import STEP_NAMES, STEPS, default_run_dir, open_run, run_pipeline
from otters.pipeline.state import RUN_FILE, RunState

__all__ = ["PRESET", "PROFILES", "Profile", "RUN_FILE", "RunContext", "RunState", "STEPS", "STEP_NAMES",
           "default_run_dir", "get_profile", "open_run", "run_pipeline"]
