"""The training-directory lock (filelock) refuses a second holder until the first releases it."""

import pytest

from otters.errors import OttersError
from otters.train.common import exclusive_lock


def test_lock_refuses_a_second_holder_until_released(tmp_path):
    with exclusive_lock(tmp_path / "run.lock", "run directory"):
        with pytest.raises(OttersError, match="run directory is busy"):  # noqa: SIM117 - the order is the test
            with exclusive_lock(tmp_path / "run.lock", "run directory"):
                pass
    with exclusive_lock(tmp_path / "run.lock", "run directory"):  # free again
        pass
