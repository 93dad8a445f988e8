"""The coding of a distilled student (Matterhorn's M-TTFS and dead zone), and fine-tuning from a checkpoint.

Source: Matterhorn (arXiv 2601.22876): the silent state goes to the most frequent level, calibrated
on the data distribution; a dead zone silences the levels within k of it and, being lossy, is trained
with (docs/matterhorn.md sections 3-4). What ``otters distill --coding ttfs|mttfs --dead-zone K`` does
to the final stage of the plan:

1. on the stage's first global batch, exactly where a plain run calibrates (LSQ steps start from it),
   the usual calibration forward runs; then, for "mttfs", the silent level of every population and of
   the stored K / V is calibrated on ``calibration_rows`` seeded training sentences (the QNN's integer
   inference, per layer, padded tokens excluded), from this initial student of the stage;
2. ``configure_coding`` gives the firing populations the dead zone around those levels (for "ttfs":
   around qmin); training then runs through it (straight-through, ``otters.quant.deadzone``);
3. the coding is written to the stage folder (``coding.json``: a resumed run re-applies it rather than
   recalibrating) and beside every exported checkpoint.

``--init CKPT`` starts the (single) stage from a packed student checkpoint instead of the teacher:
its binary layers are unfrozen with latent weights codes x scale, whose binarisation gives the same
codes and the scale mean|W| = scale up to the float32 rounding of that mean, so training starts
from the checkpoint's function.
"""

from __future__ import annotations

from pathlib import Path

import torch

from otters.coding.mttfs import check_dead_zone
from otters.data.splits import seeded_indices
from otters.data.tokenize import bucketed_batches, collate
from otters.errors import OttersError
from otters.quant.deadzone import dead_zone_state
from otters.snn.mttfs import CODINGS, calibrate_silent, configure_coding, model_coding, save_coding

DEFAULT_CALIBRATION_ROWS = 256


def check_coding(coding: str, dead_zone: int, preset: str | None) -> tuple[str, int]:
    """Validated (coding, dead_zone); bert-fp has no spiking populations to code."""
    if coding not in CODINGS:
        raise OttersError(f"--coding must be one of {', '.join(CODINGS)}, got {coding!r}")
    k = check_dead_zone(dead_zone)
    if preset == "bert-fp" and (coding != "ttfs" or k):
        raise OttersError("--coding / --dead-zone need a spiking preset (otters-1bitkv, ...), not bert-fp")
    return coding, k


def is_coded(coding: str, dead_zone: int) -> bool:
    return coding != "ttfs" or dead_zone > 0


def calibration_batches(encoded, rows: int, seed: int, batch_size: int = 32) -> list[dict]:
    """A seeded subset of ``rows`` encoded training sentences as length-bucketed batches."""
    if rows < 1:
        raise OttersError(f"--calibration-rows must be >= 1, got {rows}")
    keep = seeded_indices(len(encoded), rows, seed)
    return [collate(encoded, keep[pos]) for pos in bucketed_batches(encoded.lengths[keep], batch_size, shuffle=False)]


def coding_prepare(coding: str, dead_zone: int, calibration, stage_dir: Path, is_main: bool, calibrate):
    """The Trainer's ``calibrate`` hook of a coded stage: the usual ``calibrate(model, first_batch)``,
    then silent-level calibration (M-TTFS) and the dead zone (module docstring), saved to ``stage_dir``."""

    def prepare(model, first):
        calibrate(model, first)
        silent = "zero"
        if coding == "mttfs":
            device = next(model.parameters()).device
            batches = [{k: b[k].to(device) for k in ("input_ids", "attention_mask", "token_type_ids")}
                       for b in calibration]
            with torch.no_grad():
                silent = calibrate_silent(model, batches)
        configure_coding(model, coding, dead_zone, silent=silent)
        if is_main:
            stage_dir.mkdir(parents=True, exist_ok=True)
            save_coding(model, stage_dir, coding)

    return prepare


def save_coding_if_any(model, directory) -> None:
    """``coding.json`` beside a checkpoint when the model carries a coding (plain TTFS writes nothing)."""
    if model_coding(model) != "ttfs" or dead_zone_state(model):
        save_coding(model, directory)
