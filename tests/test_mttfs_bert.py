"""M-TTFS and the dead zone on the BERT student, stage by stage (tiny geometry)."""

import pytest
import torch

from otters.device import PAPER_CURVE
from otters.models import build_student, load_student, save_student, spiking_stages
from otters.snn import draw_variation
from otters.snn.mttfs import (
    calibrate_silent_levels,
    configure_coding,
    load_coding,
    population_names,
    save_coding,
)
from otters.snn.mttfs.stats import token_mask_fn
from otters.snn.synapse import mttfs_accumulator

torch.set_num_threads(1)


def _student(preset="otters-1bitkv", seed=0):
    torch.manual_seed(seed)
    model = build_student(preset, "tiny", num_labels=2, bspn_warmup=2)
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 128, (4, 10), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[3, 4:] = 0
    model.train()
    for _ in range(3):  # LSQ steps initialise, BSPN leaves its warm-up
        model(input_ids=ids, attention_mask=mask)
    return model.eval(), ids, mask


def _logits(model, ids, mask):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def _through_mttfs(model, silent, variation=None):
    names = {id(m): n for n, m in model.named_modules()}
    for stage in spiking_stages(model):
        name = names[id(stage.input_quant)]
        stage.set_accumulator(mttfs_accumulator(stage.input_quant, silent.get(name), variation=variation, name=name))


def test_population_names_are_the_stage_inputs_once():
    model, _, _ = _student()
    names = population_names(model)
    assert names[:6] == ["bert.layers.0.attn.input_quant", "bert.layers.0.attn.q_quant", "bert.layers.0.attn.p_quant",
                         "bert.layers.0.attn.out_quant", "bert.layers.0.ffn_in_quant", "bert.layers.0.ffn2_in_quant"]
    assert names[-1] == "bert.pooler_quant" and len(names) == 13
    assert not any("k_quant" in n or "v_quant" in n for n in names)


@pytest.mark.parametrize("preset", ["otters-1bitkv", "otters-4bitkv"])
def test_student_runs_bit_exact_through_mttfs_accumulators(preset):
    """Every stage integrates M-TTFS spikes (two populations, calibrated silent levels): logits unchanged."""
    model, ids, mask = _student(preset)
    reference = _logits(model, ids, mask)
    silent = calibrate_silent_levels(model, [(ids, mask)], forward=lambda b: model(input_ids=b[0], attention_mask=b[1]),
                                     mask_fn=token_mask_fn(mask))
    assert set(silent) == set(population_names(model))
    assert any(int(m) != q.qmin for n, m in silent.items() for q in [model.get_submodule(n)])  # not plain TTFS
    _through_mttfs(model, silent)
    assert torch.equal(_logits(model, ids, mask), reference)


def test_dead_zone_student_equals_its_spiking_version_and_differs_from_the_plain_one():
    model, ids, mask = _student()
    plain = _logits(model, ids, mask)
    state = configure_coding(model, "mttfs", dead_zone=2)
    assert state["dead_zone"] == 2 and set(state["quantizers"]) == set(population_names(model))
    dead_zone = _logits(model, ids, mask)
    assert not torch.equal(dead_zone, plain)  # lossy by design
    _through_mttfs(model, {})  # silent levels: the dead-zone quantizers' own
    assert torch.equal(_logits(model, ids, mask), dead_zone)
    # a drawn chip makes the same accumulators lossy
    _through_mttfs(model, {}, variation=draw_variation(PAPER_CURVE, 0.3, 0.3, 0.3, seed=2))
    assert not torch.equal(_logits(model, ids, mask), dead_zone)


def test_coding_sidecar_round_trip(tmp_path):
    model, ids, mask = _student()
    configure_coding(model, "ttfs", dead_zone=1)  # TTFS with a dead zone: silent level qmin
    assert all(int(model.get_submodule(n).silent) == model.get_submodule(n).qmin for n in population_names(model))
    reference = _logits(model, ids, mask)
    save_student(model, tmp_path)
    save_coding(model, tmp_path, coding="ttfs")
    loaded = load_student(tmp_path)
    assert load_coding(loaded, tmp_path)["dead_zone"] == 1
    assert torch.equal(_logits(loaded, ids, mask), reference)
    plain = load_student(tmp_path)
    (tmp_path / "coding.json").unlink()
    assert load_coding(plain, tmp_path)["quantizers"] == {}
