"""Ask a student about sentences: its label, probabilities, spikes and energy for each input.

``otters predict`` and ``otters.predict`` call :func:`predict`. Each input is tokenised as ``otters
eval`` tokenises its rows (the student's tokenizer and max_len, ``otters.data.tokenize.encode``) and
run on its own (batch of one), so that its spikes and energy are those of that one inference:

- ``mode="snn"``: the converted spiking BERT on the nominal device (Otters, ICLR 2026, Prop. 1: its
  logits equal the QNN's bit for bit); the spikes are counted by ``BertActivity`` and the energy is
  the audit of that inference priced by the 22 nm table (``otters.energy.audit_adapter``, the
  model behind ``otters energy CKPT``);
- ``mode="qnn"``: the student's integer inference; it fires no spikes, so spikes and energy are None.

Probabilities are softmax(logits); for a regression head (STS-B) the score is the logit itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from otters.data.examples import TextExamples
from otters.data.tasks import get_task
from otters.data.tokenize import collate, encode
from otters.distill.checkpoint import load_student_checkpoint
from otters.energy.audit_adapter import energy_from_audit, settings_from_hardware
from otters.energy.model import Hardware
from otters.errors import OttersError
from otters.io import read_json
from otters.snn import convert
from otters.snn.audit import audit_activity
from otters.snn.bert import BertActivity

MODES = ("snn", "qnn")
MAX_TEXT_CHARS = 100_000


@dataclass
class Prediction:
    """One input's answer. ``label``: the class name (None for a regression head); ``probabilities``:
    {class name: softmax probability}; ``score``: the regression output (STS-B); ``spikes``: spikes
    fired in the whole network, ``neurons``: neuron evaluations, ``silent_fraction`` = 1 - spikes /
    neurons; ``energy_uj``: energy of that inference in microjoules (22 nm table); None in qnn mode."""

    text: str
    text_pair: str | None
    tokens: int
    label: str | None
    label_id: int | None
    probabilities: dict[str, float] | None
    score: float | None
    spikes: int | None = None
    neurons: int | None = None
    silent_fraction: float | None = None
    energy_uj: float | None = None


@dataclass
class PredictResult:
    """The student, its task, the mode and one :class:`Prediction` per input (input order)."""

    checkpoint: str
    task: str
    mode: str
    predictions: list[Prediction] = field(default_factory=list)


@dataclass
class LoadedStudent:
    """A student ready to answer: the QNN (eval mode), its tokenizer, max_len and task name."""

    model: torch.nn.Module
    tokenizer: object
    max_len: int
    task: str
    path: str


def load(checkpoint: str | os.PathLike, task: str | None = None) -> LoadedStudent:
    """Load a student checkpoint directory with its tokenizer, max_len and task (recorded, or ``task``)."""
    path = Path(checkpoint)
    loaded = load_student_checkpoint(path)
    recorded = loaded.settings.get("task")
    if recorded is None and (path / "config.json").is_file():
        recorded = read_json(path / "config.json").get("task")
    task = task or recorded
    if task is None:
        raise OttersError(f"{path} does not record its task; pass --task")
    return LoadedStudent(loaded.model.eval(), loaded.tokenizer, loaded.max_len, get_task(task).name, str(path))


def _checked_texts(texts, pairs) -> tuple[list[str], list[str] | None]:
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise OttersError("give at least one text to classify")
    if pairs is not None:
        pairs = [pairs] if isinstance(pairs, str) else list(pairs)
        if len(pairs) != len(texts):
            raise OttersError(f"{len(texts)} first sentences but {len(pairs)} second sentences; give one pair per input")
    for t in texts + (pairs or []):
        if not isinstance(t, str) or not t.strip():
            raise OttersError("every input must be a non-empty text")
        if len(t) > MAX_TEXT_CHARS:
            raise OttersError(f"an input has {len(t)} characters; at most {MAX_TEXT_CHARS} are read")
    return texts, pairs


def predict(student: LoadedStudent | str | os.PathLike, texts, pairs=None, mode: str = "snn",
            advance: Callable[[], None] | None = None) -> PredictResult:
    """Label, probabilities (or score), spikes, silent fraction and energy of each input (see module doc).

    ``student``: a :class:`LoadedStudent` or a checkpoint directory; ``texts``: one string or a list;
    ``pairs``: the second sentences of a pair task; ``advance``: called once per finished input.
    """
    if mode not in MODES:
        raise OttersError(f"unknown mode {mode!r}; choose snn or qnn")
    texts, pairs = _checked_texts(texts, pairs)
    if not isinstance(student, LoadedStudent):
        student = load(student)
    spec = get_task(student.task)
    if spec.is_pair and pairs is None:
        raise OttersError(f"{spec.name} classifies sentence pairs; give the second sentences (--pair)")
    if not spec.is_pair and pairs is not None:
        raise OttersError(f"{spec.name} classifies single sentences; drop the second sentences")
    encoded = encode(student.tokenizer, TextExamples(spec, "input", texts, pairs, None), student.max_len)
    snn = convert(student.model) if mode == "snn" else None
    hw = Hardware()
    settings = settings_from_hardware(hw)
    result = PredictResult(student.path, spec.name, mode)
    for i in range(len(texts)):
        batch = collate(encoded, [i])
        ids, mask, types = batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        spikes = neurons = energy = None
        with torch.no_grad():
            if snn is None:
                logits = student.model(ids, mask, types).logits[0]
            else:
                activity = BertActivity(settings.column_rows)
                logits = snn(ids, mask, types, activity=activity).logits[0]
                spikes = sum(p.spikes for p in activity.populations.values())
                neurons = sum(p.neurons for p in activity.populations.values())
                report = energy_from_audit(audit_activity(snn, activity, settings), "22nm", hw)
                energy = report.total_mj * 1000.0
        result.predictions.append(_prediction(spec, texts[i], None if pairs is None else pairs[i], int(ids.shape[1]),
                                              logits.float().numpy(), spikes, neurons, energy))
        if advance is not None:
            advance()
    return result


def _prediction(spec, text, pair, tokens, logits: np.ndarray, spikes, neurons, energy) -> Prediction:
    silent = None if not neurons else 1.0 - spikes / neurons
    if spec.regression:
        return Prediction(text, pair, tokens, None, None, None, float(logits[0]), spikes, neurons, silent, energy)
    shifted = logits.astype(np.float64) - float(np.max(logits))
    probs = np.exp(shifted) / np.exp(shifted).sum()
    best = int(np.argmax(logits))
    names = list(spec.label_names)
    return Prediction(text, pair, tokens, names[best], best, {n: float(p) for n, p in zip(names, probs)}, None,
                      spikes, neurons, silent, energy)


def read_inputs(path: str | os.PathLike, pair: bool) -> tuple[list[str], list[str] | None]:
    """Inputs from a text file: one per line; with ``pair`` each line holds two sentences separated by a tab."""
    path = Path(path)
    if not path.is_file():
        raise OttersError(f"input file not found: {path}")
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise OttersError(f"{path} is not UTF-8 text; give one input per line") from None
    if not lines:
        raise OttersError(f"{path} holds no input lines")
    if not pair:
        return lines, None
    split = [line.split("\t") for line in lines]
    bad = next((n for n, parts in enumerate(split, 1) if len(parts) != 2), None)
    if bad is not None:
        raise OttersError(f"{path} line {bad}: a pair needs two sentences separated by one tab")
    return [a for a, _ in split], [b for _, b in split]
