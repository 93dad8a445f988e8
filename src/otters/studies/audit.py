"""Operation counts of a student's converted spiking model on real text: what ``otters audit`` prints
(``otters.snn.audit``: additions, subtractions, multiplications, device reads, ADC conversions and
spikes per block, spiking and digital paths apart)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from otters.errors import OttersError
from otters.snn.audit import AuditSettings, audit_model
from otters.snn.audit_measured import measured_audit
from otters.studies import inputs


def audit_dict(checkpoint: Optional[Path], preset: Optional[str], geometry: str, init: Optional[str], seed: int,
               seq_len: Optional[int], sentences: int, task: str, split: str, adc_per: str, column_rows: int,
               max_len: Optional[int] = None, measured: bool = False) -> dict:
    """What ``otters audit --json`` prints: the operation audit (otters.snn.audit) of the converted
    student on real text, with ``input`` describing the sentences (``max_len``: tokens per sentence at
    most, default the model's position limit, capped at 512). ``measured``: the spiking path's counts
    as executed by the hardware executor under an operation counter (otters.snn.audit_measured), with
    the rule-based totals beside them."""
    if max_len is not None and max_len < 3:
        raise OttersError(f"--max-len must be at least 3 tokens ([CLS] text [SEP]), got {max_len}")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    settings = AuditSettings(adc_per=adc_per, column_rows=column_rows)
    model, description = inputs.student(checkpoint, preset, geometry, init, seed)
    tokenizer = inputs.tokenizer_for(checkpoint, geometry if preset else None)
    vocab = model.config.vocab_size
    texts_a, texts_b, source = inputs.sentences(max(sentences, 64 if seq_len else sentences), task, split)
    if seq_len is not None:  # one input of exactly seq_len tokens of real text
        batch = inputs.fill_to_length(tokenizer, texts_a, seq_len, vocab)
        source += f", {seq_len} tokens of consecutive text"
    else:
        batch = inputs.tokenize(tokenizer, texts_a[:sentences], texts_b[:sentences] if texts_b else None,
                                     min(max_len or 512, model.config.max_position_embeddings), vocab)
    if checkpoint is None:
        inputs.calibrate(model, batch)
    model_inputs = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    if measured:
        audit, rules = measured_audit(model, *model_inputs, settings)
        data = audit.to_dict()
        data.update(measured=True, measured_paths=["spiking"], rule_based={"spiking": rules.totals("spiking")})
    else:
        data = audit_model(model, *model_inputs, settings).to_dict()
        data["measured"] = False
    data["model"].update(description)
    data["input"] = {"source": source, "sentences": int(batch["input_ids"].shape[0]),
                     "tokens": int(batch["attention_mask"].sum()),
                     "text": texts_a[0] if seq_len is None and sentences == 1 else None}
    return data
