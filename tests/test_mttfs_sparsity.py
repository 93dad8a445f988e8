"""Silent-neuron ratios: the report against direct counts, masks for padded tokens, the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from otters.models import build_student
from otters.nn.qmlp import QuantMLPConfig, random_qmlp
from otters.quant.deadzone import apply_dead_zone
from otters.snn.mttfs import population_names
from otters.snn.mttfs.report import sparsity_report
from otters.snn.mttfs.stats import record_levels, token_mask_fn

torch.set_num_threads(1)


def _mlp(seed=0):
    config = QuantMLPConfig(sizes=[32, 32, 32, 8], act_bits=4, signed_input=True, signed_hidden=True, residual=True)
    gen = torch.Generator().manual_seed(seed)
    calib, x = torch.randn(64, 32, generator=gen), torch.randn(96, 32, generator=gen)
    return random_qmlp(config, calib, seed=seed), calib, x


def _mode(levels: torch.Tensor) -> int:
    values, counts = torch.unique(levels, return_counts=True)
    return int(values[counts == counts.max()].min())


def test_report_matches_direct_counts():
    model, calib, x = _mlp(seed=1)
    report = sparsity_report(model, [x], dead_zones=[0, 2], calibration=[calib])
    plain = model.integer_forward(x)
    calibrated = model.integer_forward(calib)
    dz_model = random_qmlp(model.config, calib, seed=1)
    apply_dead_zone(dz_model, 2, {n: _mode(r.values) for n, r in zip(model.quantizer_names(), calibrated)})
    dz = dz_model.integer_forward(x)
    for p, r, c, z in zip(report.populations, plain, calibrated, dz):
        m = _mode(c.values)
        assert p.silent == m
        assert p.ttfs == pytest.approx(float((r.values == -8).float().mean()))
        assert p.mttfs == pytest.approx(float((r.values == m).float().mean()))
        assert p.dead_zone[2] == pytest.approx(float((z.values == m).float().mean()))
        assert p.neurons == r.values.numel()
    overall = report.overall()
    weights = [p.neurons for p in report.populations]
    assert overall["mttfs"] == pytest.approx(np.average([p.mttfs for p in report.populations], weights=weights))
    assert overall["mttfs"] >= overall["ttfs"]
    assert json.loads(json.dumps(report.to_dict()))["overall"]["neurons"] == sum(p.neurons for p in report.populations)


def test_per_channel_masks_silence_at_least_as_many_neurons_on_their_calibration_data():
    model, calib, _ = _mlp(seed=2)
    layer = sparsity_report(model, [calib], granularity="layer")
    channel = sparsity_report(model, [calib], granularity="channel")
    for a, b in zip(layer.populations, channel.populations):
        assert b.mttfs >= a.mttfs - 1e-12 and isinstance(b.silent, list)


def test_padded_tokens_are_not_counted_and_shared_inputs_count_once():
    torch.manual_seed(0)
    model = build_student("otters-1bitkv", "tiny", num_labels=2, bspn_warmup=2)
    ids = torch.randint(1, 128, (2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    model.train()
    model(input_ids=ids, attention_mask=mask)
    model.eval()
    names = population_names(model)
    with torch.no_grad(), record_levels(model, names, mask_fn=token_mask_fn(mask)) as hists:
        model(input_ids=ids, attention_mask=mask)
    real = int(mask.sum())
    hidden, heads, ffn = 32, 4, 64
    assert hists["bert.layers.0.attn.input_quant"].total == real * hidden  # Q, K, V share one spike train
    assert hists["bert.layers.0.attn.q_quant"].total == real * hidden
    assert hists["bert.layers.0.attn.p_quant"].total == heads * (6 * 6 + 3 * 3)  # real query-key pairs
    assert hists["bert.layers.0.ffn2_in_quant"].total == real * ffn
    assert hists["bert.pooler_quant"].total == 2 * hidden


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "otters.cli.app", "sparsity", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_random_mlp_json_and_errors():
    out = _cli("--random-mlp", "--width", "16", "--depth", "2", "--batch", "64", "--dead-zones", "0,1,3", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [p["name"] for p in data["populations"]] == ["input_quant", "quants.0", "quants.1"]
    assert set(data["overall"]["dead_zone"]) == {"0", "1", "3"}
    ratios = [data["overall"]["dead_zone"][k] for k in ("0", "1", "3")]
    assert ratios == sorted(ratios) and data["overall"]["dead_zone"]["0"] == data["overall"]["mttfs"]
    bad = _cli("--random-mlp", "--dead-zones", "one")
    assert bad.returncode == 2 and bad.stderr.startswith("otters: error: --dead-zones")
    assert "Traceback" not in bad.stderr
    both = _cli("--random-mlp", "--student", "minilm-l6")
    assert both.returncode == 2 and "exactly one" in both.stderr


def test_energy_stats_centre_each_population_on_its_silent_level():
    from otters.studies.sparsity import histogram_firing_stats as _firing_stats

    signed = {"qmin": -8, "qmax": 7, "silent": 2, "dead_zone_histograms": {0: [0] * 8 + [1, 2, 10, 3, 1, 1, 1, 1]}}
    unsigned = {"qmin": 0, "qmax": 15, "silent": 2, "dead_zone_histograms": {0: [1, 3, 20, 4] + [0] * 12}}
    stats = _firing_stats([signed, unsigned], 0, centred=True)
    assert stats.signed4.prob(0) == pytest.approx(10 / 20) and stats.signed4.mttfs_fire(0) == pytest.approx(0.5)
    assert stats.unsigned4.prob(0) == pytest.approx(20 / 28)  # |q - m| folds q = 1 and q = 3 onto 1
    assert stats.unsigned4.prob(1) == pytest.approx(7 / 28)
    raw = _firing_stats([signed, unsigned], 0, centred=False)
    assert raw.signed4.prob(2) == pytest.approx(10 / 20)
