"""Helpers of the spiking-BERT tests: calibrated and briefly distilled students, real sentences."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def tiny_batch(seed: int = 0, rows: int = 5, length: int = 11, vocab: int = 128) -> dict:
    """Random token ids with right padding in two rows (so masking is exercised)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (rows, length), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[rows - 1, 3:] = 0
    ids = ids.masked_fill(mask == 0, 0)
    types = torch.zeros_like(ids)
    types[0, 6:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def calibrated(model, batch: dict):
    """Eval-mode model whose LSQ steps were initialised on ``batch``."""
    model.eval()
    with torch.no_grad():
        model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    return model


def distill_steps(student, teacher, batch: dict, steps: int = 2, lr: float = 2e-3, seed: int = 0):
    """A few knowledge-distillation steps (soft cross-entropy on logits + MSE on every hidden state,
    Sorbet's loss) so that weights, LSQ steps and BSPN statistics leave their initial values."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        teacher.eval()
        with torch.no_grad():
            target = teacher(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        student.train()
        optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=lr)
        mask = batch["attention_mask"][..., None].float()
        for _ in range(steps):
            out = student(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
            soft = -(F.softmax(target.logits, -1) * F.log_softmax(out.logits, -1)).sum(-1).mean()
            hidden = sum((((s - t) * mask) ** 2).sum() / mask.sum() for s, t in zip(out.hidden_states, target.hidden_states))
            optimizer.zero_grad()
            (soft + hidden).backward()
            optimizer.step()
    return student.eval()


def rt_sentences(n: int, max_len: int = 128, vocab: int | None = None) -> dict:
    """The first ``n`` rt validation reviews, MiniLM-tokenised, sorted longest first, padded."""
    from otters.data import load_split
    from otters.data.tokenize import load_tokenizer
    from otters.studies.inputs import tokenize

    rows = load_split("rt", "validation")
    return tokenize(load_tokenizer(), rows.text_a[:n], None, max_len, vocab)
