"""M-TTFS conversion is lossless, and with a dead zone equals the dead-zone QNN, bit for bit.

Random QNN MLPs (depth, widths, residuals, signed/unsigned inputs and hidden layers, bits 1..8,
1/2/4-bit weights) on random device curves; per-layer and per-channel masks calibrated on data;
both simulators, which must also agree spike for spike (steps and polarities); at most one spike
per neuron.
"""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters import convert, verify
from otters.device import PAPER_CURVE
from otters.nn.qmlp import QuantMLPConfig, random_qmlp
from otters.quant.deadzone import apply_dead_zone
from otters.snn import draw_variation
from test_snn_exact import assert_lossless, assert_simulators_agree, curves, qmlps

torch.set_num_threads(1)


@settings(max_examples=40)
@given(case=qmlps(max_width=256, max_depth=5, max_bits=8), curve=curves(), granularity=st.sampled_from(["layer", "channel"]))
def test_mttfs_event_simulator_is_lossless(case, curve, granularity):
    qnn, x = case
    snn = convert(qnn, curve, coding="mttfs", calibration=x, granularity=granularity)
    assert_lossless(verify(qnn, snn, x, simulator="event"))


@settings(max_examples=20)
@given(case=qmlps(max_width=20, max_depth=3, max_bits=5), curve=curves(min_beta=0.45),
       granularity=st.sampled_from(["layer", "channel"]))
def test_mttfs_tick_reference_is_lossless_and_agrees_with_event(case, curve, granularity):
    qnn, x = case
    snn = convert(qnn, curve, coding="mttfs", calibration=x, granularity=granularity)
    assert_lossless(verify(qnn, snn, x, simulator="tick"))
    assert_simulators_agree(snn, x)


@settings(max_examples=30)
@given(case=qmlps(max_width=128, max_depth=4, max_bits=8), dead_zone=st.integers(1, 5), seed=st.integers(0, 99),
       coding=st.sampled_from(["mttfs", "ttfs"]))
def test_dead_zone_snn_equals_the_dead_zone_qnn(case, dead_zone, seed, coding):
    qnn, x = case
    # silent levels drawn at random within each range: the design must not rely on m = 0 or m = qmin
    gen = torch.Generator().manual_seed(seed)
    silent = {}
    for name, q in qnn.named_modules():
        if hasattr(q, "qmin") and name in qnn.quantizer_names() and not q.sign_mode:
            silent[name] = int(torch.randint(q.qmin, q.qmax + 1, (), generator=gen))
    apply_dead_zone(qnn, dead_zone, silent, names=list(silent))
    snn = convert(qnn, coding=coding, calibration=x)
    assert_lossless(verify(qnn, snn, x, simulator="event"))


@settings(max_examples=10)
@given(case=qmlps(max_width=16, max_depth=3, max_bits=4), dead_zone=st.integers(1, 3))
def test_dead_zone_tick_reference_agrees(case, dead_zone):
    qnn, x = case
    apply_dead_zone(qnn, dead_zone)
    snn = convert(qnn, coding="mttfs", calibration=x)
    assert_lossless(verify(qnn, snn, x, simulator="tick"))
    assert_simulators_agree(snn, x)


def _mlp(seed=0, **kw):
    config = QuantMLPConfig(**{"sizes": [24, 24, 24, 8], "act_bits": 4, "signed_input": True, "residual": True, **kw})
    x = torch.randn(64, config.sizes[0], generator=torch.Generator().manual_seed(seed))
    return random_qmlp(config, x, seed=seed), x


def test_mttfs_silences_the_mode_where_ttfs_fires():
    """Signed activations: the offset code fires for almost every neuron, M-TTFS silences the mode."""
    qnn, x = _mlp(seed=4, signed_hidden=True)
    plain = verify(qnn, convert(qnn), x)
    masked = verify(qnn, convert(qnn, coding="mttfs", calibration=x), x)
    assert plain.exact and masked.exact
    for p, m in zip(plain.layers, masked.layers):
        if p.kind == "levels":
            assert m.sparsity >= p.sparsity  # the mode is at least as frequent as the lowest level
    assert masked.layers[0].sparsity > plain.layers[0].sparsity + 0.1


def test_verify_catches_a_dead_zone_snn_against_the_plain_qnn():
    """The check is not vacuous: a dead-zone SNN differs from the plain QNN it came from."""
    qnn, x = _mlp(seed=6)
    plain_levels = [r.values.clone() for r in qnn.integer_forward(x)]
    apply_dead_zone(qnn, 2)
    snn = convert(qnn, coding="mttfs", calibration=x)
    dz_levels = [r.values for r in qnn.integer_forward(x)]
    assert any(not torch.equal(a, b) for a, b in zip(plain_levels, dz_levels))
    assert verify(qnn, snn, x).exact
    apply_dead_zone(qnn, 0)  # back to the plain QNN: the dead-zone SNN no longer matches it
    result = verify(qnn, snn, x)
    assert not result.exact and result.first_inexact == "input_quant"


def test_mttfs_at_eight_bits_on_the_paper_device_tick():
    config = QuantMLPConfig(sizes=[10, 10, 6], act_bits=8, signed_input=True, signed_hidden=True, residual=True)
    x = torch.randn(3, 10, generator=torch.Generator().manual_seed(5))
    qnn = random_qmlp(config, x, seed=5)
    snn = convert(qnn, PAPER_CURVE, coding="mttfs", calibration=x, granularity="channel")
    assert_lossless(verify(qnn, snn, x, simulator="tick"))


def test_drawn_chip_is_lossy_and_both_simulators_still_agree():
    qnn, x = _mlp(seed=8, signed_hidden=True)
    snn = convert(qnn, coding="mttfs", calibration=x[:32])
    chip = draw_variation(PAPER_CURVE, 0.2, 0.2, 0.2, seed=3)
    event, tick = verify(qnn, snn, x[:8], "event", chip), verify(qnn, snn, x[:8], "tick", chip)
    assert not event.exact and not event.nominal_device
    assert [c.to_dict() for c in event.layers] == [c.to_dict() for c in tick.layers]


def test_ttfs_coding_with_a_dead_zone_keeps_qmin_elsewhere():
    qnn, x = _mlp(seed=9)
    apply_dead_zone(qnn, 1, names=["quants.0"])  # around level 0 of an unsigned population (= qmin)
    snn = convert(qnn, coding="ttfs")
    pops = snn.populations()
    assert int(pops["input_quant"].silent) == -8 and pops["layers.0"].dead_zone == 1
    assert_lossless(verify(qnn, snn, x))
