"""Parameters and packed storage size of a student (a checkpoint or a preset): what ``otters info`` prints.

MB = 2^20 bytes; the 1-bit weights are stored as bits (``otters.models.packing``), so BERT-base's
student is about 13.4 MB against 418 MB in fp32 (Otters, ICLR 2026, GLUE results table, "size").
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from otters.errors import OttersError
from otters.io import read_json
from otters.models.packing import CONFIG_FILE, TENSORS_FILE, load_student, storage_report
from otters.models.presets import build_student


def info_dict(checkpoint: Optional[Path], preset: Optional[str], geometry: str, num_labels: int) -> dict:
    """The data ``otters info --json`` prints: parameters, storage_mb (MB = 2^20 bytes), parts, ...

    A checkpoint directory (from ``save_student``) is measured from its stored tensors; a preset is
    built on the meta device (no memory, no weights) and sized from its packed layout.
    """
    if (checkpoint is None) == (preset is None):
        raise OttersError("give either a checkpoint directory or --preset NAME (with --geometry)")
    if checkpoint is not None:
        model = load_student(checkpoint)
        meta = read_json(Path(checkpoint) / CONFIG_FILE)
        report = storage_report(model)
        layout = meta.get("storage")
        if layout is not None:  # what was actually written (includes latent weights if saved)
            report.update({k: layout[k] for k in ("storage_bytes", "storage_mb", "parts")})
        report["file_bytes"] = sum((Path(checkpoint) / f).stat().st_size for f in (CONFIG_FILE, TENSORS_FILE))
        report["source"] = str(checkpoint)
        cfg = model.config
    else:
        problem = "regression" if num_labels == 1 else "classification"
        with torch.device("meta"):
            model = build_student(preset, geometry, num_labels=num_labels, problem_type=problem)
        report = storage_report(model)
        report["source"] = "preset"
        cfg = model.config
    report.update({"preset": cfg.preset, "geometry": cfg.geometry, "layers": cfg.num_hidden_layers,
                   "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads, "ffn": cfg.intermediate_size,
                   "vocab": cfg.vocab_size, "weight_bits": cfg.weight_bits, "act_bits": cfg.act_bits,
                   "kv_bits": cfg.kv_bits, "softmax": cfg.softmax, "norm": cfg.norm})
    return report
