"""Energy per inference of a trained student: what ``otters energy CHECKPOINT --task T`` prints and the
``energy`` step of ``otters run`` records; and the analytical table beside the paper's.

The student's spiking model is run on real sentences, its operations audited (``otters.snn.audit``) and
priced (``otters.energy``: computation + data movement + analog parts, 22 nm or 45 nm tables; the
paper's unit is one attention block: Otters, ICLR 2026, energy table).
"""

from __future__ import annotations

from pathlib import Path

import torch

from otters.energy import FiringStats, Hardware, paper_rows
from otters.energy.audit_adapter import measure_energy
from otters.studies import inputs

# the columns of the analytical table the report shows
PAPER_TABLE_KEYS = ("model", "label", "total_mj", "paper_total_mj", "paper_derived", "parts", "gain_vs_bert",
                    "paper_gain_vs_bert", "ratio_to_paper", "note")


def checkpoint_energy(checkpoint: Path, task: str, split: str, sentences: int, max_len: int, table: str = "22nm",
                      hw: Hardware | None = None, loaded: tuple | None = None) -> dict:
    """Energy per inference of a student checkpoint's spiking model, measured on the first ``sentences``
    rows of ``task``'s ``split``: {"model", "input", "table", "hardware", "total_mj", "parts", "blocks",
    "by_data", "audit": {"spiking", "digital"}, "per_inference"} (mean over the sentences). ``loaded``: the
    (model, description) of ``inputs.student(checkpoint, ...)``, when the caller has it already."""
    hw = Hardware() if hw is None else hw
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model, description = loaded or inputs.student(checkpoint, None, "minilm-l6", None)
    tokenizer = inputs.tokenizer_for(checkpoint)
    texts_a, texts_b, source = inputs.sentences(sentences, task, split)
    batch = inputs.tokenize(tokenizer, texts_a, texts_b, max_len, model.config.vocab_size)
    report, audit = measure_energy(model, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], table, hw)
    audited = audit.to_dict()
    return {"model": {**description, **audited["model"]}, "input": {"source": source, "sentences": audit.sentences,
            "tokens": audit.tokens, "mean_tokens": audit.tokens / audit.sentences}, "table": report.table,
            "hardware": {"adc_per": hw.adc_per, "adc_bits": hw.adc_bits, "column_rows": hw.column_rows},
            "total_mj": report.total_mj, "parts": report.parts(), "blocks": report.blocks(),
            "by_data": report.by_data(), "audit": {"spiking": audited["spiking"], "digital": audited["digital"]},
            "per_inference": "mean over the sentences"}


def paper_energy_table(table: str = "22nm") -> list[dict]:
    """The analytical per-block energy of every architecture beside the paper's (BERT-base, 128 tokens,
    default firing statistics): what ``otters energy --paper-table`` prints, in the report's columns."""
    rows = paper_rows("bert-base", 128, table, Hardware(), FiringStats.default(), None, "block")
    return [{k: r.get(k) for k in PAPER_TABLE_KEYS} for r in rows]
