"""otters glue-table: our students' SNN scores per GLUE column beside the published rows, on tiny checkpoints."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_helpers import run_main
from otters.data.metrics import compute_metrics
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.studies.evaluation import evaluate_checkpoint
from otters.studies.glue_table import PAPER_ROWS, glue_table, table_rows
from tiny_task import WORDS, make_tiny_task

torch.set_num_threads(1)


def _write_rte(glue, name: str, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = ["index\tsentence1\tsentence2\tlabel"]
    for i in range(rows):
        a, b = (" ".join(rng.choice(WORDS, size=int(rng.integers(3, 7)))) for _ in range(2))
        lines.append(f"{i}\t{a}\t{b}\t{'entailment' if 'good' in b else 'not_entailment'}")
    (glue / "RTE").mkdir(parents=True, exist_ok=True)
    (glue / "RTE" / name).write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    """A two-step SST-2 student and an RTE student (a copy of it whose record says rte), tiny data of both."""
    root = tmp_path_factory.mktemp("glue-table")
    tiny = make_tiny_task(root)
    settings = DistillSettings("sst2", "otters-1bitkv", stages="single", epochs=1, max_steps=2, batch_size=16,
                               eval_every=2, lr=1e-3, max_len=16)
    sst2 = distill(settings, tiny["teacher"], out_dir=root / "sst2-otters-1bitkv", data_dir=tiny["glue"],
                   progress=False, log=lambda m: None)
    rte = root / "rte-otters-1bitkv"
    shutil.copytree(sst2, rte)
    record = json.loads((rte / "distill.json").read_text())
    record["settings"]["task"] = "rte"
    (rte / "distill.json").write_text(json.dumps(record))
    _write_rte(tiny["glue"], "train.tsv", 60, 0)
    _write_rte(tiny["glue"], "dev.tsv", 20, 1)
    (tiny["glue"] / "SST-2" / "dev.tsv").write_text("sentence\tlabel\ngood film\t1\nbad dull plot\t0\ngreat fun\t1\n")
    return {"sst2": sst2, "rte": rte, "glue": tiny["glue"]}


def test_columns_are_each_tasks_snn_metrics_beside_the_papers_rows(students):
    table = glue_table([students["rte"], students["sst2"]], students["glue"], "validation")
    assert [s.task for s in table.scores] == ["sst2", "rte"]  # table order, not argument order
    for score in table.scores:
        direct = evaluate_checkpoint(students[score.task], score.task, "validation", "snn", students["glue"])
        assert score.metrics == direct["metrics"] and score.n == direct["n"] and score.split == "validation"
    header, rows = table_rows(table)
    assert [r[0] for r in rows[:-1]] == [p.model for p in PAPER_ROWS] and rows[-1][0].startswith("ours")
    sst2_col = header.index("SST-2 (acc)")
    assert rows[0][sst2_col] == "93.30" and rows[-2][sst2_col] == "91.28"  # BERT-base, Otters (paper)
    assert rows[-1][sst2_col] == f"{100 * table.scores[0].metrics['accuracy']:.2f}"
    assert rows[-1][header.index("CoLA (MCC)")] == "-" and all(r[-1] for r in rows)  # every row cites a source


def test_dev_split_reads_the_users_dev_files(students, capsys):
    code, out, err = run_main(capsys, "glue-table", str(students["sst2"]), str(students["rte"]),
                              "--data-dir", str(students["glue"]), "--split", "dev", "--json")
    assert code == 0, err
    result = json.loads(out)
    n = {s["task"]: s["n"] for s in result["scores"]}
    assert result["split"] == "dev" and n == {"sst2": 3, "rte": 20}
    rte = next(s for s in result["scores"] if s["task"] == "rte")
    assert set(rte["metrics"]) == set(compute_metrics("rte", np.array([0, 1]), np.array([0, 1])))
    assert {p["model"] for p in result["paper_rows"]} >= {"SpikingBERT", "SpikeLM", "BiT 1-1-1", "Sorbet (1-bit)"}


def test_missing_data_is_skipped_and_bad_input_is_one_line(students, capsys, tmp_path):
    (tmp_path / "SST-2").mkdir()
    shutil.copy(students["glue"] / "SST-2" / "dev.tsv", tmp_path / "SST-2" / "dev.tsv")
    table = glue_table([students["sst2"], students["rte"]], tmp_path, "dev")
    assert [s.task for s in table.scores] == ["sst2"] and table.skipped[0].startswith("rte: no dev data")
    for args in (["--split", "test"], [str(tmp_path)], [str(students["sst2"]), str(students["sst2"])]):
        code, out, err = run_main(capsys, "glue-table", *args, "--data-dir", str(students["glue"]))
        assert code == 2 and out == "" and err.startswith("otters: error: ") and err.count("\n") == 1, err


def test_the_committed_glue_table_is_what_the_docs_and_readme_quote():
    """results/glue/glue-table-validation.json (``otters glue-table --json`` on the committed students) agrees
    with each student's whole-split score in results/students/ and with the numbers docs/results.md's GLUE
    table and the README's headline table print."""
    root = Path(__file__).resolve().parents[1]
    table = json.loads((root / "results" / "glue" / "glue-table-validation.json").read_text())
    docs = (root / "docs" / "results.md").read_text()
    ours = next(line for line in docs.splitlines() if line.startswith("| **ours: Otters-1bitKV SNN**"))
    readme = (root / "README.md").read_text()
    assert {s["task"] for s in table["scores"]} == {"cola", "sst2", "mrpc", "stsb", "rte", "rt"}
    for score in table["scores"]:
        name = Path(score["checkpoint"]).name
        exact = root / "results" / "students" / f"{name}-exact.json"
        if exact.is_file():  # the same student scored separately, QNN beside SNN, on the whole split
            assert json.loads(exact.read_text())["snn"] == score["metrics"]
        main = {"cola": "matthews", "mrpc": "f1", "stsb": "pearson"}.get(score["task"], "accuracy")
        value = score["metrics"][main]
        assert f"{value * 100:.2f}" in ours, (score["task"], value)
        if score["task"] != "rt":  # the README quotes the best rt student on its test split instead
            assert any(text in readme for text in (f"{value * 100:.2f}", f"{value * 100:.1f} %", f"{value:.3f}"))
