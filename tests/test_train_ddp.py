"""Two CPU processes (gloo, loopback) train to the same parameters as one process on the same global batches."""

import numpy as np
import pytest
import torch

from otters.io import load_tensors, save_tensors
from otters.train import ddp
from otters.train.loop import TrainConfig

torch.set_num_threads(1)


def _cfg():
    return TrainConfig(epochs=2, batch_size=8, lr=1e-2, step_size_lr=1e-2, eval_every=5, checkpoint_every=100,
                       log_every=2, seed=11, progress=False, device="cpu", warmup_fraction=0.25)


def _run(out_dir, info=None):
    from test_train_loop import toy_trainer

    trainer = toy_trainer(out_dir, _cfg(), hat=0.0, dtype=torch.float64, info=info)
    trainer.fit()
    return trainer


def _worker(out_dir: str, result_path: str) -> None:
    torch.set_num_threads(1)
    info = ddp.init_distributed(device="cpu")
    try:
        trainer = _run(out_dir, info)
        if info.is_main:
            save_tensors(result_path, trainer.model.state_dict())
    finally:
        ddp.shutdown(info)


def test_two_process_gloo_equals_single_process(tmp_path):
    single = _run(tmp_path / "single")
    ddp.spawn_local(_worker, 2, (str(tmp_path / "ddp"), str(tmp_path / "ddp.safetensors")))
    distributed = load_tensors(tmp_path / "ddp.safetensors")
    reference = single.model.state_dict()
    assert set(distributed) == set(reference)
    start = {k: v.clone() for k, v in _fresh_state().items()}
    for name, value in reference.items():
        assert distributed[name].dtype == torch.float64 or name.endswith("initialized")
        assert torch.allclose(distributed[name].to(value.dtype), value, rtol=0, atol=1e-6), name
    moved = max(float((reference[k].double() - start[k].double()).abs().max()) for k in reference)
    assert moved > 1e-3  # the runs really trained


def _fresh_state():
    from test_train_loop import Toy

    torch.manual_seed(123)
    return Toy().to(torch.float64).state_dict()


def test_shard_and_loss_weight_reconstruct_the_global_mean():
    rows = np.arange(7)
    parts = [ddp.shard(rows, r, 3) for r in range(3)]
    assert np.array_equal(np.concatenate(parts), rows)
    values = np.random.default_rng(0).normal(size=7)
    weighted = [values[p].mean() * ddp.loss_weight(len(p), 7, 3) for p in parts]
    assert np.mean(weighted) == pytest.approx(values.mean())
