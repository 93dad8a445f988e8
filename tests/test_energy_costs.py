"""Cost tables: Horowitz's 45 nm numbers, the stated 22 nm scaling, user overrides, and stats."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otters.energy import builtin_tables, load_table
from otters.energy.costs import parse_dtype
from otters.energy.stats import FiringStats, Population
from otters.errors import OttersError
from otters.vit.energy import energy_from_acs_macs

LOGIC_SCALE = (22 / 45) * (0.8 / 0.9) ** 2  # the 22 nm table's stated C V^2 factor


def test_builtin_tables_listed():
    assert {"22nm", "45nm"} <= set(builtin_tables())


def test_horowitz_points_reproduced():
    t = load_table("45nm")
    assert t.op_pj("adds", "int8") == pytest.approx(0.03)
    assert t.op_pj("adds", "int32") == pytest.approx(0.1)
    assert t.op_pj("mults", "fp32") + t.op_pj("adds", "fp32") == pytest.approx(4.6)  # E_MAC
    assert t.op_pj("compares", "fp16") == pytest.approx(0.4)
    assert t.sram_pj_per_bit(32 * 1024) == pytest.approx(20 / 64)
    assert t.dram_pj_per_bit == pytest.approx(1950 / 64)
    assert t.adc_pj(8) == pytest.approx(0.005 * 256)


def test_interpolation_is_monotone_and_between_points():
    t = load_table("45nm")
    m16 = t.op_pj("mults", "int16")
    assert 0.2 < m16 < 3.1
    assert t.op_pj("mults", "int8x4") < t.op_pj("mults", "int8") < m16
    assert t.sram_pj_per_bit(8192) < t.sram_pj_per_bit(65536) < t.sram_pj_per_bit(2**20)


def test_22nm_is_45nm_times_the_stated_factor():
    t45, t22 = load_table("45nm"), load_table("22nm")
    for key in ("int_add", "int_mult", "fp_add", "fp_mult", "sram_64bit"):
        for (x45, y45), (x22, y22) in zip(t45.entries[key]["points"], t22.entries[key]["points"]):
            assert x45 == x22
            assert y22 == pytest.approx(y45 * LOGIC_SCALE, rel=2e-3), key
    assert t22.value("reg_bit") == pytest.approx(t45.value("reg_bit") * LOGIC_SCALE, rel=2e-3)
    assert t22.value("noc_bit_hop") == pytest.approx(t45.value("noc_bit_hop") * (0.8 / 0.9) ** 2, rel=2e-3)
    for key in ("dram_64bit", "device_read", "adc_fom_step", "xbar_cell_read", "xbar_row_drive"):
        assert t22.value(key) == t45.value(key), key  # not CMOS logic: not scaled
    assert all(src.strip() for src in t22.sources().values())


def test_user_table_overrides_a_base(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"base": "22nm", "name": "mine", "adc_fom_step": {"value": 0.001, "source": "my ADC"}}))
    t = load_table(str(path))
    assert t.name == "mine"
    assert t.adc_pj(8) == pytest.approx(0.256)
    assert t.op_pj("adds", "int8") == pytest.approx(load_table("22nm").op_pj("adds", "int8"))


@pytest.mark.parametrize(
    "content, match",
    [
        ({"base": "22nm", "dram_64bit": {"value": 5.0}}, "source"),
        ({"base": "22nm", "dram_64bit": {"value": -1, "source": "x"}}, "non-negative"),
        ({"base": "22nm", "int_add": {"points": [[16, 0.1], [8, 0.2]], "source": "x"}}, "increasing"),
        ({"base": "7nm"}, "base"),
        ({"base": "22nm", "flux": {"value": 1, "source": "x"}}, "unknown entries"),
    ],
)
def test_bad_user_tables(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(OttersError, match=match):
        load_table(str(path))


def test_unknown_table_and_dtype():
    with pytest.raises(OttersError, match="unknown cost table"):
        load_table("3nm")
    with pytest.raises(OttersError, match="data type"):
        parse_dtype("float32")
    assert parse_dtype("int8x2") == ("int", pytest.approx(4.0))


def test_vit_hook_uses_the_usual_constants():
    out = energy_from_acs_macs(acs=1e9, macs=1e8)  # 45 nm fp32
    assert out["e_ac_pj"] == pytest.approx(0.9) and out["e_mac_pj"] == pytest.approx(4.6)
    assert out["total_mj"] == pytest.approx(0.9 + 0.46)
    per = energy_from_acs_macs({"a": 10.0, "b": 0.0}, {"a": 0.0, "b": 2.0}, table="45nm")
    assert per["per_layer"]["b"]["mac_mj"] == pytest.approx(2 * 4.6e-9)
    with pytest.raises(OttersError):
        energy_from_acs_macs({"a": 1.0}, 2.0)


def test_default_stats_follow_the_gaussian_lsq_model():
    s = FiringStats.default()
    # LSQ init alpha = 2 E|x| / sqrt(Qp) makes E|x| / alpha = sqrt(Qp) / 2; rounding keeps E|q| close to it
    assert s.signed4.mean_abs_level == pytest.approx(math.sqrt(7) / 2, rel=0.05)
    assert s.unsigned4.mean_abs_level == pytest.approx(math.sqrt(15) / 2, rel=0.05)
    assert s.signed4.ttfs_fire > 0.999  # the offset code is silent only at q = -8
    assert s.unsigned4.ttfs_fire == pytest.approx(s.unsigned4.nonzero)


@settings(max_examples=40)
@given(st.lists(st.floats(0.0, 10.0), min_size=16, max_size=16).filter(lambda v: sum(v) > 0.01), st.integers(0, 3))
def test_population_invariants(weights, dead_zone):
    pop = Population.from_histogram(-8, weights)
    assert 0.0 <= pop.ttfs_fire <= 1.0
    assert 1.0 <= pop.ttfs_compares(15) <= 15.0
    assert 0.0 <= pop.mean_abs_level <= 8.0
    assert pop.mttfs_fire(dead_zone) <= pop.mttfs_fire(0) + 1e-12  # a wider dead zone never adds spikes
    assert 0.0 <= pop.ttfs_active_steps(64, 15) <= 15.0


def test_bad_hardware_and_population_inputs():
    from otters.energy import Hardware

    assert Hardware.from_dict({"noc_hops": 3}).noc_hops == 3
    for bad in ({"noc_hops": "two"}, {"adc_per": "wire"}, {"local_sram_kb": 0}, {"sram": 1}):
        with pytest.raises(OttersError):
            Hardware.from_dict(bad)
    with pytest.raises(OttersError, match="population"):
        Population.from_dict({"qmin": -8})
    with pytest.raises(OttersError, match="sum to 1"):
        Population(0, 1, (0.5, 0.6))
    with pytest.raises(OttersError, match="unknown populations"):
        FiringStats.default().updated({"signed8": {}})
