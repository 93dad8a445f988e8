"""Tiny word-level BERTs (random, 2 layers, hidden 16) and small SST-2 folders, for tests that train.

``make_tiny_task``: a classification teacher (with tokenizer) and a 120-row SST-2 folder, for the
distillation tests. tests/pipeline_helpers.py builds its base model and data from the same pieces.
"""

from __future__ import annotations

import random
from pathlib import Path

WORDS = "good bad great awful fine boring fun dull film movie plot actor scene story".split()


def write_tiny_bert(root: Path, folder: Path, num_labels: int | None) -> Path:
    """A seeded 2-layer, hidden-16 BERT over WORDS in ``folder`` (tokenizer included); with
    ``num_labels`` a BertForSequenceClassification (a teacher), else a bare BertModel (a base model)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(root / "vocab.txt")).save_pretrained(str(folder))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        extra = {} if num_labels is None else {"num_labels": num_labels}
        cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=32, **extra)
        model = BertModel(cfg) if num_labels is None else BertForSequenceClassification(cfg)
        model.save_pretrained(str(folder), safe_serialization=True)
    return folder


def write_tiny_sst2(glue: Path, rows: int) -> Path:
    """``glue``/SST-2/train.tsv with ``rows`` seeded sentences over WORDS, label 1 iff 'good' or 'great'."""
    rng = random.Random(0)
    lines = ["sentence\tlabel"]
    for _ in range(rows):
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10)))
        lines.append(f"{s}\t{int('good' in s or 'great' in s)}")
    (glue / "SST-2").mkdir(parents=True, exist_ok=True)
    (glue / "SST-2" / "train.tsv").write_text("\n".join(lines) + "\n")
    return glue


def make_tiny_task(root: Path) -> dict:
    """{"teacher": HF teacher folder (with tokenizer), "glue": GLUE folder with SST-2/train.tsv}."""
    return {"teacher": write_tiny_bert(root, root / "teacher", num_labels=2),
            "glue": write_tiny_sst2(root / "glue", 120)}
