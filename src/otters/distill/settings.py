"""The settings of a distillation run, in one form from the command line (or a pipeline profile) to
the trainer: ``otters distill`` and ``otters run`` build a :class:`DistillSettings`, the run checks it,
records it in ``distill.json`` (compared on ``--resume``) and derives each stage's ``TrainConfig``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from otters.distill.coding import DEFAULT_CALIBRATION_ROWS, check_coding, is_coded
from otters.distill.loss import DistillWeights
from otters.errors import OttersError
from otters.train.loop import TrainConfig

DEFAULT_PRESET = "otters-1bitkv"

# Settings added after runs were recorded: a recorded run without them had these values (resume check).
LATER_DEFAULTS = {"coding": "ttfs", "dead_zone": 0, "init": None, "calibration_rows": DEFAULT_CALIBRATION_ROWS,
                  "teacher_cache": False, "fused_quantizers": False,
                  "transfer": None, "transfer_rows": None}


@dataclass
class DistillSettings:
    """Everything that defines a distillation run's result (the recipe: module ``otters.distill.run``).

    ``preset`` None: the ``init`` checkpoint's preset, else :data:`DEFAULT_PRESET`. ``hat``: relative
    std of the hardware-aware-training noise (0.1 = HAT1, 0.2 = HAT2). ``train_rows`` / ``eval_rows``:
    seeded subsets. ``coding`` / ``dead_zone`` / ``calibration_rows``: Matterhorn's coding of the final
    stage (``otters.distill.coding``); ``init``: fine-tune this student checkpoint (one stage).
    ``teacher_cache``: read the frozen teacher's stored outputs (``otters.distill.teacher_cache``;
    float16 targets) instead of running it on every step. ``fused_quantizers``: train through the
    compiled LSQ kernels of ``otters.quant.lsq_fused`` (same forward values; gradients equal up to
    float rounding, so recorded: a run resumes only with the setting it started with).
    ``transfer`` / ``transfer_rows``: unlabelled in-domain text added to the training rows (a source of
    ``otters.data.transfer``, optionally a seeded subset of it); the teacher's outputs are its targets.
    """

    task: str
    preset: str | None = None
    stages: str = "staged"
    hat: float = 0.0
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32
    lr: float = 2e-4  # the recipe of every student that learned (docs/training.md, section 9)
    step_size_lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    eval_every: int = 100
    max_len: int | None = None
    seed: int = 0
    train_rows: int | None = None
    eval_rows: int | None = None
    weights: DistillWeights = field(default_factory=DistillWeights)
    coding: str = "ttfs"
    dead_zone: int = 0
    init: str | None = None
    calibration_rows: int = DEFAULT_CALIBRATION_ROWS
    teacher_cache: bool = True
    fused_quantizers: bool = False
    transfer: str | None = None
    transfer_rows: int | None = None

    def checked(self, task: str, preset: str) -> DistillSettings:
        """A copy with the canonical task name and ``preset`` resolved, validated (OttersError if not)."""
        if not 0.0 <= float(self.hat) <= 1.0:
            raise OttersError(f"--hat is a relative noise std in [0, 1] (0.1 = HAT1, 0.2 = HAT2), got {self.hat}")
        coding, dead_zone = check_coding(self.coding, self.dead_zone, preset)
        return replace(self, task=task, preset=preset, hat=float(self.hat), coding=coding, dead_zone=dead_zone,
                       init=None if self.init is None else str(self.init),
                       calibration_rows=int(self.calibration_rows) if coding == "mttfs" else DEFAULT_CALIBRATION_ROWS)

    @property
    def coded(self) -> bool:
        return is_coded(self.coding, self.dead_zone)

    def default_out(self) -> Path:
        """``runs/distill-<task>-<preset>[-hat<h>][-<coding>-dz<k>]-seed<s>``."""
        hat = f"-hat{self.hat:g}" if self.hat else ""
        coded = f"-{self.coding}-dz{self.dead_zone}" if self.coded else ""
        return Path("runs") / f"distill-{self.task}-{self.preset}{hat}{coded}-seed{self.seed}"

    def train_config(self, index: int, progress: bool, device: str) -> TrainConfig:
        """The trainer's settings of stage ``index`` (1-based; each stage has its own seed)."""
        return TrainConfig(epochs=self.epochs, max_steps=self.max_steps, batch_size=self.batch_size, lr=self.lr,
                           step_size_lr=self.step_size_lr, weight_decay=self.weight_decay,
                           warmup_fraction=self.warmup_fraction, eval_every=self.eval_every,
                           seed=self.seed + 1000 * index, progress=progress, device=device)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["weights"] = self.weights.to_dict()
        return d
