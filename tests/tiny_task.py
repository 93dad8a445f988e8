"""A tiny word-level BERT teacher (random, 2 layers, hidden 16) and a 120-row SST-2 folder, for distillation tests."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = "good bad great awful fine boring fun dull film movie plot actor scene story".split()


def make_tiny_task(root: Path) -> dict:
    """{"teacher": HF teacher folder (with tokenizer), "glue": GLUE folder with SST-2/train.tsv}."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    teacher = root / "teacher"
    BertTokenizerFast(vocab_file=str(root / "vocab.txt")).save_pretrained(str(teacher))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=32, num_labels=2)
        BertForSequenceClassification(cfg).save_pretrained(str(teacher), safe_serialization=True)
    rng = random.Random(0)
    lines = ["sentence\tlabel"]
    for _ in range(120):
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10)))
        lines.append(f"{s}\t{int('good' in s or 'great' in s)}")
    (root / "glue" / "SST-2").mkdir(parents=True)
    (root / "glue" / "SST-2" / "train.tsv").write_text("\n".join(lines) + "\n")
    return {"teacher": teacher, "glue": root / "glue"}
