"""The plan of a distillation: its stages (Sorbet's chain), the teacher, and each stage's initialisation.

Staged schedule (Sorbet, ICML 2025; Otters, ICLR 2026, adds binary K/V): fine-tuned
BERT -> W1A4 QNN -> swap in PTsoftmax -> swap in BSPN -> binarise K and V, each stage distilled from
the previous stage's best model and initialised from its weights. A stage's model is the target
preset with the features of the later stages reverted to the W1A4 choices (softmax, LayerNorm,
4-bit K/V), so every preset (qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv) gets its own chain.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from otters.errors import OttersError
from otters.models import QBertForSequenceClassification, hf_geometry, load_hf_weights, make_config, minilm_path
from otters.models.packing import binary_modules
from otters.quant import LSQQuantizer
from otters.teacher.finetune import ensure_teacher

# Stage name -> (config field, value in the target, value before the stage introduces it).
STAGE_FEATURES = {
    "ptsoftmax": ("softmax", "ptsoftmax", "softmax"),
    "bspn": ("norm", "bspn", "layernorm"),
    "kv1": ("kv_bits", 1, 4),
}
STAGE_NAMES = ("w1a4", *STAGE_FEATURES)


def stage_plan(preset: str, stages: str = "staged") -> list[tuple[str, dict]]:
    """[(stage name, config overrides of the target preset)] in training order.

    ``stages``: "staged" (Sorbet's chain up to the preset), "single" (one stage: the preset itself),
    or a comma list of stage names (w1a4, ptsoftmax, bspn, kv1) ending at the preset. The full-precision
    preset bert-fp always has the one stage "fp".
    """
    target = make_config(preset, "tiny")
    if not target.quantized_acts:
        return [("fp", {})]
    present = [name for name, (field, value, _) in STAGE_FEATURES.items() if getattr(target, field) == value]
    if stages == "single":
        chain = [present[-1] if present else "w1a4"]
    elif stages == "staged":
        chain = ["w1a4", *present]
    else:
        chain = [s.strip() for s in str(stages).split(",") if s.strip()]
        unknown = [s for s in chain if s not in STAGE_NAMES]
        if unknown:
            raise OttersError(f"unknown stage(s) {unknown}; use staged, single, or a comma list of {', '.join(STAGE_NAMES)}")
        order = [STAGE_NAMES.index(s) for s in chain]
        if order != sorted(set(order)):
            raise OttersError(f"stages must be distinct and in the order {', '.join(STAGE_NAMES)}, got {stages!r}")
        missing = [s for s in present if s not in chain and STAGE_NAMES.index(s) > order[-1]]
        extra = [s for s in chain if s != "w1a4" and s not in present]
        if missing or extra:
            raise OttersError(f"stages {stages!r} do not lead to preset {preset!r} (it has {', '.join(present) or 'no'} "
                              "extra features); the last stage must introduce the last of them")
    plan = []
    for name in chain:
        upto = STAGE_NAMES.index(name)
        overrides = {field: before for s, (field, _, before) in STAGE_FEATURES.items()
                     if s in present and STAGE_NAMES.index(s) > upto}
        plan.append((name, overrides))
    return plan


def resolve_teacher_dir(teacher: str | os.PathLike | None, task: str, data_dir=None, log=None) -> Path:
    """A local HF BERT directory: ``teacher``, "minilm-l6" (the packaged, not fine-tuned MiniLM), or the
    cached fine-tuned teacher of ``task`` (``otters.teacher.finetune.ensure_teacher``, trained if absent)."""
    if teacher is None:
        return Path(ensure_teacher(task, data_dir=data_dir, log=log))
    path = minilm_path() if str(teacher) == "minilm-l6" else Path(teacher).expanduser()
    if not (path / "config.json").is_file():
        raise OttersError(f"teacher {path} is not a Hugging Face model directory (no config.json)")
    return path


def task_overrides(spec) -> dict:
    """Model config fields of a task head: num_labels and, for STS-B, the regression problem type."""
    return {"num_labels": spec.num_labels, "problem_type": "regression" if spec.regression else "classification"}


def hf_model(directory: Path, preset: str, spec, require_head: bool, **overrides):
    """A QBert model of ``preset`` built with the geometry of ``directory`` and loaded from its weights.

    ``require_head``: the directory must hold a classifier for ``spec`` (a fine-tuned teacher).
    Returns (model, head_loaded).
    """
    config = make_config(preset, hf_geometry(directory), **task_overrides(spec), **overrides)
    config.geometry = str(directory)
    model = QBertForSequenceClassification(config)
    report = load_hf_weights(model, directory)
    head_loaded = "classifier.weight" in report["loaded"]
    if require_head and not head_loaded:
        raise OttersError(f"{directory} has no {spec.name} classifier head ({spec.num_labels} outputs); "
                          "fine-tune a teacher first (otters teacher --task ...) or pass --teacher DIR")
    return model, head_loaded


def freeze_teacher(model: torch.nn.Module) -> torch.nn.Module:
    """Eval mode, no gradients, binary layers frozen to their codes (no re-binarisation per forward)."""
    model.eval()
    for module in binary_modules(model).values():
        if not module.frozen:
            module.freeze()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def transfer_weights(source: torch.nn.Module, target: torch.nn.Module) -> dict:
    """Initialise ``target`` (the next stage) from ``source`` (the previous stage's best), in place.

    Every tensor with the same name and shape is copied, except the state of quantizers whose bit
    width changed (binary K/V re-calibrate their step on the first batch) and frozen-code buffers.
    Returns {"copied": [...], "kept": [...]} for the record.
    """
    src_quant = {n: m for n, m in source.named_modules() if isinstance(m, LSQQuantizer)}
    changed = {n for n, m in target.named_modules()
               if isinstance(m, LSQQuantizer) and (n not in src_quant or (src_quant[n].bits, src_quant[n].signed) != (m.bits, m.signed))}
    src_state, own = source.state_dict(), target.state_dict()
    copied = []
    with torch.no_grad():
        for name, tensor in own.items():
            owner = name.rsplit(".", 1)[0]
            if owner in changed or name.endswith(("frozen_codes", "frozen_scale")):
                continue
            if name in src_state and src_state[name].shape == tensor.shape:
                tensor.copy_(src_state[name].to(tensor.dtype))
                copied.append(name)
    return {"copied": copied, "kept": sorted(set(own) - set(copied))}


def kd_outputs(out) -> dict:
    """The fields distillation reads from a QBertOutput: logits, hidden_states, attentions (pre-softmax scores)."""
    return {"logits": out.logits, "hidden_states": out.hidden_states, "attentions": out.attention_scores}
