"""Firing populations against the quantizer (rounding ties included), traces, device variation."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otters import convert, verify
from otters.device import PAPER_CURVE
from otters.nn.qmlp import QuantMLPConfig, random_qmlp
from otters.quant import LSQQuantizer
from otters.snn import DeviceVariation, FiringPopulation, draw_variation, population_from_quantizer

torch.set_num_threads(1)


@settings(max_examples=40)
@given(bits=st.integers(1, 8), signed=st.booleans(), alpha=st.floats(1e-3, 1e3), seed=st.integers(0, 2**20))
def test_population_fires_the_quantizer_levels_including_ties(bits, signed, alpha, seed):
    q = LSQQuantizer(bits, signed)
    with torch.no_grad():
        q.alpha.fill_(alpha)
        q.initialized.fill_(True)
    pop = population_from_quantizer(q, "q")
    gen = torch.Generator().manual_seed(seed)
    span = (q.qmax - q.qmin) + 4
    halves = (torch.randint(-2 * span, 2 * span, (200,), generator=gen).float() + 0.5) * q.alpha.detach()
    wide = torch.randn(200, generator=gen) * span * q.alpha.detach()
    edges = torch.tensor([0.0, -0.0, 1e-30, -1e-30])
    v = torch.cat([halves, wide, edges])  # exact .5 multiples: where half-to-even would disagree
    steps = pop.fire(v)
    assert steps.min() >= 0 and steps.max() <= pop.T
    assert torch.equal(pop.decode(steps), q.levels(v))
    assert torch.equal(pop.encode(q.levels(v)), steps)


def test_general_threshold_search_matches_first_crossing():
    """Non-uniform thresholds take the searchsorted path; compare with a literal first-crossing scan."""
    thresholds = torch.tensor([9.0, 6.0, 6.0, 2.5, -1.0, -4.0, -4.5])
    pop = FiringPopulation("odd", 3, torch.tensor(0.7), 0, 7, 1, 0, 0.5, thresholds)
    assert not pop.uniform
    v = torch.linspace(-6, 9, 301)
    y = pop.normalised(v)
    expected = torch.full(v.shape, pop.T)
    for i, value in enumerate(y.tolist()):
        expected[i] = next((k for k, th in enumerate(thresholds.tolist()) if value >= th), pop.T)
    assert torch.equal(pop.fire(v), expected)


def test_traces_count_spikes_events_and_histogram():
    config = QuantMLPConfig(sizes=[20, 30, 10], act_bits=3, residual=False)
    x = torch.randn(5, 20, generator=torch.Generator().manual_seed(1))
    qnn = random_qmlp(config, x, seed=1)
    snn = convert(qnn)
    result = snn.run(x)
    traces = result.traces
    assert [t.name for t in traces] == ["input_quant", "layers.0", "layers.1"]
    assert [t.fan_out for t in traces] == [30, 10, 0]
    for record, trace in zip(result.records, traces):
        silent = int((record.steps == trace.T).sum())
        assert trace.spikes == record.steps.numel() - silent == sum(trace.step_histogram)
        assert len(trace.step_histogram) == trace.T == 7
        assert trace.synaptic_events == trace.spikes * trace.fan_out == trace.adc_reads
        assert trace.samples == 5 and 0.0 <= trace.sparsity <= 1.0
        assert trace.to_dict()["firing_rate"] == trace.firing_rate


def test_chip_variation_is_lossy_and_both_simulators_agree_on_it():
    config = QuantMLPConfig(sizes=[24, 24, 24], act_bits=4, quantize_output=False)
    x = torch.randn(6, 24, generator=torch.Generator().manual_seed(2))
    qnn = random_qmlp(config, x, seed=2)
    snn = convert(qnn)
    chip = draw_variation(PAPER_CURVE, rel_output=0.1, rel_tau=0.1, rel_beta=0.1, seed=4)
    assert not torch.equal(snn.tables(chip).lut(15), snn.tables().lut(15))
    result = verify(qnn, snn, x, variation=chip)
    assert not result.exact and not result.nominal_device
    event, tick = snn.run(x, "event", chip), snn.run(x, "tick", chip)
    for a, b in zip(event.records, tick.records):
        assert torch.equal(a.values, b.values)  # integer ADC codes: still exact arithmetic, just another chip


def test_synapse_variation_is_lossy_reproducible_and_simulators_agree():
    config = QuantMLPConfig(sizes=[32, 32, 32], act_bits=4, quantize_output=False)
    x = torch.randn(6, 32, generator=torch.Generator().manual_seed(3))
    qnn = random_qmlp(config, x, seed=3)
    snn = convert(qnn)
    variation = DeviceVariation(synapse_rel_std=0.2, seed=5)
    assert torch.equal(variation.synapse_factors(0, (4, 4)), DeviceVariation(synapse_rel_std=0.2, seed=5).synapse_factors(0, (4, 4)))
    result = verify(qnn, snn, x, variation=variation)
    assert not result.exact and result.max_potential_diff > 0
    event, tick = snn.run(x, "event", variation), snn.run(x, "tick", variation)
    assert torch.allclose(event.output, tick.output, rtol=1e-5, atol=1e-5)
    nominal = verify(qnn, snn, x, variation=DeviceVariation())
    assert nominal.exact and nominal.nominal_device


def test_sampled_chip_shorter_than_the_nominal_window_is_held_at_its_last_sample():
    from otters.device import SampledCurve
    from otters.snn import DeviceTables

    t = PAPER_CURVE.inverse(torch.linspace(1.0, 0.2, 30).double().numpy())  # stops at O = 0.2
    chip = SampledCurve(t, PAPER_CURVE(t))
    tables = DeviceTables(PAPER_CURVE, 8, DeviceVariation(chip_curve=chip))
    lut = tables.lut(15)
    assert lut[0] == 15 * 16 and lut[15] == 0  # a_0 exact, silent step sends nothing
    assert lut[14] == round(0.2 * 15 * 16)  # held at the last sample (O = 0.2), not refused
    assert tables.reading(15, 14) == float(lut[14])
