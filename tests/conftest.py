"""Shared test settings.

Hypothesis: no per-example deadline (CI machines are shared and slow); example counts are set per
test so the whole suite stays within minutes on 2 cores.
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "otters",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("otters")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The offline GLUE train files in ../shared/data/glue (skips if absent)."""
    path = SHARED / "data" / "glue"
    if not path.is_dir():
        pytest.skip("../shared/data/glue is not beside the repository")
    return path
