"""``otters run`` acceptance: the commands it prints reproduce its numbers; the packed student it leaves
in the run directory is accepted by the other commands; the summary records machine and wall times;
HAT2 is compared with the base model; the paper's rows are the ones the transcribed papers' facts give."""

import hashlib
import json
import os
import shlex
from pathlib import Path

import pytest
import torch

from otters.cli.app import main
from otters.io import read_json
from otters.pipeline import STEP_NAMES
from otters.report import hat_comparison
from otters.report.paper import ENERGY_ROWS, GLUE_ROWS, ROBUSTNESS_FACTS, hat_name, paper_beside
from otters.report.results import LevelScores, RobustnessEntry, RobustnessResult
from pipeline_helpers import private_cache, tiny_run

torch.set_num_threads(1)

PAPERS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "PAPERS.md"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


@pytest.fixture(scope="module")
def printed(run):
    """(stdout of ``otters run --resume`` on the finished tiny run, its parsed commands)."""
    import contextlib
    import io

    out = io.StringIO()
    with private_cache(run["inputs"]["cache"]), contextlib.redirect_stdout(out):
        main(["run", "--resume", str(run["dir"])])
    text = out.getvalue()
    commands = []
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("commands that reproduce every number"))
    for line in lines[start + 1:]:
        words = shlex.split(line) if line.startswith("  ") and not line.lstrip().startswith("#") else []
        env = {}
        while words and "=" in words[0] and not words[0].startswith("-"):
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        if words and words[0] == "otters":
            commands.append((env, words[1:]))
    return text, commands


def _json_of(capsys, monkeypatch, env: dict, argv: list[str]) -> dict:
    """Run one printed command through the CLI (with its environment prefix) and parse its --json output."""
    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(key, value)
        capsys.readouterr()
        main(argv + ["--json"])
    return json.loads(capsys.readouterr().out)


def _find(commands, sub: str, *, has: str | None = None, lacks: str | None = None):
    found = [(e, a) for e, a in commands if a[0] == sub and (has is None or has in a) and (lacks is None or lacks not in a)]
    assert found, f"no printed '{sub}' command (has={has}, lacks={lacks})"
    return found


def test_terminal_summary_prints_every_command_and_the_paper_beside_ours(run, printed):
    text, commands = printed
    summary = read_json(run["dir"] / "summary.json")
    shell = [c["command"] for c in summary["commands"]]
    assert all(c in text.splitlines() or f"  {c}" in text.splitlines() for c in shell)  # each on one line, uncut
    otters = [c for c in shell if shlex.split(c)[0] == "otters" or shlex.split(c)[1] == "otters"]
    assert len(commands) == len(otters) == len(shell)  # every command is an otters command (the device demo too)
    assert {a[0] for _, a in commands} >= {"teacher", "distill", "verify", "eval", "energy", "audit", "sparsity",
                                          "robustness", "device"}
    assert "majority class" in text and "93.3 %" in text and "91.28 %" in text  # baseline; paper's teacher, Otters
    assert "loses < half of base" in text and f"{summary['machine']['cpu_count']} CPU(s)" in text
    assert "packed student" in text and str(run["dir"] / "student") in text


