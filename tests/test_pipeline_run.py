"""``otters run`` end to end on a tiny teacher and task: steps, exactness, resume after an interrupt."""

import json
import shutil

import pytest
import torch

from otters.cli.app import main
from otters.errors import OttersError
from otters.io import read_json
from otters.pipeline import STEP_NAMES, open_run, run_pipeline
from otters.report.record import to_json
from otters.report.results import read_step_result
from otters.studies.evaluation import evaluate_checkpoint
from pipeline_helpers import make_tiny_inputs, private_cache, run_tiny, tiny_run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def test_every_step_is_recorded_and_the_snn_equals_the_qnn(run):
    record = read_json(run["dir"] / "run.json")
    assert set(record["steps"]) == set(STEP_NAMES)
    summary = read_json(run["dir"] / "summary.json")
    verify, ev = summary["exactness"]["verify"], read_json(run["dir"] / "eval.json")
    assert verify["exact"] and verify["max_level_diff"] == 0 and verify["max_spikes_per_neuron"] <= 1
    assert ev["logits_equal"] and ev["max_abs_logit_diff"] == 0.0 and ev["mismatched_rows"] == 0
    assert ev["qnn"]["metrics"] == ev["snn"]["metrics"]
    names = [r["model"] for r in summary["accuracy"]["rows"]]
    assert names[0].startswith("majority") and names[1].startswith("teacher") and "QNN" in names[2] and "SNN" in names[3]
    labels = [int(line.rsplit("\t", 1)[1]) for line in (run["inputs"]["glue"] / "SST-2" / "train.tsv").read_text().splitlines()[1:]]
    assert summary["accuracy"]["rows"][0]["n"] == ev["snn"]["n"] and 0 < ev["majority"]["metrics"]["accuracy"] <= 1
    assert ev["majority"]["class"] == str(int(sum(labels) * 2 > len(labels)))
    assert summary["energy"]["total_mj"] > 0
    assert set(summary["robustness"]["checkpoints"]) and summary["robustness"]["kinds"] == ["output"]
    # every section that reports numbers says how to reproduce them
    steps_with_commands = {c["step"] for c in summary["commands"]}
    assert {"teacher", "distill", "verify", "evaluate", "energy", "robustness", "device"} <= steps_with_commands


def test_evaluate_checkpoint_scores_students_like_the_pipeline(run):
    ev = read_json(run["dir"] / "eval.json")
    student = read_json(run["dir"] / "run.json")["steps"]["distill"]["result"]["student"]
    data = run["inputs"]["glue"]
    for mode in ("qnn", "snn"):
        got = evaluate_checkpoint(student, "sst2", ev["split"], mode, data)
        assert got["n"] == ev[mode]["n"] and got["metrics"] == pytest.approx(ev[mode]["metrics"], abs=0)
    with pytest.raises(OttersError, match="qnn or --mode snn"):
        evaluate_checkpoint(student, "sst2", ev["split"], "fp", data)


def test_resume_skips_finished_steps_and_rewrites_the_report(run):
    before = read_json(run["dir"] / "run.json")["steps"]
    summary = (run["dir"] / "summary.json").read_text()
    ctx, state = open_run(resume=run["dir"])
    run_pipeline(ctx, state)
    after = read_json(run["dir"] / "run.json")["steps"]
    for name in ("device", "teacher", "distill", "verify", "evaluate", "energy", "robustness"):
        assert after[name]["finished"] == before[name]["finished"]
    assert after["report"]["finished"] > before["report"]["finished"]
    # the report written again from the recorded (typed) results reports the same numbers
    first, again = (json.loads(text) for text in (summary, (run["dir"] / "summary.json").read_text()))
    for key in ("steps", "total_wall_s", "browser_check"):  # the report step's own time and check differ
        first.pop(key), again.pop(key)
    assert again == first


def test_run_json_records_read_back_as_the_typed_results_they_were(run, tmp_path, capsys):
    """run.json holds each step's dataclass field by field: reading a record and writing it again gives the same
    JSON (so a run directory written before the results were typed resumes unchanged); a record of another
    shape is refused by --resume in one line, before anything is written."""
    record = read_json(run["dir"] / "run.json")
    for name, step in record["steps"].items():
        assert to_json(read_step_result(name, step["result"], "run.json")) == step["result"], name
    copy = tmp_path / "run"
    shutil.copytree(run["dir"], copy)
    record["steps"]["distill"]["result"]["renamed_field"] = record["steps"]["distill"]["result"].pop("student")
    (copy / "run.json").write_text(json.dumps(record))
    before = (copy / "run.json").read_text()
    with pytest.raises(SystemExit) as exc:
        main(["run", "--resume", str(copy)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "another otters version" in err[0] and "renamed_field" in err[0]
    assert (copy / "run.json").read_text() == before


def test_resume_refuses_other_settings_and_new_runs_refuse_used_dirs(run):
    with pytest.raises(OttersError, match="drop --task"):
        open_run(resume=run["dir"], task="rt")
    with pytest.raises(OttersError, match="--resume"):
        open_run(out=run["dir"], task="sst2")
    with pytest.raises(OttersError, match="holds no otters run"):
        open_run(resume=run["dir"] / "nowhere")


def test_interrupted_run_resumes_to_the_same_numbers(run, tmp_path):
    from otters.pipeline import runner

    def interrupted(ctx, state):
        raise KeyboardInterrupt

    steps = tuple((n, t, interrupted if n == "evaluate" else f) for n, t, f in runner.STEPS)
    with pytest.raises(KeyboardInterrupt):
        run_tiny(run["inputs"], tmp_path / "run", steps=steps)
    done = read_json(tmp_path / "run" / "run.json")["steps"]
    assert "verify" in done and "evaluate" not in done and "report" not in done
    with private_cache(run["inputs"]["cache"]):
        ctx, state = open_run(resume=tmp_path / "run")
        run_pipeline(ctx, state)
    ref, got = read_json(run["dir"] / "eval.json"), read_json(tmp_path / "run" / "eval.json")
    for key in ("teacher", "qnn", "snn"):
        assert got[key] == ref[key]  # same seeds, same data: the resumed run reproduces the numbers


def test_cli_resume_prints_the_summary_and_bad_dirs_fail_in_one_line(run, tmp_path, capsys):
    main(["run", "--resume", str(run["dir"])])
    out = capsys.readouterr().out
    assert "report:" in out and "bit-identical logits" in out
    with pytest.raises(SystemExit) as exc:
        main(["run", "--resume", str(tmp_path / "missing")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("otters: error:") and "otters run --out" in err[0]


def test_preflight_names_the_fix(tmp_path, monkeypatch):
    import importlib.util

    from otters.pipeline import preflight

    with pytest.raises(OttersError, match="--data-dir"):
        preflight.check_data("sst2", tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(OttersError, match="bash scripts/setup.sh"):
        preflight.check_libraries()


def test_glue_run_without_data_fails_before_training(tmp_path):
    inputs = make_tiny_inputs(tmp_path / "inputs")
    ctx, state = open_run(tmp_path / "run", None, "rte", "quick", 0, inputs["glue"], inputs["model"])
    with pytest.raises(OttersError, match="RTE"):
        run_pipeline(ctx, state)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["steps"] == {}
