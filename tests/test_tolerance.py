"""The exactness envelope of `otters tolerance`: each bound derived analytically, then confirmed by
reading the device through the ADC just inside and just outside it."""

import json
import subprocess
import sys

import numpy as np
import pytest

from otters.coding import adc_convert
from otters.coding.tolerance import read_instants, read_windows, tolerance
from otters.device import PAPER_CURVE, fire_times, fit_decay, paper_samples, save_curve
from otters.errors import OttersError

T_VALUES = [3, 7, 15, 31]


def codes_exact(T, bits, dt=None, drift=0.0, jitter=None, curve=PAPER_CURVE):
    """Read steps k = 0..T-1 at their clock's tick start (plus a per-step time offset) through a b-bit ADC."""
    s = read_instants(curve, T, dt)
    if jitter is not None:
        s = np.maximum(s + jitter, 0.0)
    n = (T + 1).bit_length() - 1
    read = adc_convert((1 + drift) * curve(s), T, bits)
    return np.array_equal(read, (T - np.arange(T)) * 2.0 ** (bits - n))


@pytest.mark.parametrize("T", T_VALUES)
@pytest.mark.parametrize("bits", [None, 8])
def test_clock_bound_is_sharp(T, bits):
    bits = bits or (T + 1).bit_length() - 1
    bound = tolerance(PAPER_CURVE, T, bits).max_clock_period.value
    # Every period up to the bound is exact (a grid, plus just below it) ...
    assert all(codes_exact(T, bits, dt) for dt in np.linspace(bound / 400, bound, 400))
    assert codes_exact(T, bits, bound * (1 - 1e-6))
    # ... and one just above it is not (the first failing interval is > 1e-4 wide, relative).
    assert not codes_exact(T, bits, bound * (1 + 1e-5))


@pytest.mark.parametrize("T", T_VALUES)
def test_adc_bits_bound_is_sharp(T):
    b = tolerance(PAPER_CURVE, T).min_adc_bits.value
    assert b == (T + 1).bit_length() - 1
    assert codes_exact(T, b) and codes_exact(T, b + 3)
    assert not codes_exact(T, b - 1)


@pytest.mark.parametrize("T", T_VALUES)
@pytest.mark.parametrize("bits", [None, 8])
def test_drift_bound_is_sharp(T, bits):
    bits = bits or (T + 1).bit_length() - 1
    env = tolerance(PAPER_CURVE, T, bits)
    d = env.max_output_drift.value
    assert 0 < d < 1 / (2 * T) + 1e-12
    assert codes_exact(T, bits, env.dt, drift=0.99 * d) and codes_exact(T, bits, env.dt, drift=-0.99 * d)
    assert not (codes_exact(T, bits, env.dt, drift=1.01 * d) and codes_exact(T, bits, env.dt, drift=-1.01 * d))


@pytest.mark.parametrize("T", T_VALUES)
def test_jitter_bound_is_sharp(T):
    env = tolerance(PAPER_CURVE, T)
    J = env.max_jitter.value
    rng = np.random.default_rng(0)
    for _ in range(50):  # any displacement within +-J keeps every code
        assert codes_exact(T, 8, env.dt, jitter=rng.uniform(-0.999 * J, 0.999 * J, size=T))
    assert codes_exact(T, 8, env.dt, jitter=np.full(T, 0.999 * J))
    assert codes_exact(T, 8, env.dt, jitter=np.full(T, -0.999 * J))
    # the binding step, pushed just beyond J on its tight side, breaks
    _t, early, late = read_windows(PAPER_CURVE, T, 8)
    s = read_instants(PAPER_CURVE, T, env.dt)
    side = np.where(s - early < late - s, -1.0, 1.0)
    k = int(np.argmin(np.minimum(s - early, late - s)))
    push = np.zeros(T)
    push[k] = side[k] * 1.01 * J
    assert not codes_exact(T, 8, env.dt, jitter=push)


def test_wider_adc_tightens_the_envelope():
    """A wider ADC resolves, and so breaks on, smaller errors: drift ~ 1/(2 T R)."""
    narrow, wide = tolerance(PAPER_CURVE, 15, 4), tolerance(PAPER_CURVE, 15, 8)
    assert wide.max_output_drift.value == pytest.approx(1 / (2 * 15 * 16), rel=1e-6)
    assert narrow.max_output_drift.value > 10 * wide.max_output_drift.value
    assert narrow.max_clock_period.value > 10 * wide.max_clock_period.value


def test_T1_has_no_clock_bound():
    env = tolerance(PAPER_CURVE, 1)
    assert env.max_clock_period.value is None and env.max_clock_period.margin is None
    assert env.dt == pytest.approx(fire_times(PAPER_CURVE, 1)[1] / 4, rel=0.05)


def test_refusals():
    with pytest.raises(OttersError, match="2\\^n - 1"):
        tolerance(PAPER_CURVE, 14)
    with pytest.raises(OttersError, match="cannot resolve"):
        tolerance(PAPER_CURVE, 15, 3)
    with pytest.raises(OttersError, match="outside the clock bound"):
        tolerance(PAPER_CURVE, 15, 8, dt=1e-6)
    with pytest.raises(OttersError, match="positive finite"):
        tolerance(PAPER_CURVE, 15, 8, dt=-1.0)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "otters.cli.app", "tolerance", *map(str, args)],
                          capture_output=True, text=True)


KEYS = ("max_clock_period", "min_adc_bits", "max_output_drift", "max_jitter")


@pytest.fixture(scope="module")
def fitted_curve(tmp_path_factory):
    t, noisy, _clean = paper_samples(80, noise=0.005, seed=1)
    path = tmp_path_factory.mktemp("curve") / "fitted.json"
    save_curve(fit_decay(t, noisy, seed=0).curve, path)
    return path


def test_cli_json_paper_and_fitted_curve(fitted_curve):
    for args in ((), ("--curve", fitted_curve)):
        proc = run_cli("--T", 15, "--json", *args)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        for key in KEYS:
            assert set(data[key]) == {"value", "default", "margin"}
            assert data[key]["value"] is not None and data[key]["margin"] >= 0
        assert data["min_adc_bits"]["value"] == 4
    paper = json.loads(run_cli("--T", 15, "--json").stdout)
    fitted = json.loads(run_cli("--T", 15, "--json", "--curve", fitted_curve).stdout)
    assert fitted["max_clock_period"]["value"] != paper["max_clock_period"]["value"]


@pytest.mark.parametrize("T", [1, 3, 7, 31])
def test_cli_other_T(T):
    proc = run_cli("--T", T, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["T"] == T
    table = run_cli("--T", T)
    assert table.returncode == 0 and "max_jitter" in table.stdout


@pytest.mark.parametrize("args, fragment", [
    (("--T", 14), "2^n - 1"), (("--T", 0), "2^n - 1"), (("--adc-bits", 2), "cannot resolve"),
    (("--adc-bits", 0), "adc_bits"), (("--dt", "1e-3"), "outside the clock bound"), (("--dt", "nan"), "dt"),
    (("--curve", "/nonexistent/curve.json"), "not found"), (("--T", "x"), "--T"),
])
def test_cli_bad_input_is_one_line(args, fragment):
    proc = run_cli(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("otters: error:") and fragment in lines[0], proc.stderr