def test_printed_commands_reproduce_the_reported_numbers(run, printed, capsys, monkeypatch, tmp_path):
    _, commands = printed
    summary = read_json(run["dir"] / "summary.json")
    d = summary["device"]
    (env, argv), = _find(commands, "device", has="demo")
    monkeypatch.chdir(tmp_path)  # the demo writes its files under runs/ of the working directory
    got = _json_of(capsys, monkeypatch, env, argv)
    assert got["fit"]["r2"] == d["r2"] and got["fit"]["params"] == d["params"]
    assert got["schedules"]["15"]["fire_times"][1] == d["t_1"] and got["coding"]["accumulator_exact"] == d["accumulator_exact"]

    rows = {r["model"]: r for r in summary["accuracy"]["rows"]}
    teacher_dir = summary["teacher"]["dir"]
    for env, argv in _find(commands, "eval"):
        got = _json_of(capsys, monkeypatch, env, argv)
        mode = argv[argv.index("--mode") + 1] if "--mode" in argv else "fp"
        key = {"fp": "teacher (full precision)", "qnn": "student QNN (Otters-1bitKV)",
               "snn": "student SNN (converted, nominal device)"}[mode]
        assert (argv[1] == teacher_dir) == (mode == "fp")
        assert got["n"] == rows[key]["n"] and got["metrics"] == rows[key]["metrics"], mode

    (env, argv), = _find(commands, "verify")
    got, v = _json_of(capsys, monkeypatch, env, argv), summary["exactness"]["verify"]
    assert got["exact"] and v["exact"]
    for key in ("max_level_diff", "max_spikes_per_neuron"):
        assert got[key] == v[key]
    assert got["samples"] == v["sentences"] and sum(t["spikes"] for t in got["traces"]) == v["spikes"]

    e = summary["energy"]
    (env, argv), = _find(commands, "energy", lacks="--paper-table")
    got = _json_of(capsys, monkeypatch, env, argv)
    assert got["total_mj"] == e["total_mj"] and got["parts"] == e["parts"]
    (env, argv), = _find(commands, "audit")
    got = _json_of(capsys, monkeypatch, env, argv)
    assert got["spiking"] == e["audit"]["spiking"] and got["digital"] == e["audit"]["digital"]
    (env, argv), = _find(commands, "energy", has="--paper-table")
    got = _json_of(capsys, monkeypatch, env, argv)
    table = read_json(run["dir"] / "energy.json")["paper_table"]
    assert [r["total_mj"] for r in got] == [r["total_mj"] for r in table]
    (env, argv), = _find(commands, "sparsity")
    got = _json_of(capsys, monkeypatch, env, argv)
    assert got["overall"]["ttfs"] == e["sparsity"]["ttfs"] and got["overall"]["mttfs"] == e["sparsity"]["mttfs"]

    r = summary["robustness"]
    (env, argv), = _find(commands, "robustness")
    got = _json_of(capsys, monkeypatch, env, argv)
    assert list(got["checkpoints"]) == list(r["checkpoints"])
    for label, entry in got["checkpoints"].items():
        assert entry["results"] == r["checkpoints"][label]["results"] and entry["nominal"] == r["checkpoints"][label]["nominal"]


def test_printed_distillation_command_reproduces_the_student(run, printed, capsys, monkeypatch, tmp_path):
    """Same seed, same data order: the printed ``otters distill`` writes the run's student bit for bit."""
    _, commands = printed
    (env, argv), = _find(commands, "distill", lacks="--hat")
    monkeypatch.chdir(tmp_path)  # the command writes runs/repro-distill under the working directory
    with private_cache(run["inputs"]["cache"]):
        got = _json_of(capsys, monkeypatch, env, argv)
    student = read_json(run["dir"] / "run.json")["steps"]["distill"]["result"]["student"]
    digest = lambda p: hashlib.sha256((Path(p) / "student.safetensors").read_bytes()).hexdigest()  # noqa: E731
    assert digest(got["student"]) == digest(student)


def test_the_packed_student_in_the_run_dir_is_accepted_directly(run, capsys, monkeypatch):
    summary = read_json(run["dir"] / "summary.json")
    exported = summary["student"]["base"]
    packed = run["dir"] / "student"
    assert exported["dir"] == str(packed) and set(summary["student"]) == {"base", "hat0.2"}
    source = Path(exported["source"])
    for name, size in exported["files"].items():
        assert (packed / name).read_bytes() == (source / name).read_bytes() and (packed / name).stat().st_size == size
    ev, glue = summary["accuracy"], str(run["inputs"]["glue"])
    base = ["--task", "sst2", "--split", ev["split"]]
    env = {"OTTERS_GLUE_DIR": glue}
    got = _json_of(capsys, monkeypatch, env, ["eval", str(packed), *base, "--mode", "snn"])
    assert got["metrics"] == ev["rows"][3]["metrics"]
    assert _json_of(capsys, monkeypatch, env, ["verify", str(packed), *base, "--batch", "2", "--max-len", "16"])["exact"]
    e = summary["energy"]
    n = str(e["input"]["sentences"])
    got = _json_of(capsys, monkeypatch, env, ["audit", str(packed), *base, "--sentences", n, "--max-len", "16"])
    assert got["spiking"] == e["audit"]["spiking"]
    cut = _json_of(capsys, monkeypatch, env, ["audit", str(packed), *base, "--sentences", n, "--max-len", "5"])
    assert cut["input"]["tokens"] <= 5 * int(n) < got["input"]["tokens"]  # --max-len truncates as energy's does
    got = _json_of(capsys, monkeypatch, env, ["energy", str(packed), *base, "--sentences", n, "--max-len", "16"])
    assert got["total_mj"] == e["total_mj"]
    got = _json_of(capsys, monkeypatch, env, ["sparsity", str(packed), *base, "--samples", n, "--calibration-samples",
                                              n, "--dead-zones", "0", "--max-len", "16", "--no-metrics"])
    assert got["overall"]["ttfs"] == e["sparsity"]["ttfs"]


