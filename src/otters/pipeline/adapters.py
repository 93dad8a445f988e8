"""The other packages' entry points the pipeline calls, in one place (switch here when one changes).

Each adapter calls the same library function as the matching CLI command, with the same arguments,
so the command printed in the report reproduces the number exactly:

- :func:`verify_student` = ``otters verify STUDENT`` (``otters.cli.verify_cmd.bert_verify_result``);
- :func:`measure_energy` = ``otters energy STUDENT --task T`` (``otters.cli.energy_cmd.checkpoint_energy``);
- :func:`paper_energy_table` = ``otters energy --paper-table`` (``otters.energy.paper_rows``);
- :func:`robustness_sweep` = ``otters robustness STUDENT`` (``otters.train.robustness.sweep``);
- :func:`measure_sparsity` = ``otters sparsity STUDENT --no-metrics`` (``otters.cli.sparsity_cmd.sparsity_result``).
"""

from __future__ import annotations

from pathlib import Path


def verify_student(student: Path, task: str, split: str, sentences: int, max_len: int, simulator: str = "threshold"):
    """(VerifyResult, description): the student's spiking BERT against its QNN on the first sentences."""
    from otters.cli.verify_cmd import bert_verify_result

    return bert_verify_result(Path(student), None, "minilm-l6", None, 0, sentences, task, split, max_len, None,
                              simulator, 8, 0.0, 0.0)


def load_sentences(student: Path, task: str, split: str, sentences: int, max_len: int):
    """(model, batch dict, source) exactly as ``otters verify`` / ``otters energy`` build them."""
    from otters.cli import bert_inputs

    model, _ = bert_inputs.student(Path(student), None, "minilm-l6", None)
    tokenizer = bert_inputs.tokenizer_for(Path(student))
    texts_a, texts_b, source = bert_inputs.sentences(sentences, task, split)
    batch = bert_inputs.tokenize(tokenizer, texts_a, texts_b, max_len, model.config.vocab_size)
    return model, batch, source


def measure_energy(student: Path, task: str, split: str, sentences: int, max_len: int, table: str = "22nm") -> dict:
    """Energy per inference of the student's spiking model on real sentences (audit + 22 nm prices)."""
    from otters.cli.energy_cmd import checkpoint_energy
    from otters.energy import Hardware

    return checkpoint_energy(Path(student), task, split, sentences, max_len, table, Hardware())


def paper_energy_table(table: str = "22nm") -> list[dict]:
    """The analytical per-block energies of every architecture beside the paper's (BERT-base, 128 tokens)."""
    from otters.energy import FiringStats, Hardware, paper_rows

    rows = paper_rows("bert-base", 128, table, Hardware(), FiringStats.default(), None, "block")
    keys = ("model", "label", "total_mj", "paper_total_mj", "paper_derived", "parts", "gain_vs_bert",
            "paper_gain_vs_bert", "ratio_to_paper", "note")
    return [{k: r.get(k) for k in keys} for r in rows]


def robustness_sweep(students: list[Path], task: str, split: str, levels, kinds, draws: int, rows, seed: int,
                     data_dir=None, log=None) -> dict:
    """Metric of each student's SNN on drawn chips (same chips for every student)."""
    from otters.train.robustness import sweep

    return sweep([Path(s) for s in students], task, list(levels), int(draws), list(kinds), seed, split, rows,
                 data_dir=data_dir, log=log)


def measure_sparsity(student: Path, task: str, split: str, samples: int, max_len: int, seed: int, data_dir=None,
                     dead_zones: str = "0") -> dict:
    """Silent-neuron ratios of the student's populations: plain TTFS vs M-TTFS (Matterhorn), on a seeded
    subset of ``samples`` rows of ``split``, silent levels calibrated on as many ``train`` rows."""
    from otters.cli.sparsity_cmd import sparsity_result

    return sparsity_result(Path(student), task=task, split=split, calibration_split="train", samples=samples,
                           calibration_samples=samples, dead_zones=dead_zones, seed=seed, max_len=max_len,
                           data_dir=data_dir, metrics=False)
