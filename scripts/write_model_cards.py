"""Write checkpoints/*/README.md (model cards) and config.json from the measurements in results/cards/.

The numbers are measured by scripts/measure_cards.sh (``otters eval ... --mode snn --json`` and
``otters energy ... --json`` per checkpoint, with the machine's load logged in timing.log); this
script only reads them, so every card states what was measured, by which command, under which load.
Usage: PYTHONPATH=src .venv/bin/python scripts/write_model_cards.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from otters.interop.hub import CardFacts, OttersForSequenceClassification, write_model_card
from otters.io import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "results" / "cards"


def timing(name: str) -> str | None:
    """The eval's wall time and load average from timing.log (None when it was not run here)."""
    log = (CARDS / "timing.log").read_text()
    m = re.search(rf"^{re.escape(name)} eval rc=0 (\d+)s load_at_start=([\d.]+) load_at_end=([\d.]+)$", log, re.MULTILINE)
    if m is None:
        return None
    return (f"2 shared CPU cores, eval {m.group(1)} s with load average {m.group(2)} at start and "
            f"{m.group(3)} at end (other jobs ran beside it)")


def measured_metrics(name: str, task: str, split: str) -> tuple[dict, int, str, str]:
    """(metrics, rows, command, JSON file) of the SNN's score: this round's ``otters eval --json`` output in
    results/cards/, else the earlier recorded measurement in results/students/ (its own command)."""
    fresh = CARDS / f"{name}-eval.json"
    if fresh.is_file() and fresh.read_text().strip():
        data = json.loads(fresh.read_text())
        return (data["metrics"], data["n"], f"otters eval checkpoints/{name} --task {task} --split {split} --mode snn",
                str(fresh.relative_to(ROOT)))
    earlier = ROOT / "results" / "students" / f"{name}-snn.json"
    if earlier.is_file():
        data = json.loads(earlier.read_text())
        return (data["metrics"], data["n"], f"otters eval checkpoints/{name} --task {task} --split {split} --mode snn --json",
                str(earlier.relative_to(ROOT)))
    exact = ROOT / "results" / "students" / f"{name}-exact.json"
    data = json.loads(exact.read_text())
    return data["snn"], data["n"], data["command"], str(exact.relative_to(ROOT))


def facts(folder: Path) -> CardFacts:
    name = folder.name
    energy_file = CARDS / f"{name}-energy.json"
    if not (energy_file.is_file() and energy_file.read_text().strip()):
        energy_file = ROOT / "results" / "students" / f"{name}-energy.json"  # an earlier `otters energy --json`
    energy = json.loads(energy_file.read_text()) if energy_file.is_file() else None
    settings = json.loads((folder / "distill.json").read_text())["settings"]
    preset = json.loads((folder / "otters.json").read_text())["config"]["preset"]
    task = settings["task"]
    split = "test" if task == "rt" else "validation"  # the splits docs/results.md scores them on
    metrics, rows, command, source = measured_metrics(name, task, split)
    exact = (f"SNN logits equal QNN logits bit for bit on 48 {task} {split} sentences "
             "(tests/test_committed_checkpoints.py, run with the test suite)")
    whole = ROOT / "results" / "students" / f"{name}-exact.json"
    if whole.is_file() and json.loads(whole.read_text()).get("logits_equal"):
        n = json.loads(whole.read_text())["n"]
        exact += f" and on all {n:,} (results/students/{whole.name})"
    teacher = settings.get("teacher") or "unknown"
    teacher = f"the fine-tuned MiniLM-L6 {task} teacher (cached at {teacher} when distilled)"
    return CardFacts(name=name, task=task, preset=preset, teacher=teacher, license="mit", split=split,
                     rows=rows, metrics=metrics, eval_command=command, metrics_source=source, exactness=exact,
                     energy_uj=None if energy is None else energy["total_mj"] * 1000.0,
                     energy_sentences=None if energy is None else energy["input"]["sentences"],
                     energy_command=None if energy is None else f"otters energy checkpoints/{name} --task {task} --json",
                     energy_source=None if energy is None else str(energy_file.relative_to(ROOT)),
                     measured_under=timing(name) or f"earlier measurement recorded in {source}")


def main() -> None:
    os.chdir(ROOT)
    for folder in sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / "otters.json").is_file()):
        config = json.loads((folder / "otters.json").read_text())["config"]
        # The card's usage lines name the folder as a user of a clone would: relative to the repository.
        path = write_model_card(folder.relative_to(ROOT), facts(folder), config["weight_bits"], config["act_bits"])
        print(f"wrote {path}")
        # config.json, as save_pretrained writes it: what the model is (task, labels, preset, geometry)
        model = OttersForSequenceClassification.from_pretrained(str(folder.relative_to(ROOT)))
        atomic_write_json(folder / "config.json", model.config_dict())
        print(f"wrote {(folder / 'config.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