def test_summary_records_the_machine_and_wall_time_of_every_step(run):
    summary = read_json(run["dir"] / "summary.json")
    m = summary["machine"]
    assert m["cpu_count"] == os.cpu_count() and m["torch_version"] == torch.__version__
    assert isinstance(m["torch_threads"], int) and m["torch_threads"] >= 1
    assert set(summary["steps"]) == set(STEP_NAMES) and all(v >= 0 for v in summary["steps"].values())
    assert summary["steps"]["report"] > 0  # the report step's own time, added once it is known
    assert summary["total_wall_s"] == pytest.approx(sum(summary["steps"].values()))
    record = read_json(run["dir"] / "run.json")["steps"]
    assert summary["steps"]["distill"] == record["distill"]["wall_s"]


def test_base_and_hat2_are_compared_at_the_largest_deviation(run):
    summary = read_json(run["dir"] / "summary.json")
    r = summary["robustness"]
    assert sorted(v["role"] for v in r["checkpoints"].values()) == ["HAT2", "base"]
    comps = r["hat_comparison"]
    assert [c["kind"] for c in comps] == r["kinds"] and all(c["level"] == max(r["levels"]) for c in comps)
    for c in comps:
        base = next(v for v in r["checkpoints"].values() if v["role"] == "base")
        assert c["base"]["loss"] == pytest.approx(base["nominal"] - base["results"][c["kind"]][-1]["mean"])
    page = (run["dir"] / "report.html").read_text()
    assert "HAT loss &lt; base loss / 2" in page and "HAT2 (distill-hat0.2)" in page


def _rob(base_nominal, base_last, hat_nominal, hat_last, with_hat=True):
    def entry(hat, nom, last):
        return RobustnessEntry(hat=hat, role=hat_name(hat), qnn=nom, nominal=nom, exact=True, results={
            "output": [LevelScores(0.0, [nom], nom, 0.0), LevelScores(0.2, [last], last, 0.0)]})
    checkpoints = {"distill": entry(0.0, base_nominal, base_last)}
    if with_hat:
        checkpoints["hat"] = entry(0.2, hat_nominal, hat_last)
    return RobustnessResult(metric="accuracy", rows=8, levels=[0.0, 0.2], kinds=["output"], draws=1,
                            checkpoints=checkpoints, files={})


@pytest.mark.parametrize("numbers, verdict", [((0.90, 0.70, 0.88, 0.82), True),    # HAT loses 6 of base's 20 points
                                              ((0.90, 0.70, 0.88, 0.77), False),   # HAT loses 11 points: > half
                                              ((0.75, 0.25, 0.75, 0.50), False),   # exactly half is not less
                                              ((0.90, 0.91, 0.88, 0.80), None)])   # the base loses nothing
def test_hat_criterion(numbers, verdict):
    (c,) = hat_comparison(_rob(*numbers))
    assert c.less_than_half is verdict and c.level == 0.2
    assert c.base.loss == pytest.approx(numbers[0] - numbers[1])
    assert c.hat_model.loss == pytest.approx(numbers[2] - numbers[3])
    assert hat_comparison(_rob(*numbers, with_hat=False)) == []


def test_paper_rows_are_the_ones_papers_md_gives():
    sst2 = {p.role: p for p in paper_beside("sst2")}
    assert sst2["teacher"].score == 93.3 and sst2["snn"].score == 91.28 and sst2["snn"].same_task
    rt = {p.role: p for p in paper_beside("rt")}
    assert rt["snn"].column == "SST-2" and not rt["snn"].same_task
    assert {p.role: p.score for p in paper_beside("rte")} == {"teacher": 72.6, "snn": 68.95}
    assert all("Otters, ICLR 2026" in p.source and "PAPERS" not in p.source for p in paper_beside("rt"))
    if not PAPERS.is_file():
        pytest.skip(f"{PAPERS} is not on this machine")
    text = PAPERS.read_text()
    rows = {cells[1]: cells for cells in ([c.strip(" *") for c in line.split("|")] for line in text.splitlines()
                                          if line.startswith("|"))}
    for model, _, values in GLUE_ROWS:  # every published score is the one in the transcribed table's row
        assert [float(c) for c in rows[model][3:11] if c not in ("–", "-")] == [v for v in values if v is not None]
    for model, fc, qkv, total, _ in ENERGY_ROWS:
        assert [None if c in ("–", "-") else float(c) for c in rows[model][2:5]] == [fc, qkv, total]
    for _, _, accuracy, _words in ROBUSTNESS_FACTS:
        assert accuracy is None or f"{accuracy} %" in text
    assert "80.8 % at 20 %" in text and "73.8 % at 12 %" in text
