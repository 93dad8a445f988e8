"""The BERT student on a tiny geometry: presets, gradients, the exact integer inference path."""

import pytest
import torch

from otters.errors import OttersError
from otters.models import PRESETS, build_student, make_config, record_stages, spiking_stages
from otters.quant import potential_from_accumulator

torch.set_num_threads(1)
QUANTIZED = [p for p in PRESETS if p != "bert-fp"]


def _calibrated(preset, seed=0, **overrides):
    torch.manual_seed(seed)
    model = build_student(preset, "tiny", bspn_warmup=2, **overrides)
    ids = torch.randint(1, 128, (4, 12))
    model.train()
    for _ in range(3):  # initialises every LSQ step and moves BSPN past its warm-up
        model(ids)
    return model.eval()


@pytest.mark.parametrize("preset", list(PRESETS))
def test_forward_backward_every_preset(preset):
    torch.manual_seed(0)
    model = build_student(preset, "tiny", hat_noise=0.1 if preset != "bert-fp" else 0.0).train()
    ids = torch.randint(0, 128, (3, 9))
    mask = torch.ones_like(ids)
    mask[2, 5:] = 0
    out = model(ids, mask, output_attentions=True)
    cfg = model.config
    assert out.logits.shape == (3, 2)
    assert len(out.hidden_states) == cfg.num_hidden_layers + 1
    assert all(h.shape == (3, 9, cfg.hidden_size) for h in out.hidden_states)
    assert len(out.attention_scores) == cfg.num_hidden_layers
    assert out.attention_scores[0].shape == (3, cfg.num_attention_heads, 9, 9)
    loss = out.logits.pow(2).sum() + sum(h.pow(2).mean() for h in out.hidden_states)
    loss.backward()
    for name, p in model.named_parameters():
        if p.requires_grad and not name.endswith("token_type.weight"):  # only type 0 is used here
            assert p.grad is not None, f"no gradient reaches {name}"
    if preset != "bert-fp":
        # every quantizer step gets a gradient (LSQ), and every latent binary weight (STE)
        assert model.bert.layers[0].attn.k_quant.alpha.grad is not None
        assert float(model.bert.layers[0].attn.query.weight.grad.abs().sum()) > 0


def test_one_bit_kv_are_signs():
    model = _calibrated("otters-1bitkv")
    attn = model.bert.layers[0].attn
    assert attn.k_quant.sign_mode and attn.v_quant.sign_mode and not attn.q_quant.sign_mode
    with record_stages(model) as records, torch.no_grad():
        model(torch.randint(1, 128, (2, 6)))
    k_levels = dict((name, w) for name, _, w, _ in records)["layers.0.attn.qk"]
    assert set(k_levels.unique().tolist()) <= {-1, 1}


@pytest.mark.parametrize("preset", QUANTIZED)
def test_eval_is_deterministic_and_padding_invariant(preset):
    model = _calibrated(preset)
    torch.manual_seed(5)
    short = torch.randint(1, 128, (3, 7))
    padded = torch.cat([short, torch.randint(1, 128, (3, 4))], dim=1)  # junk tokens behind the mask
    mask = torch.cat([torch.ones(3, 7, dtype=torch.long), torch.zeros(3, 4, dtype=torch.long)], dim=1)
    with torch.no_grad():
        a, b, c = model(short), model(padded, mask), model(padded, mask)
    assert torch.equal(b.logits, c.logits)
    assert torch.equal(a.logits, b.logits)
    for x, y in zip(a.hidden_states, b.hidden_states):
        assert torch.equal(x, y[:, :7])


@pytest.mark.parametrize("preset", ["qnn-w1a4", "otters-1bitkv"])
def test_eval_goes_through_exact_integer_stages(preset):
    model = _calibrated(preset)
    stages = spiking_stages(model)
    assert len(stages) == 8 * model.config.num_hidden_layers + 1
    with record_stages(model) as records, torch.no_grad():
        out = model(torch.randint(1, 128, (2, 6)))
    assert [r[0] for r in records] == [s.name for s in stages]
    for name, levels_in, weight_levels, acc in records:
        exact = levels_in.to(torch.int64) @ weight_levels.to(torch.int64).transpose(-1, -2)
        assert torch.equal(acc.to(torch.int64), exact), name
    # the pooler's potential is the shared affine map of its integer accumulator
    pooler = stages[-1]
    _, levels_in, _, acc = records[-1]
    expected = torch.relu(potential_from_accumulator(acc, pooler.weight_scale(), pooler.input_quant.alpha.detach(),
                                                     pooler.linear.bias.detach()))
    assert torch.equal(out.pooled, expected)


def test_stage_hook_replaces_accumulation():
    model = _calibrated("sorbet")
    ids = torch.randint(1, 128, (2, 6))
    with torch.no_grad():
        reference = model(ids).logits
        stage = spiking_stages(model)[0]
        stage.set_accumulator(lambda lv, w: torch.zeros(*lv.shape[:-1], w.shape[-2]))
        changed = model(ids).logits
        stage.set_accumulator(None)
        restored = model(ids).logits
    assert not torch.equal(reference, changed)
    assert torch.equal(reference, restored)


def test_train_and_eval_forwards_agree_closely():
    model = _calibrated("qnn-w1a4", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ids = torch.randint(1, 128, (2, 8))
    with torch.no_grad():
        eval_logits = model(ids).logits
        train_logits = model.train()(ids).logits  # fake-quant float path (no dropout, no noise)
    torch.testing.assert_close(train_logits, eval_logits, rtol=1e-3, atol=1e-3)


def test_regression_head_and_bad_configs():
    model = build_student("sorbet", "tiny", num_labels=1, problem_type="regression")
    assert model(torch.randint(0, 128, (2, 4))).logits.shape == (2, 1)
    with pytest.raises(OttersError):
        make_config("nope", "tiny")
    with pytest.raises(OttersError):
        make_config("sorbet", "no-such-geometry")
    with pytest.raises(OttersError):
        make_config("sorbet", "tiny", num_attention_heads=5)
    with pytest.raises(OttersError):
        make_config("sorbet", "tiny", problem_type="regression")  # needs num_labels=1
    with pytest.raises(OttersError):
        spiking_stages(build_student("bert-fp", "tiny"))
    with pytest.raises(OttersError):
        build_student("sorbet", "tiny")(torch.zeros(1, 65, dtype=torch.long))
