"""``otters matterhorn-table`` on a tiny distilled student: one TTFS reference row and one row per dead zone,
each measured from its own spiking run (silent ratio, SNN accuracy, SNN == QNN, energy per block)."""

import json

import pytest
import torch

from otters.cli.app import main
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.studies.matterhorn_table import matterhorn_table
from tiny_task import make_tiny_task

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    root = tmp_path_factory.mktemp("table")
    tiny = make_tiny_task(root)
    settings = DistillSettings("sst2", "otters-1bitkv", stages="single", epochs=1, max_steps=2, batch_size=16,
                               eval_every=2, lr=1e-3, max_len=16)
    out = distill(settings, tiny["teacher"], out_dir=root / "run", data_dir=tiny["glue"], progress=False,
                  log=lambda m: None)
    return out, tiny


def test_rows_measure_silence_accuracy_and_energy_per_dead_zone(student):
    path, tiny = student
    rows = matterhorn_table(path, dead_zones=(0, 2, 4), split="validation", calibration_samples=32,
                            data_dir=tiny["glue"])
    ref, coded = rows[0], rows[1:]
    assert ref["coding"] == "ttfs" and ref["dead_zone"] is None and ref["architecture"] == "otters-1bitkv"
    assert [r["dead_zone"] for r in coded] == [0, 2, 4] and all(r["coding"] == "mttfs" for r in coded)
    assert all(r["exact"] for r in rows)  # every SNN equals its (dead-zone) QNN bit for bit
    assert coded[0]["snn_accuracy"] == ref["snn_accuracy"]  # k = 0: lossless M-TTFS
    silent = [r["silent"] for r in coded]
    assert silent[0] >= ref["silent"] and silent == sorted(silent) and silent[-1] > silent[0]
    assert set(ref["silent_per_layer"]) == {"layer 0", "layer 1", "pooler"}
    energy = [r["energy_mj"] for r in coded]
    assert energy[-1] < energy[0] and all(r["ttfs_energy_mj"] == ref["energy_mj"] for r in coded)
    assert all(r["energy_vs_ttfs"] == pytest.approx(r["energy_mj"] / ref["energy_mj"]) for r in coded)
    assert all(r["matterhorn_mj"] > 0 and r["audited_mj_per_inference"] > 0 for r in coded)
    assert ref["samples"] == coded[0]["samples"] > 0


def test_cli_fine_tunes_each_dead_zone_and_writes_json_and_plot(student, tmp_path, capsys):
    path, tiny = student
    main(["matterhorn-table", str(path), "--task", "sst2", "--dead-zones", "1", "--finetune-steps", "1", "--split",
          "validation", "--calibration-samples", "16", "--data-dir", str(tiny["glue"]), "--work-dir",
          str(tmp_path / "work"), "--plot", str(tmp_path / "k.png"), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [r["dead_zone"] for r in rows] == [None, 1] and rows[1]["finetune_steps"] == 1 and rows[1]["exact"]
    assert (tmp_path / "work" / "dz1" / "student" / "coding.json").is_file()
    assert (tmp_path / "k.png").stat().st_size > 0
    main(["matterhorn-table", str(path), "--task", "sst2", "--dead-zones", "0", "--split", "validation",
          "--calibration-samples", "16", "--data-dir", str(tiny["glue"])])
    printed = capsys.readouterr()
    assert "SNN=QNN" in printed.out and "mttfs" in printed.out and "dz 0: silent" in printed.err
    with pytest.raises(SystemExit) as exit_info:
        main(["matterhorn-table", str(path), "--dead-zones", "x"])
    assert exit_info.value.code == 2
