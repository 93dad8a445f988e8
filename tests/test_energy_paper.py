"""The paper table: ordering against the paper, gap notes, and the CLI's JSON."""

import json
import subprocess
import sys

import pytest

from otters.energy import Hardware, model_energy, ordering_matches_paper, paper_rows
from otters.energy.paper import gap_note
from otters.energy.registry import ARCHITECTURES, Architecture, build_workloads


@pytest.fixture(scope="module")
def rows():
    return paper_rows()  # the paper's configuration: bert-base, 22 nm, per attention block


def test_ordering_matches_the_paper(rows):
    totals = {r["model"]: r["total_mj"] for r in rows}
    assert ordering_matches_paper(rows), totals
    assert totals["bert"] > totals["sorbet"] > totals["spikelm"] > totals["otters-4bitkv"] > totals["otters-1bitkv"]


def test_parts_partition_the_total(rows):
    for r in rows:
        assert sum(r["parts"].values()) == pytest.approx(r["total_mj"])
        assert sum(r["blocks"].values()) == pytest.approx(r["total_mj"])


def test_note_when_gap_exceeds_30_percent(rows):
    for r in rows:
        if r["paper_total_mj"] is None:
            assert r["note"] == ""
            continue
        off = abs(r["total_mj"] - r["paper_total_mj"]) / r["paper_total_mj"]
        assert (off > 0.30) == bool(r["note"]), r["model"]


def test_note_names_the_largest_gap_term():
    report = model_energy("otters-1bitkv")
    parts = report.parts()
    fc, qkv = parts["FC"], parts["QKV"]
    rest = report.total_mj - fc - qkv
    # a paper whose rest matches ours exactly and whose FC is 10 mJ above: the gap is all FC
    fake = Architecture("x", "x", lambda c: [], 1, fc + 10 + qkv + rest, fc + 10, qkv)
    note = gap_note(report, fake)
    assert "FC computation" in note and "(100% of the gap)" in note
    close = Architecture("y", "y", lambda c: [], 1, report.total_mj * 1.2)
    assert gap_note(report, close) == ""


def test_kv_bits_and_adc_modes_are_visible():
    one = model_energy("otters-1bitkv").total_mj
    four = model_energy("otters-4bitkv").total_mj
    assert four > one
    per_synapse = model_energy("otters-1bitkv", hw=Hardware(adc_per="synapse")).total_mj
    assert per_synapse > one  # an ADC per synaptic event costs more than one per column reading


def test_energy_grows_with_sequence_length():
    assert model_energy("bert", seq_len=64).total_mj < model_energy("bert", seq_len=128).total_mj


def test_every_registered_architecture_builds():
    for name in ARCHITECTURES:
        ws = build_workloads(name, "bert-mini", 8)
        assert ws and all(w.part in ("FC", "QKV", "attention", "norms") for w in ws)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "otters.cli.app", *args], capture_output=True, text=True)


def test_cli_json_rows():
    proc = run_cli("energy", "--paper-table", "--json", "--geometry", "bert-mini", "--seq-len", "16",
                   "--models", "bert,otters-1bitkv")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [r["model"] for r in data] == ["bert", "otters-1bitkv"]
    for r in data:
        assert {"model", "total_mj", "paper_total_mj", "parts", "note"} <= set(r)
        assert set(r["parts"]) == {"FC", "QKV", "attention", "norms", "data_movement", "analog"}


def test_cli_counts_and_errors(tmp_path):
    counts = tmp_path / "audit.json"
    counts.write_text(json.dumps({"ffn1": {"adds": 100, "spikes": 3, "part": "FC"}}))
    proc = run_cli("energy", "--counts", str(counts), "--json", "--table", "45nm")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total_mj"] > 0
    bad = run_cli("energy", "--paper-table", "--models", "gpt")
    assert bad.returncode == 2 and bad.stderr.startswith("otters: error:") and "Traceback" not in bad.stderr
    none = run_cli("energy")
    assert none.returncode == 2 and len(none.stderr.strip().splitlines()) == 1
