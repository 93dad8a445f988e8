"""The memristive synapse unit (MSU) energy model and the M-TTFS architectures of otters.energy."""

import math

import pytest

from otters.energy import FiringStats, Hardware, Population, Workload, evaluate, load_table, model_energy
from otters.energy.msu import msu_area_mm2, msu_linear_counts, mvm_energy, row_drive_pj
from otters.errors import OttersError

TABLE = load_table("22nm")


def test_linear_counts_follow_the_tiling():
    hw = Hardware()  # 256 x 256 arrays, 2 cells per weight
    c = msu_linear_counts(hw, tokens=3, d_in=300, d_out=200, spikes_per_input=0.25, T=15)
    tiles_in, tiles_out = math.ceil(300 / 256), math.ceil(200 * 2 / 256)
    spikes = 3 * 300 * 0.25
    assert c.arrays == tiles_in * tiles_out
    assert c.row_drives == spikes * tiles_out
    assert c.cell_reads == spikes * 200 * 2
    assert c.conversions == 3 * tiles_in * 200
    assert c.partial_sum_adds == 3 * (tiles_in - 1) * 200
    assert c.adc_bits == math.ceil(math.log2(2 * 256 * 15 + 1))
    with pytest.raises(OttersError):
        msu_linear_counts(hw, 3, 300, 200, 1.5, 15)


def test_mvm_energy_is_linear_in_activity_and_sums_its_parts():
    hw = Hardware(xbar_driver_pj=0.05, xbar_sense_pj=0.002)
    zero = mvm_energy(0, 128, hw=hw, table=TABLE)
    assert zero["row_drive"] == 0 and zero["cells"] == 0 and zero["adc"] > 0
    e10, e20 = mvm_energy(10, 128, hw=hw, table=TABLE), mvm_energy(20, 128, hw=hw, table=TABLE)
    assert e20["row_drive"] == pytest.approx(2 * e10["row_drive"])
    assert e20["cells"] == pytest.approx(2 * e10["cells"])
    assert e20["total"] - e10["total"] == pytest.approx(e10["total"] - zero["total"])
    assert e10["total"] == pytest.approx(sum(v for k, v in e10.items() if k != "total"))
    assert e10["sense"] == pytest.approx(128 * 0.002)
    with pytest.raises(OttersError, match="rows"):
        mvm_energy(300, 10, hw=hw, table=TABLE)


def test_array_size_and_periphery_are_parameters():
    small, large = Hardware(xbar_rows=128, xbar_cols=128), Hardware(xbar_rows=512, xbar_cols=512)
    assert row_drive_pj(large, TABLE) == pytest.approx(4 * row_drive_pj(small, TABLE))  # line C grows with columns
    assert msu_area_mm2(1) == pytest.approx(0.072)  # Matterhorn's 256 x 256 array
    assert msu_area_mm2(1, large) == pytest.approx(4 * 0.072)
    assert mvm_energy(0, 64, hw=large, table=TABLE)["adc"] > mvm_energy(0, 64, hw=small, table=TABLE)["adc"]
    with pytest.raises(OttersError, match="xbar_sense_pj"):
        Hardware(xbar_sense_pj=-1.0)
    assert Hardware.from_dict({"xbar_driver_pj": 0.39}).xbar_driver_pj == 0.39


def test_periphery_is_priced_in_stage_energy():
    w = Workload("x", "FC")
    w.xbar_rows, w.xbar_sense, w.xbar_cells = 10.0, 7.0, 3.0
    hw = Hardware(xbar_cols=128, xbar_driver_pj=0.1, xbar_sense_pj=0.02)
    expected = 10 * (TABLE.value("xbar_row_drive") * 128 / 256 + 0.1) + 7 * 0.02 + 3 * TABLE.value("xbar_cell_read")
    assert evaluate([w], TABLE, hw).stages[0].analog_pj == pytest.approx(expected)
    assert Workload.from_dict(w.to_dict()).xbar_sense == 7.0


def test_mttfs_active_steps_at_qmin_equal_the_ttfs_ones():
    pop = Population.from_histogram(0, [50, 10, 5, 3] + [1] * 12)  # mode = qmin = 0: M-TTFS is TTFS
    assert pop.mttfs_active_steps(64, 15) == pytest.approx(pop.ttfs_active_steps(64, 15))
    assert pop.mttfs_active_steps(64, 15, dead_zone=15) == 0.0


@pytest.mark.parametrize("arch", ["matterhorn", "otters-1bitkv-mttfs", "otters-4bitkv-mttfs"])
def test_energy_falls_with_the_dead_zone(arch):
    totals = [model_energy(arch, "bert-mini", 32, dead_zone=k).total_mj for k in range(5)]
    assert all(b <= a for a, b in zip(totals, totals[1:]))
    assert totals[-1] < totals[0]


def test_mttfs_on_otters_spikes_less_than_ttfs_with_signed_activations():
    stats = FiringStats.default()
    ttfs = model_energy("otters-1bitkv", "bert-mini", 32, stats=stats)
    mttfs = model_energy("otters-1bitkv-mttfs", "bert-mini", 32, stats=stats)
    assert sum(w.spikes for w in mttfs.workloads) < sum(w.spikes for w in ttfs.workloads)
    with pytest.raises(OttersError, match="dead_zone"):
        model_energy("matterhorn", "bert-mini", 32, dead_zone=-1)
