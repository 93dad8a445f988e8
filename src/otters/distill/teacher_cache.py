"""The frozen teacher's outputs, computed once per training row and read back from disk.

Distillation's loss (TinyBERT, EMNLP 2020, eq. 11; Sorbet, ICML 2025) reads only the teacher's
logits and the hidden states of the layers the student maps to (g(m) = floor(m L_t / L_s), m = 0..L_s).
The teacher is frozen, so those are a function of the row alone: a forward per training step
recomputes them every epoch and every run. Here each row's outputs are computed the first time a
batch holds it and stored; every later visit (next epoch, next run with the same teacher and data)
reads them back.

Storage (one folder per key under ``<root>/<key>/``): ``hidden.npy`` (total real tokens, mapped
layers, hidden width) and ``logits.npy`` (rows, outputs), float16, memory-mapped; ``filled.npy`` (one
byte per row, set after the row's outputs are flushed); ``meta.json``. Only real tokens are stored:
padding never enters the loss (masked). The loss always reads the stored float16 values, also on a
row's first visit, so a run gives the same targets whether the cache was empty or full (up to the
float rounding of the teacher's batch composition; float16 keeps 11 significant bits).

The key is sha256 of the teacher's state (every tensor's name, dtype, shape and bytes), the token
ids of every row (the data, tokenizer and max_len), the stored layers and the format: new teacher
weights, other rows or another layer map give another folder, so a stale cache is never read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from otters.data.tokenize import Encoded, collate
from otters.distill.loss import layer_map
from otters.errors import OttersError

FORMAT = 1  # bump when the stored layout changes: old folders are then never read


def outputs_key(teacher: torch.nn.Module, encoded: Encoded, layers: tuple[int, ...]) -> str:
    """sha256 (hex) of the teacher's state, the rows' token ids, the stored layers and the format."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, "layers": list(layers), "dtype": "float16"}).encode())
    for name, tensor in sorted(teacher.state_dict().items()):
        t = tensor.detach().cpu().contiguous().reshape(-1)  # 1-d: a 0-d tensor has no byte view
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    digest.update(encoded.lengths.tobytes())
    for ids, types in zip(encoded.input_ids, encoded.token_type_ids):
        digest.update(np.asarray(ids, dtype=np.int32).tobytes())
        digest.update(np.asarray(types, dtype=np.int8).tobytes())
    return digest.hexdigest()


@dataclass
class TeacherOutputs:
    """A teacher's stored outputs for one training set; :meth:`for_batch` fills missing rows and reads back."""

    folder: Path
    teacher: torch.nn.Module
    encoded: Encoded
    layers: tuple[int, ...]
    offsets: np.ndarray  # row r's tokens are hidden[offsets[r]:offsets[r + 1]]
    hidden: np.ndarray
    logits: np.ndarray
    filled: np.ndarray

    @property
    def rows_filled(self) -> int:
        return int(self.filled.sum())

    def _fill(self, rows: np.ndarray, forward) -> None:
        batch = collate(self.encoded, rows)
        with torch.no_grad(), torch.autocast(batch["input_ids"].device.type, enabled=False):
            logits, states = forward(batch)
        for i, r in enumerate(rows):
            n = int(self.offsets[r + 1] - self.offsets[r])
            block = torch.stack([states[g][i, :n] for g in self.layers], dim=1)  # (n, layers, width)
            self.hidden[self.offsets[r]:self.offsets[r + 1]] = block.to("cpu", torch.float16).numpy()
            self.logits[r] = logits[i].to("cpu", torch.float16).numpy()
        self.hidden.flush()
        self.logits.flush()
        self.filled[rows] = 1  # only after the outputs are written: a killed run never marks a row it lacks
        self.filled.flush()

    def for_batch(self, rows, width: int, device: str | torch.device = "cpu") -> dict:
        """``{"logits", "hidden_states"}`` of ``rows`` (float32, padded to ``width`` tokens with zeros),
        the teacher's stored outputs; rows never seen before are computed by one teacher forward first."""
        rows = np.asarray(rows, dtype=np.int64)
        missing = rows[self.filled[rows] == 0]
        if len(missing):
            self._fill(np.unique(missing), self._forward)
        out = np.zeros((len(rows), width, len(self.layers), self.hidden.shape[-1]), dtype=np.float32)
        for i, r in enumerate(rows):
            start, stop = self.offsets[r], self.offsets[r + 1]
            out[i, :stop - start] = self.hidden[start:stop]
        states = torch.from_numpy(out).to(device)
        hidden_states = tuple(states[:, :, j] for j in range(len(self.layers)))
        logits = torch.from_numpy(self.logits[rows].astype(np.float32)).to(device)
        return {"logits": logits, "hidden_states": hidden_states}

    def _forward(self, batch: dict):
        device = next(self.teacher.parameters()).device
        inputs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask", "token_type_ids")}
        out = self.teacher(**inputs)
        return out.logits, out.hidden_states


def _open(path: Path, shape: tuple, dtype) -> np.ndarray:
    if path.is_file():
        array = np.load(path, mmap_mode="r+")
        if array.shape != shape or array.dtype != np.dtype(dtype):
            raise OttersError(f"{path} holds {array.shape} {array.dtype}, expected {shape} {np.dtype(dtype)}; "
                              f"delete {path.parent} to rebuild the teacher-output cache")
        return array
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)  # zero pages: sparse on disk


def teacher_outputs(teacher: torch.nn.Module, encoded: Encoded, student_layers: int, root: str | os.PathLike,
                    teacher_layers: int | None = None) -> TeacherOutputs:
    """The stored outputs of frozen ``teacher`` on the rows of ``encoded`` under ``root`` (made if absent).

    Stored layers: the teacher hidden states the loss maps the student's 0..``student_layers`` states to
    (:func:`otters.distill.loss.layer_map`); the teacher's layer count is read from its config.
    """
    if teacher.training or any(p.requires_grad for p in teacher.parameters()):
        raise OttersError("the teacher-output cache needs a frozen teacher (eval mode, no gradients)")
    teacher_layers = teacher_layers or int(teacher.config.num_hidden_layers)
    layers = tuple(layer_map(student_layers, teacher_layers))
    folder = Path(root) / outputs_key(teacher, encoded, layers)
    folder.mkdir(parents=True, exist_ok=True)
    lengths = encoded.lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    width = int(teacher.config.hidden_size)
    outputs = int(teacher.config.num_labels)
    meta = {"format": FORMAT, "rows": len(encoded), "tokens": int(offsets[-1]), "layers": list(layers),
            "hidden_size": width, "outputs": outputs, "dtype": "float16"}
    meta_file = folder / "meta.json"
    if meta_file.is_file() and json.loads(meta_file.read_text()) != meta:
        raise OttersError(f"{folder} describes another cache layout; delete it to rebuild the teacher-output cache")
    hidden = _open(folder / "hidden.npy", (int(offsets[-1]), len(layers), width), np.float16)
    logits = _open(folder / "logits.npy", (len(encoded), outputs), np.float16)
    filled = _open(folder / "filled.npy", (len(encoded),), np.uint8)
    if not meta_file.is_file():
        meta_file.write_text(json.dumps(meta, sort_keys=True))
    return TeacherOutputs(folder, teacher, encoded, layers, offsets, hidden, logits, filled)
