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


@pytest.fixture(scope="session", autouse=True)
def private_otters_cache(tmp_path_factory):
    """Every test's teachers and stored teacher outputs go to a temporary cache, never the user's."""
    before = os.environ.get("OTTERS_CACHE")
    os.environ["OTTERS_CACHE"] = str(tmp_path_factory.mktemp("otters-cache"))
    yield
    if before is None:
        os.environ.pop("OTTERS_CACHE", None)
    else:
        os.environ["OTTERS_CACHE"] = before
