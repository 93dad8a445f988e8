"""NIR export / import of spiking networks (otters.interop.nir) and ``otters export nir``."""

import numpy as np
import pytest
import torch
from tests.cli_helpers import run_main

import otters
from otters.errors import OttersError
from otters.interop.export import random_mlp
from otters.interop.nir import raster_data, read_nir, require_nir, to_nir, write_nir
from otters.interop.nir_bert import NOT_EXPRESSED, student_graph
from otters.nn.qmlp import QuantMLPConfig, random_qmlp

nir = pytest.importorskip("nir", reason="NIR tests need the nir package (pip install 'otters[nir]'; CI installs it)")


def test_cli_random_mlp_round_trip_is_exact(tmp_path, capsys):
    out = tmp_path / "OUT.nir"
    code, stdout, err = run_main(capsys, "export", "nir", "--random-mlp", "--depth", "3", "--width", "32",
                                 "--bits", "4", str(out))
    assert code == 0, err
    assert "exact on 256 inputs" in stdout
    graph = nir.read(str(out))  # nir itself accepts the file
    assert sum(isinstance(n, nir.IF) for n in graph.nodes.values()) == 4
    assert sum(isinstance(n, nir.Affine) for n in graph.nodes.values()) == 3
    qnn, x = random_mlp(3, 32, 4, 1, 0, 256)  # the same seeded network the command exported
    back = read_nir(out)
    check = otters.verify(qnn, back, x)
    assert check.exact and check.max_level_diff == 0 and check.max_potential_diff == 0.0


def test_affine_weights_are_the_synaptic_scales_gamma(tmp_path):
    qnn, _ = random_mlp(3, 16, 3, 4, 5, 64)
    graph = nir.read(str(write_nir(otters.convert(qnn), tmp_path / "g.nir")))
    T = 2**3 - 1
    alphas = [qnn.input_quant.alpha] + [q.alpha for q in qnn.quants]
    for i, layer in enumerate(qnn.layers):
        codes, scale = layer.weight_codes()
        gamma = codes.to(torch.float64) * float(scale) * float(alphas[i].detach()) * T  # gamma_ij = w_ij alpha_in T
        assert np.array_equal(graph.nodes[f"layers.{i}"].weight, gamma.to(torch.float32).numpy())


@pytest.mark.parametrize("act_bits, weight_bits, residual, signed", [(4, 1, False, True), (2, 8, True, False),
                                                                     (1, 1, False, True), (6, 3, True, True)])
def test_round_trip_through_a_file_is_bit_exact(tmp_path, act_bits, weight_bits, residual, signed):
    cal = torch.randn(128, 24, generator=torch.Generator().manual_seed(act_bits))
    config = QuantMLPConfig([24, 24, 24, 7], act_bits=act_bits, weight_bits=weight_bits, residual=residual,
                            signed_input=signed, signed_hidden=signed, quantize_output=act_bits != 6)
    qnn = random_qmlp(config, cal, seed=weight_bits)
    snn = otters.convert(qnn)
    back = read_nir(write_nir(snn, tmp_path / "m.nir"))
    assert otters.verify(qnn, back, cal).exact
    assert back.describe() == snn.describe()


def test_edited_or_foreign_graphs_are_refused(tmp_path):
    qnn, _ = random_mlp(2, 8, 4, 1, 1, 16)
    graph = to_nir(otters.convert(qnn))
    graph.nodes["layers.0"].weight = graph.nodes["layers.0"].weight * 2
    nir.write(str(tmp_path / "edited.nir"), graph)
    with pytest.raises(OttersError, match="edited"):
        read_nir(tmp_path / "edited.nir")
    foreign = nir.NIRGraph(nodes={"input": nir.Input({"input": np.array([2])}),
                                  "a": nir.Affine(np.ones((2, 2), np.float32), np.zeros(2, np.float32)),
                                  "output": nir.Output({"output": np.array([2])})},
                           edges=[("input", "a"), ("a", "output")])
    nir.write(str(tmp_path / "foreign.nir"), foreign)
    with pytest.raises(OttersError, match="not written by otters"):
        read_nir(tmp_path / "foreign.nir")


def test_spike_raster_is_event_data_of_the_fire_steps():
    qnn, x = random_mlp(2, 12, 3, 1, 2, 6)
    result = otters.convert(qnn).run(x)
    data = raster_data(result)
    first = result.records[0]
    events = data.nodes[first.population].observables["spikes"]
    assert events.n_neurons == 12 and events.t_max == 7.0
    for row in range(6):
        steps = first.steps[row]
        fired = torch.nonzero(steps < 7).reshape(-1).tolist()
        got = events.idx[row][events.idx[row] >= 0].tolist()
        assert sorted(got) == fired
        assert all(events.time[row][j] == float(steps[events.idx[row][j]]) for j in range(len(got)))


def test_student_linear_populations_export_structurally():
    from tests.snn_bert_helpers import calibrated, tiny_batch

    from otters.models import build_student
    from otters.snn import convert

    torch.manual_seed(0)
    student = calibrated(build_student("otters-1bitkv", "tiny"), tiny_batch())
    snn = convert(student)
    graph = student_graph(snn)
    affine = {k: v for k, v in graph.nodes.items() if isinstance(v, nir.Affine)}
    assert len(affine) == 6 * len(snn.layers) + 1  # Q, K, V, O, FFN1, FFN2 per layer, and the pooler
    stage = snn.layers[0].ffn1
    gamma = stage.weight.to(torch.float64) * float(stage.scale) * float(stage.pop_in.alpha) * stage.pop_in.T
    assert np.array_equal(affine[stage.name].weight, gamma.to(torch.float32).numpy())
    assert "attention Q.K^T and P.V" in NOT_EXPRESSED and graph.metadata["otters_not_expressed"]


def test_missing_nir_gives_one_line(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(OttersError, match=r"pip install 'otters\[nir\]'"):
        require_nir()
    code, _, err = run_main(capsys, "export", "nir", "--random-mlp", str(tmp_path / "x.nir"))
    assert code == 2 and err.count("\n") == 1 and "otters[nir]" in err
    assert not (tmp_path / "x.nir").exists()


def test_bad_output_paths_write_nothing(tmp_path, capsys):
    code, _, err = run_main(capsys, "export", "nir", "--random-mlp", str(tmp_path / "missing" / "x.nir"))
    assert code == 2 and "does not exist" in err
    code, _, err = run_main(capsys, "export", "nir", "--random-mlp", "--depth", "0", str(tmp_path / "x.nir"))
    assert code == 2 and "--depth" in err and not (tmp_path / "x.nir").exists()
