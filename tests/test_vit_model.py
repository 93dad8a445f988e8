"""The spiking ViT (otters.vit.model) and its training / checkpoint / CLI layer, on tiny inputs."""

import json

import pytest
import torch

from otters.errors import OttersError
from otters.train.schedule import warmup_cosine
from otters.vit.data import ImageData
from otters.vit.energy import energy_per_image
from otters.vit.experiment import run_experiment
from otters.vit.model import OpStats, SpikingViT, ViTConfig
from otters.vit.train import TrainSettings, evaluate_vit, load_vit, save_vit

TINY = dict(image_size=8, in_channels=1, num_classes=3, dim=8, depth=1, heads=2, mlp_ratio=2, T=2, pool_stages=1)


@pytest.mark.parametrize("attention", ["seed", "paper", "binary", "ann"])
def test_tiny_forward_backward(attention):
    torch.manual_seed(0)
    model = SpikingViT(ViTConfig(attention=attention, **TINY))
    x = torch.randn(4, 1, 8, 8) * 3
    logits = model(x)
    assert logits.shape == (4, 3)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # the surrogate gradients reach the first convolution through every spiking stage
    assert model.patch.convs[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("attention", ["seed", "paper", "binary", "ann"])
def test_stats_rates_and_op_kinds(attention):
    torch.manual_seed(0)
    model = SpikingViT(ViTConfig(attention=attention, **TINY))
    stats = OpStats()
    with torch.no_grad():
        model.train()(torch.randn(4, 1, 8, 8) * 3, stats)
    summary = stats.summary()
    assert all(0.0 <= r <= 1.0 for r in summary["firing_rates"].values())
    assert stats.images == 4 and stats.macs > 0 and stats.acs > 0
    if attention == "ann":
        assert stats.attn_acs == 0 and stats.attn_macs > 0
    else:
        assert stats.attn_macs == 0  # addition-only attention


def test_config_validation():
    with pytest.raises(OttersError):
        ViTConfig(dim=10, heads=4).validate()
    with pytest.raises(OttersError):
        ViTConfig(image_size=30).validate()
    with pytest.raises(OttersError):
        ViTConfig(attention="linear").validate()
    with pytest.raises(OttersError):
        ViTConfig.from_dict({"dim": 8, "colour": "red"})
    model = SpikingViT(ViTConfig(**TINY))
    with pytest.raises(OttersError, match="expected images"):
        model(torch.zeros(2, 3, 8, 8))


def test_lr_schedule_warmup_then_cosine():
    total = 100
    assert warmup_cosine(0, total, 0.05) == pytest.approx(1 / 5)
    assert warmup_cosine(4, total, 0.05) == pytest.approx(1.0)
    assert warmup_cosine(5, total, 0.05) == pytest.approx(1.0)
    assert warmup_cosine(total - 1, total, 0.05) < 0.01


def test_energy_formula():
    from otters.energy import load_table

    e = energy_per_image(1000, 10)
    assert e["pJ"] == pytest.approx(1000 * 0.9 + 10 * 4.6)
    # 22 nm: priced from otters.energy's table, not from constants in the ViT code
    table = load_table("22nm")
    e_ac, e_mac = table.op_pj("adds", "fp32"), table.op_pj("mults", "fp32") + table.op_pj("adds", "fp32")
    e22 = energy_per_image(1000, 10, "22nm")
    assert e22["pJ"] == pytest.approx(1000 * e_ac + 10 * e_mac) and e22["pJ"] < e["pJ"]
    assert (e22["e_ac_pJ"], e22["e_mac_pJ"]) == pytest.approx((e_ac, e_mac))
    with pytest.raises(OttersError):
        energy_per_image(1000, 10, "7nm-does-not-exist")


def _tiny_data(n=24):
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    # class-dependent brightness so that a few steps can learn something
    x = (torch.rand(n, 1, 8, 8, generator=gen) * 60 + y.view(-1, 1, 1, 1) * 80).to(torch.uint8)
    return ImageData("tiny", x, y, x[:6], y[:6], x[:9], y[:9], ["a", "b", "c"])


def test_experiment_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    data = _tiny_data()
    geometry = {k: TINY[k] for k in ("dim", "depth", "heads")}
    summary = run_experiment(data, "seed", 2, TrainSettings(epochs=1, batch_size=8, budget_s=None), [0, 1], tmp_path,
                             **geometry)
    assert len(summary["runs"]) == 2 and 0.0 <= summary["test_accuracy_mean"] <= 1.0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["test_accuracy_mean"] == summary["test_accuracy_mean"]
    model, meta = load_vit(tmp_path / "seed1")
    again = evaluate_vit(model, data.test_x, data.test_y, torch.tensor(meta["mean"]), torch.tensor(meta["std"]))
    assert again["accuracy"] == summary["runs"][1]["test_accuracy"]
    with pytest.raises(OttersError):
        load_vit(tmp_path / "nothing-here")


def test_save_load_identical_logits(tmp_path):
    torch.manual_seed(3)
    model = SpikingViT(ViTConfig(attention="paper", **TINY)).eval()
    save_vit(tmp_path, model, _tiny_data())
    loaded, _ = load_vit(tmp_path / "model.safetensors")
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_cli_errors_are_one_line(capsys):
    from otters.cli.app import main

    with pytest.raises(SystemExit) as exc:
        main(["vit", "train", "--data", "digits", "--attention", "nope", "--epochs", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("otters: error: unknown attention")


def test_threads_zero_means_every_available_core():
    import os

    from otters.cli.vit_cmd import _threads

    before = torch.get_num_threads()
    try:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        assert _threads(0) == cores and torch.get_num_threads() == cores
        assert _threads(1) == 1 and torch.get_num_threads() == 1
        with pytest.raises(OttersError, match="--threads must be >= 0"):
            _threads(-1)
    finally:
        torch.set_num_threads(before)
