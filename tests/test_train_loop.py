"""The resumable trainer on a toy quantized model: kill at a random step, resume, same result."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from otters.errors import OttersError
from otters.quant import GaussianActivationNoise, LSQQuantizer
from otters.train.checkpoint import read_jsonl
from otters.train.loop import TrainConfig, Trainer, epoch_batches
from otters.train.optim import param_groups
from otters.train.schedule import linear_warmup_decay

torch.set_num_threads(1)


class Toy(nn.Module):
    """Linear -> ReLU -> HAT noise -> 4-bit LSQ -> dropout -> Linear: every stateful piece a trainer must carry."""

    def __init__(self, hat: float = 0.0, dropout: float = 0.0, generator=None):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.noise = GaussianActivationNoise(hat, generator=generator)
        self.quant = LSQQuantizer(4, signed=False)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.drop(self.quant(self.noise(torch.relu(self.fc1(x))))))


def toy_data(n: int = 48, seed: int = 0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g, dtype=dtype)
    y = (x @ torch.randn(6, 3, generator=g, dtype=dtype)).argmax(1)
    return x, y


def toy_trainer(out_dir, cfg, hat=0.3, fail_at=None, dtype=torch.float32, info=None, generator=None):
    torch.manual_seed(123)
    model = Toy(hat=hat, dropout=0.2 if hat else 0.0, generator=generator).to(dtype)
    x, y = toy_data(dtype=dtype)
    xv, yv = toy_data(16, seed=1, dtype=dtype)
    calls = {"n": 0}

    def loss_fn(m, batch):
        calls["n"] += 1
        if fail_at is not None and calls["n"] == fail_at:
            raise KeyboardInterrupt  # stands in for a kill in the middle of step `fail_at`
        return nn.functional.cross_entropy(m(batch["x"]), batch["y"]), {}

    def evaluate(m):
        return {"accuracy": float((m(xv).argmax(1) == yv).float().mean()), "loss": float(nn.functional.cross_entropy(m(xv), yv))}

    def calibrate(m, batch):
        m.eval()
        m(batch["x"])
        m.train()

    trainer = Trainer(model, cfg, out_dir, loss_fn, lambda idx: {"x": x[idx], "y": y[idx]}, len(x),
                      evaluate=evaluate, main_metric="accuracy", calibrate=calibrate, info=info)
    return trainer


def _cfg(**kw):
    base = dict(epochs=2, batch_size=8, lr=1e-2, step_size_lr=1e-2, eval_every=4, checkpoint_every=3,
                log_every=1, seed=7, progress=False, device="cpu", warmup_fraction=0.2)
    base.update(kw)
    return TrainConfig(**base)


def _strip_timing(records):
    return [{k: v for k, v in r.items() if k != "samples_per_s"} for r in records]


@settings(max_examples=4)
@given(kill_at=st.integers(1, 12), private_generator=st.booleans())
def test_kill_and_resume_equals_uninterrupted(tmp_path_factory, kill_at, private_generator):
    cfg = _cfg()
    gen = (lambda: torch.Generator().manual_seed(5)) if private_generator else (lambda: None)
    ref_dir = tmp_path_factory.mktemp("ref")
    ref = toy_trainer(ref_dir, cfg, generator=gen())
    ref_result = ref.fit()
    assert ref_result.step == 12

    run_dir = tmp_path_factory.mktemp("run")
    with pytest.raises(KeyboardInterrupt):
        toy_trainer(run_dir, cfg, fail_at=kill_at, generator=gen()).fit()
    resumed = toy_trainer(run_dir, cfg, generator=gen())  # a fresh process would rebuild the model like this
    result = resumed.fit(resume=True)

    last_checkpoint = (kill_at - 1) // 3 * 3  # checkpoints every 3 steps; none before step 3
    assert result.resumed_from == (last_checkpoint or None)
    for (name, a), (_, b) in zip(ref.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), name
    assert result.last_eval == ref_result.last_eval
    assert (result.best_metric, result.best_step) == (ref_result.best_metric, ref_result.best_step)
    assert _strip_timing(read_jsonl(run_dir / "metrics.jsonl")) == _strip_timing(read_jsonl(ref_dir / "metrics.jsonl"))


def test_existing_run_needs_resume_and_same_settings(tmp_path):
    toy_trainer(tmp_path, _cfg(epochs=1)).fit()
    with pytest.raises(OttersError, match="--resume"):
        toy_trainer(tmp_path, _cfg(epochs=1)).fit()
    with pytest.raises(OttersError, match="lr"):
        toy_trainer(tmp_path, _cfg(epochs=1, lr=0.5)).fit(resume=True)
    again = toy_trainer(tmp_path, _cfg(epochs=1)).fit(resume=True)  # finished: nothing left to do
    assert again.step == 6 and again.resumed_from == 6


def test_checkpoint_files_are_safetensors_and_json(tmp_path):
    toy_trainer(tmp_path, _cfg(epochs=1)).fit()
    ckpt = tmp_path / "checkpoint"
    names = sorted(p.name for p in ckpt.iterdir())
    assert names == ["latest.json", "model-00000006.safetensors", "optim-00000006.safetensors", "rng-00000006.safetensors"]
    meta = json.loads((ckpt / "latest.json").read_text())
    assert meta["step"] == 6 and meta["finished"] is True
    for p in ckpt.glob("*.safetensors"):
        assert not p.read_bytes().startswith(b"\x80")  # not a pickle


def test_lr_schedule_warmup_then_linear_decay():
    total, frac = 10, 0.2  # warm-up 2 steps
    factors = [linear_warmup_decay(s, total, frac) for s in range(total)]
    assert factors[:3] == [0.5, 1.0, 1.0]
    assert factors[-1] == pytest.approx(1 / 8)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:]))


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = np.concatenate(epoch_batches(20, 6, seed=3, epoch=1))
    assert np.array_equal(a, np.concatenate(epoch_batches(20, 6, seed=3, epoch=1)))
    assert sorted(a.tolist()) == list(range(20))
    assert not np.array_equal(a, np.concatenate(epoch_batches(20, 6, seed=3, epoch=2)))
    assert [len(b) for b in epoch_batches(20, 6, 3, 0)] == [6, 6, 6, 2]


def test_param_groups_put_step_sizes_apart():
    cfg = _cfg()
    groups = param_groups(Toy(), cfg.lr, cfg.weight_decay, cfg.step_size_lr)
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0, 0.0]
    assert groups[2]["base_lr"] == _cfg().step_size_lr and len(groups[2]["params"]) == 1
    assert len(groups[0]["params"]) == 2 and len(groups[1]["params"]) == 2


def test_training_improves_the_toy(tmp_path):
    result = toy_trainer(tmp_path, _cfg(epochs=8), hat=0.0).fit()
    losses = [r["loss"] for r in read_jsonl(tmp_path / "metrics.jsonl") if "loss" in r]
    assert np.mean(losses[-6:]) < np.mean(losses[:6])
    assert result.best_metric is not None and result.best_step is not None
