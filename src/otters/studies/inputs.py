"""The inputs of every study of a BERT student (verify, audit, energy, the pipeline): which model,
which tokenizer, which real sentences.

Sentences come from ``otters.data`` (the embedded Rotten Tomatoes reviews, or a GLUE task's split)
when available, else from a short built-in list; they are tokenised with the student's tokenizer
(its checkpoint folder, its teacher, or the packaged MiniLM's), sorted longest first and padded.
"""

from __future__ import annotations

from pathlib import Path

import torch

from otters.data import load_split
from otters.data.tokenize import load_tokenizer
from otters.distill.checkpoint import student_dir
from otters.errors import OttersError
from otters.io import read_json
from otters.models import build_student, student_from_hf
from otters.snn.mttfs import load_coded_student, model_coding

# Used only when otters.data cannot provide real sentences (e.g. a stripped-down install).
BUILTIN_SENTENCES = (
    "the film is a charming, funny and touching portrait of a family that refuses to fall apart.",
    "a tedious, overlong mess that wastes its talented cast on a script with nothing to say.",
    "it is not a great movie, but it has moments of real wit and a lead performance worth seeing.",
    "the plot twists are predictable and the dialogue is flat, yet the photography is gorgeous.",
)


def sentences(n: int, task: str = "rt", split: str = "validation", data_dir=None) -> tuple[list, list | None, str]:
    """(texts_a, texts_b or None, source) with the first ``n`` rows of ``task``'s ``split``."""
    if n < 1:
        raise OttersError(f"the number of sentences must be >= 1, got {n}")
    try:
        rows = load_split(task, split, data_dir)
    except (ImportError, OttersError) as exc:
        if task != "rt":
            raise OttersError(f"cannot read {task} {split}: {exc}") from None
        texts = [BUILTIN_SENTENCES[i % len(BUILTIN_SENTENCES)] for i in range(n)]
        return texts, None, "built-in sentences (otters.data unavailable)"
    take = min(n, len(rows))
    texts_b = list(rows.text_b[:take]) if rows.text_b is not None else None
    return list(rows.text_a[:take]), texts_b, f"{task} {split} (first {take} rows)"


def tokenizer_for(checkpoint: Path | None = None, geometry: str | None = None):
    """The student's tokenizer: its checkpoint folder's, its distillation teacher's, or the MiniLM's."""
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if (checkpoint / "tokenizer_config.json").is_file():
            # a student folder holds no config.json (load_tokenizer wants an HF model folder).
            # transformers is heavy: imported only when a tokenizer is read (the preflight names it if missing)
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(str(checkpoint), use_fast=True, local_files_only=True)
        meta = checkpoint / "distill.json"
        teacher = (read_json(meta).get("settings") or {}).get("teacher") if meta.is_file() else None
        if teacher and Path(teacher).is_dir():
            return load_tokenizer(teacher)
    if geometry is not None and Path(str(geometry)).is_dir():
        return load_tokenizer(geometry)
    return load_tokenizer()  # the packaged MiniLM (bert-base-uncased WordPiece vocabulary)


def tokenize(tokenizer, texts_a, texts_b=None, max_len: int = 128, vocab_size: int | None = None):
    """Padded batch dict (input_ids, attention_mask, token_type_ids), rows sorted longest first.

    ``vocab_size`` smaller than the tokenizer's (the toy ``tiny`` geometry): ids are folded modulo it.
    """
    out = tokenizer(list(texts_a), list(texts_b) if texts_b is not None else None, truncation=True,
                    max_length=int(max_len), padding=False, return_token_type_ids=True)
    rows = sorted(zip(out["input_ids"], out["token_type_ids"]), key=lambda r: -len(r[0]))
    width = max(len(r[0]) for r in rows)
    pad = tokenizer.pad_token_id or 0
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    types = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row_ids, row_types) in enumerate(rows):
        ids[i, :len(row_ids)] = torch.tensor(row_ids)
        types[i, :len(row_ids)] = torch.tensor(row_types)
        mask[i, :len(row_ids)] = 1
    if vocab_size is not None and int(ids.max()) >= vocab_size:
        ids = ids % vocab_size
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def fill_to_length(tokenizer, texts, length: int, vocab_size: int | None = None) -> dict:
    """One input of exactly ``length`` tokens of real text: [CLS] + consecutive sentences' tokens + [SEP]."""
    if length < 3:
        raise OttersError(f"--seq-len must be at least 3 tokens ([CLS] text [SEP]), got {length}")
    body: list[int] = []
    for text in texts:
        body += tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(body) >= length - 2:
            break
    if len(body) < length - 2:
        raise OttersError(f"the sentences hold only {len(body)} tokens; ask for --seq-len <= {len(body) + 2} "
                          "or more --sentences")
    ids = torch.tensor([[tokenizer.cls_token_id, *body[:length - 2], tokenizer.sep_token_id]], dtype=torch.long)
    if vocab_size is not None and int(ids.max()) >= vocab_size:
        ids = ids % vocab_size
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}


def student(checkpoint: Path | None, preset: str | None, geometry: str, init: str | None, seed: int = 0,
            num_labels: int = 2):
    """(model in eval mode, description): a student checkpoint (its ``student/`` folder or itself, with
    the coding of its ``coding.json`` applied: M-TTFS silent levels, dead zone), or
    a preset on a geometry, initialised from the HF weights ("hf": default for minilm-l6 and HF folders)
    or randomly ("random", seeded)."""
    if (checkpoint is None) == (preset is None):
        raise OttersError("give a student checkpoint directory or --preset NAME (with --geometry), not both")
    if checkpoint is not None:
        if not Path(checkpoint).exists():
            raise OttersError(f"checkpoint not found: {checkpoint}")
        # the student's folder as the one checkpoint loader finds it; the model with its coding.json (M-TTFS, dead
        # zone), if any. Its tokenizer is tokenizer_for's (a packed student may hold none and name no teacher).
        path = student_dir(checkpoint)
        model = load_coded_student(path).eval()
        dead_zone = max((int(getattr(m, "dead_zone", 0)) for m in model.modules()), default=0)
        return model, {"kind": "checkpoint", "path": str(path), "preset": model.config.preset,
                       "coding": model_coding(model), "dead_zone": dead_zone}
    hf_ok = geometry == "minilm-l6" or Path(str(geometry)).is_dir()
    init = init or ("hf" if hf_ok else "random")
    if init == "hf":
        if not hf_ok:
            raise OttersError(f"--hf needs geometry minilm-l6 or an HF BERT folder, not {geometry!r}")
        model = student_from_hf(geometry, preset, num_labels=num_labels)
    elif init == "random":
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = build_student(preset, geometry, num_labels=num_labels)
    else:
        raise OttersError(f"unknown initialisation {init!r}; use hf or random")
    return model.eval(), {"kind": "preset", "preset": preset, "geometry": str(geometry), "init": init, "seed": seed}


def calibrate(model, batch: dict) -> None:
    """Initialise every LSQ step that has not seen data yet, on ``batch`` (one eval forward)."""
    with torch.no_grad():
        model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
