"""Reading measured samples from CSV (header optional, NaN refused)."""

import numpy as np
import pytest

from otters.device import read_samples_csv, write_samples_csv
from otters.errors import OttersError


def test_round_trip_with_and_without_header(tmp_path):
    t = np.array([0.0, 1e-7, 3.5e-6])
    y = np.array([1.0, 0.93, 0.61234567890123])
    path = tmp_path / "s.csv"
    write_samples_csv(path, t, y)
    got_t, got_y = read_samples_csv(path)
    np.testing.assert_array_equal(got_t, t)
    np.testing.assert_array_equal(got_y, y)
    bare = tmp_path / "bare.csv"
    bare.write_text("# measured 2025\n0 1.0\n1e-7;0.93\n\n3.5e-6,\t0.5\n")
    got_t, got_y = read_samples_csv(bare)
    np.testing.assert_array_equal(got_t, [0.0, 1e-7, 3.5e-6])
    np.testing.assert_array_equal(got_y, [1.0, 0.93, 0.5])


@pytest.mark.parametrize(
    "text, message",
    [
        ("t,current\n0,1\n1,nan\n", ":3: non-finite"),
        ("t,current\n0,1\n1,inf\n", "non-finite"),
        ("0,1,2\n", "two columns"),
        ("t,current\n", "no samples"),
        ("t,current\n0,1\nx,y\n", ":3: expected two numbers"),
    ],
)
def test_bad_csv(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(OttersError, match=message):
        read_samples_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(OttersError, match="not found"):
        read_samples_csv(tmp_path / "nope.csv")
