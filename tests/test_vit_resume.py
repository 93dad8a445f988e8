"""Spiking-ViT runs: per-epoch state, kill / resume equivalence, skipped finished seeds, the time
budget, the --json summary (energy at 45 and 22 nm from otters.energy) and the ablation table."""

import json
from pathlib import Path

import pytest
import torch

from otters.energy import load_table
from otters.errors import OttersError
from otters.io import load_tensors
from otters.vit.ablation import ablation_table, compare, load_summaries, welch_p
from otters.vit.budget import estimate_run
from otters.vit.data import load_digits
from otters.vit.experiment import run_experiment
from otters.vit.state import STATE_DIR, has_state
from otters.vit.train import TrainSettings, default_config, train_vit

GEOMETRY = dict(dim=16, depth=1, heads=2, mlp_ratio=2)
TIMING_KEYS = {"epoch_seconds", "epoch_cpu_seconds"}


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _settings(**kw):
    base = dict(epochs=2, batch_size=64, limit_train=256, budget_s=None)
    return TrainSettings(**{**base, **kw})


class Killed(Exception):
    pass


def _kill_after(epoch):
    def log(entry):
        if entry["epoch"] == epoch:
            raise Killed()
    return log


def _untimed(history):
    return [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in history]


def test_kill_resume_equals_uninterrupted_run(digits, tmp_path):
    straight = run_experiment(digits, "seed", 2, _settings(), [0], tmp_path / "a", **GEOMETRY)
    with pytest.raises(Killed):  # "killed" right after epoch 1's state reached the disk
        run_experiment(digits, "seed", 2, _settings(), [0], tmp_path / "b", log=_kill_after(1), **GEOMETRY)
    run_b = tmp_path / "b" / "seed0"
    assert has_state(run_b) and not (run_b / "config.json").exists()
    progress = json.loads((run_b / STATE_DIR / "latest.json").read_text())
    assert progress["run"]["epochs_done"] == 1 and progress["step"] == 4
    # the same command again continues with epoch 2 (a log that dies at epoch 1 is never called for it)
    resumed = run_experiment(digits, "seed", 2, _settings(), [0], tmp_path / "b", log=_kill_after(1), **GEOMETRY)
    a, b = straight["runs"][0], resumed["runs"][0]
    assert b["sessions"] == 2 and a["sessions"] == 1
    assert _untimed(a["history"]) == _untimed(b["history"])
    for key in ("test_accuracy", "val_accuracy", "ops", "energy_per_image"):
        assert a[key] == b[key], key
    wa, wb = (load_tensors(p / "seed0" / "model.safetensors") for p in (tmp_path / "a", tmp_path / "b"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    # nothing but safetensors and JSON (and the lock file) is written
    kinds = {p.name if p.name == ".lock" else p.suffix for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert kinds == {".safetensors", ".json", ".jsonl", ".lock"}  # .jsonl: the trainer's JSON-lines metrics


def test_finished_seeds_are_skipped_and_settings_checked(digits, tmp_path):
    first = run_experiment(digits, "paper", 2, _settings(epochs=1), [0, 1], tmp_path, **GEOMETRY)

    def must_not_train(entry):
        raise AssertionError("a finished seed was trained again")

    again = run_experiment(digits, "paper", 2, _settings(epochs=1), [0, 1], tmp_path, log=must_not_train, **GEOMETRY)
    assert [r["reused"] for r in again["runs"]] == [True, True]
    assert again["test_accuracy"] == first["test_accuracy"] and again["complete"]
    with pytest.raises(OttersError, match="other settings"):
        run_experiment(digits, "paper", 2, _settings(epochs=2), [0], tmp_path, **GEOMETRY)
    with pytest.raises(OttersError, match="other settings"):
        run_experiment(digits, "binary", 2, _settings(epochs=1), [1], tmp_path, **GEOMETRY)


def test_budget_warning_and_record(digits):
    warnings = []
    cfg = default_config(digits, "binary", 2, **GEOMETRY)
    _, info = train_vit(cfg, digits, _settings(epochs=1, budget_s=1e-6), warn=warnings.append)
    assert len(warnings) == 1 and "budget" in warnings[0]
    assert info["projected_train_s"] > 0
    summary = run_experiment(digits, "binary", 2, _settings(epochs=1, budget_s=1e-6), [0], **GEOMETRY)
    assert summary["within_budget"] is False and summary["runs"][0]["within_budget"] is False
    summary = run_experiment(digits, "binary", 2, _settings(epochs=1, budget_s=3600.0), [0], **GEOMETRY)
    assert summary["within_budget"] is True


def test_estimate_run_projection(digits):
    settings = _settings(epochs=3, budget_s=1e-6)
    est = estimate_run(digits, "seed", 2, settings, steps=2, eval_images=16, **GEOMETRY)
    assert est["steps_per_epoch"] == 4 and est["within_budget"] is False
    for clock in ("wall", "cpu"):
        p = est[f"projected_{clock}"]
        assert p["total_s"] == pytest.approx(p["train_s"] + p["val_s"] + p["test_s"])
    assert est["projected_wall"]["train_s"] == pytest.approx(est["step_wall_s"] * 4 * 3)
    with pytest.raises(OttersError):
        estimate_run(digits, "seed", 2, settings, steps=0, **GEOMETRY)


def test_cli_train_json_resumes_and_prices_with_otters_energy(tmp_path, capsys):
    from otters.cli.app import main

    args = ["vit", "train", "--data", "digits", "--attention", "seed", "--T", "2", "--epochs", "1", "--seeds", "2",
            "--dim", "16", "--depth", "1", "--heads", "2", "--mlp-ratio", "2", "--limit-train", "128",
            "--batch-size", "64", "--no-progress", "--out", str(tmp_path / "run"), "--results",
            str(tmp_path / "res.json"), "--json"]

    def run():
        main(args)  # returns normally on success
        return json.loads(capsys.readouterr().out)

    s = run()
    assert len(s["test_accuracy"]) == 2 and s["test_accuracy_mean"] == pytest.approx(sum(s["test_accuracy"]) / 2)
    assert s["firing_rates"] and all(0 <= r <= 1 for r in s["firing_rates"].values())
    assert s["attn_macs_per_image_mean"] == 0 and s["acs_per_image_mean"] > 0 and s["macs_per_image_mean"] > 0
    for name in ("45nm", "22nm"):
        table = load_table(name)
        e_ac = table.op_pj("adds", "fp32")
        e_mac = table.op_pj("mults", "fp32") + e_ac
        for run_ in s["runs"]:
            ops = run_["ops"]
            want = (ops["acs_per_image"] * e_ac + ops["macs_per_image"] * e_mac) * 1e-6
            assert run_["energy_per_image"][name]["uJ"] == pytest.approx(want)
    assert s["energy_per_image"]["22nm"]["uJ_mean"] < s["energy_per_image"]["45nm"]["uJ_mean"]
    assert json.loads((tmp_path / "res.json").read_text())["test_accuracy"] == s["test_accuracy"]
    again = run()  # same command, same --out: both seeds are read back
    assert again["test_accuracy"] == s["test_accuracy"] and all(r["reused"] for r in again["runs"])


def _summary(attention, accs):
    import numpy as np

    a = np.array(accs)
    return {"attention": attention, "test_accuracy": accs, "test_accuracy_mean": float(a.mean()),
            "test_accuracy_std": float(a.std(ddof=1)), "parameters": 100, "attn_acs_per_image_mean": 1.0,
            "attn_macs_per_image_mean": 0.0, "acs_per_image_mean": 2.0, "macs_per_image_mean": 3.0,
            "energy_per_image": {"45nm": {"uJ_mean": 1.5}, "22nm": {"uJ_mean": 0.5}}, "run_wall_s_max": 600.0}


def test_ablation_table_spread_verdicts(tmp_path):
    binary = _summary("binary", [0.80, 0.81, 0.79])  # std 1 point
    seed = _summary("seed", [0.85, 0.86, 0.84])  # +5 points: beyond 1 + 1
    paper = _summary("paper", [0.81, 0.80, 0.82])  # +1 point: within the spread
    assert compare(seed, binary)["exceeds_spread"] and not compare(paper, binary)["exceeds_spread"]
    # Welch: t = 5 / sqrt(1/3 + 1/3) = 6.12 with 4 degrees of freedom -> p ~ 0.0036; t = 1.22 -> p ~ 0.29
    assert 0.002 < compare(seed, binary)["welch_p"] < 0.006
    assert 0.2 < compare(paper, binary)["welch_p"] < 0.4
    assert welch_p([0.9], [0.80, 0.81, 0.79]) is None and welch_p([0.8, 0.8], [0.8, 0.8]) is None
    paths = []
    for s in (paper, seed, binary):
        paths.append(tmp_path / f"{s['attention']}.json")
        paths[-1].write_text(json.dumps(s))
    summaries = load_summaries(paths)
    assert [s["attention"] for s in summaries] == ["binary", "seed", "paper"]
    table = ablation_table(summaries)
    assert "80.00 ± 1.00 % (n = 3)" in table and "85.00 ± 1.00 %" in table
    assert "+5.00 points" in table and "**exceeds**" in table and "**does not exceed**" in table
    assert "Welch's t-test p = 0.004" in table
    Path(tmp_path / "bad.json").write_text("{}")
    with pytest.raises(OttersError):
        load_summaries([tmp_path / "bad.json"])
