"""`otters device ...` and the interim `otters run`, through the real command line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from otters.device import paper_samples, write_samples_csv


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "otters.cli.app", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("otters: error:"), proc.stderr
    assert fragment in lines[0]


@pytest.mark.parametrize("T", [15, 1, 3, 7, 31, 255])
def test_schedule_json(T):
    proc = run_cli("device", "schedule", "--T", T, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    times, levels = np.array(data["fire_times"]), np.array(data["levels"])
    assert data["T"] == T and data["steps"] == list(range(T + 1))
    assert times.shape == (T + 1,) and times[0] == 0.0 and np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(1.00e-4, rel=1e-3)
    np.testing.assert_allclose(levels, (T - np.arange(T + 1)) / T, rtol=0, atol=1e-12)


def test_schedule_table_and_clock():
    proc = run_cli("device", "schedule", "--T", 3, "--dt", "1e-5")
    assert proc.returncode == 0, proc.stderr
    assert "theta_k" in proc.stdout and "tick" in proc.stdout


def test_fit_then_use_the_curve(tmp_path):
    t, y, _ = paper_samples(120, noise=0.01, seed=1)
    csv = tmp_path / "m.csv"
    write_samples_csv(csv, t, y)
    proc = run_cli("device", "fit", csv, "--out", tmp_path / "c.json", "--plot", tmp_path / "fit.png")
    assert proc.returncode == 0, proc.stderr
    assert "R^2" in proc.stdout and "RSS" in proc.stdout
    assert (tmp_path / "fit.png").stat().st_size > 1000
    used = run_cli("device", "schedule", "--curve", tmp_path / "c.json", "--T", 7, "--json")
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout)["curve"]["kind"] == "stretched_exponential"
    plotted = run_cli("device", "plot", "--curve", tmp_path / "c.json", "--out", tmp_path / "d.png")
    assert plotted.returncode == 0 and (tmp_path / "d.png").stat().st_size > 1000


def test_bad_inputs_give_one_line_and_exit_2(tmp_path):
    nan_csv = tmp_path / "nan.csv"
    nan_csv.write_text("t,current\n0,1\n1e-6,nan\n2e-6,0.8\n")
    assert_one_line_error(run_cli("device", "fit", nan_csv), "non-finite")
    rising = tmp_path / "rising.csv"
    rising.write_text("".join(f"{i * 1e-6},{0.1 * i}\n" for i in range(20)))
    assert_one_line_error(run_cli("device", "fit", rising), "do not decay")
    assert_one_line_error(run_cli("device", "schedule", "--T", 10), "2^n - 1")
    assert_one_line_error(run_cli("device", "schedule", "--T", 15, "--dt", "1e-5"), "too coarse")
    assert_one_line_error(run_cli("device", "fit", tmp_path / "missing.csv"), "not found")
    assert_one_line_error(run_cli("device", "plot", "--curve", tmp_path / "missing.json"), "not found")
    garbage = tmp_path / "g.csv"
    garbage.write_text("t,current\n0,1\nabc,def\n")
    assert_one_line_error(run_cli("device", "fit", garbage), "expected two numbers")


def test_device_demo_step(tmp_path):
    """The device step of `otters run` (fit, schedule, exact coding demo), run as the command the report
    prints (`otters device demo`): the full pipeline itself is tested in tests/test_pipeline_*.py."""
    out = tmp_path / "run"
    printed = run_cli("device", "demo", "--out", out, "--profile", "quick", "--seed", 0, "--json")
    assert printed.returncode == 0, printed.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(printed.stdout) == summary
    assert summary["coding"]["accumulator_exact"] and summary["coding"]["decode_exact"]
    assert summary["fit"]["rms_error_vs_truth"] < summary["fit"]["noise_sigma"]
    for name in summary["files"]:
        assert (out / name).is_file()
    assert_one_line_error(run_cli("device", "demo", "--out", tmp_path / "x", "--profile", "huge"), "unknown profile")
    assert_one_line_error(run_cli("run", "--out", out, "--profile", "huge"), "unknown profile")
