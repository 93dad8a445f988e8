"""Proposition 1 made bit-exact: random QNN MLPs on random device curves, both simulators.

The SNN's decoded spike times must equal the QNN's integer levels (and its digital readouts the
QNN's potentials, bit for bit), every neuron must fire at most once, and the two simulators must
agree spike for spike.
"""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters import convert, verify
from otters.device import PAPER_CURVE, SampledCurve, StretchedExponential
from otters.nn.qmlp import QuantMLPConfig, random_qmlp

torch.set_num_threads(1)


@st.composite
def curves(draw, min_beta=0.3):
    """A random normalised decaying device: stretched exponential (O(0) = 1, reaches 0) or samples of one."""
    I0 = draw(st.floats(1.5, 200.0))
    curve = StretchedExponential(I0=I0, tau=draw(st.floats(0.05, 20.0)), beta=draw(st.floats(min_beta, 1.0)), I_offset=1.0 - I0)
    if draw(st.booleans()):
        return curve
    zero = float(curve.inverse(0.0))  # the time the output reaches 0
    # Measured past the zero crossing (a tail sample at 3x), as a real decay recording would be.
    grid = np.geomspace(zero * 1e-7, zero * 1.3, draw(st.integers(40, 120)))
    t = np.concatenate([[0.0], grid, [zero * 3.0]])
    return SampledCurve(t, curve(t))


@st.composite
def qmlps(draw, max_width, max_depth, max_bits):
    """(QuantMLP, inputs): random geometry, bits, signedness, residuals, weights, alphas."""
    depth = draw(st.integers(1, max_depth))
    choices = [draw(st.integers(1, max_width)), draw(st.integers(1, max_width))]
    sizes = [draw(st.sampled_from(choices)) for _ in range(depth + 1)]  # equal neighbours -> residuals
    config = QuantMLPConfig(
        sizes=sizes,
        act_bits=draw(st.integers(1, max_bits)),
        weight_bits=draw(st.sampled_from([1, 1, 2, 4])),
        signed_input=draw(st.booleans()),
        signed_hidden=draw(st.booleans()),
        residual=draw(st.booleans()),
        quantize_output=draw(st.booleans()),
        bias=draw(st.booleans()),
    )
    seed = draw(st.integers(0, 2**20))
    x = torch.randn(draw(st.integers(1, 6)), sizes[0], generator=torch.Generator().manual_seed(seed))
    return random_qmlp(config, x, seed=seed), x


def assert_lossless(result):
    """Decoded levels and read-out potentials equal the QNN's bit for bit; at most one spike per neuron."""
    assert result.exact, result.to_dict()
    assert result.max_level_diff == 0 and result.max_potential_diff == 0.0
    assert result.max_spikes_per_neuron <= 1


def assert_simulators_agree(snn, x):
    """The event and tick simulators agree spike for spike: values, steps and (M-TTFS) polarities."""
    event, tick = snn.run(x, "event"), snn.run(x, "tick")
    for a, b in zip(event.records, tick.records):
        assert a.name == b.name
        assert torch.equal(a.values, b.values)
        if a.steps is not None:
            assert torch.equal(a.steps, b.steps)
        if getattr(a, "polarity", None) is not None:
            assert torch.equal(a.polarity, b.polarity)


@settings(max_examples=50)
@given(case=qmlps(max_width=512, max_depth=6, max_bits=8), curve=curves())
def test_event_simulator_is_lossless(case, curve):
    qnn, x = case
    result = verify(qnn, convert(qnn, curve), x, simulator="event")
    assert_lossless(result)


@settings(max_examples=25)
@given(case=qmlps(max_width=24, max_depth=4, max_bits=5), curve=curves(min_beta=0.45))
def test_tick_reference_is_lossless_and_agrees_with_event(case, curve):
    qnn, x = case
    snn = convert(qnn, curve)
    assert_lossless(verify(qnn, snn, x, simulator="tick"))
    assert_simulators_agree(snn, x)


def test_tick_reference_at_eight_bits_on_the_paper_device():
    """T = 255: the longest window (about 6.5e4 clock ticks on the paper's curve), one small model."""
    config = QuantMLPConfig(sizes=[12, 12, 8], act_bits=8, signed_input=True, residual=True)
    x = torch.randn(3, 12, generator=torch.Generator().manual_seed(5))
    qnn = random_qmlp(config, x, seed=5)
    snn = convert(qnn, PAPER_CURVE)
    assert int(snn.tables().ticks(255)[0][-1]) > 10_000
    assert_lossless(verify(qnn, snn, x, simulator="tick"))


def test_event_simulator_at_full_size():
    """The acceptance geometry's corner: 6 layers of 512, 8-bit signed activations, residuals, 4-bit weights."""
    config = QuantMLPConfig(sizes=[512] * 7, act_bits=8, weight_bits=4, signed_input=True, signed_hidden=True, residual=True)
    x = torch.randn(4, 512, generator=torch.Generator().manual_seed(11))
    qnn = random_qmlp(config, x, seed=11)
    assert_lossless(verify(qnn, convert(qnn), x, simulator="event"))
