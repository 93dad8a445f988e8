"""Export a converted spiking MLP to NIR (the Neuromorphic Intermediate Representation) and back.

NIR 1.0 (Pedersen et al., "Neuromorphic intermediate representation: A unified instruction set for
interoperable brain-inspired computing", Nature Communications 2024) describes networks of Affine /
Linear synapses and IF / LIF / CubaLIF neurons in continuous time. It has no time-to-first-spike
code, no stepped threshold, no per-synapse device decay and no product of two signals, so the
export is *structural*: every firing population is an ``IF`` node and every spiking linear stage an
``Affine`` node, wired in firing order, with the Otters mechanics attached as node and graph
metadata that only otters reads back:

- population: bits (T = 2^n - 1 steps per window), step alpha, level range, the stepped thresholds
  theta_k = T - k + qmin (normalised units) and the alpha/2 initial shift (Otters, ICLR 2026,
  Proposition 1, conditions 4-5);
- stage: the integer weight codes, their scale, the exact bias, the residual flag;
- graph: the device decay curve O(t) and the ADC bits of the synapse readings.

The Affine weight is the synaptic scale gamma_ij = code_scale * w_ij * alpha_in * T (Proposition 1;
code_scale = 2 only for the 1-bit sign mode) and its bias the neuron's initial potential plus the
signed-offset correction code_offset * alpha_in * scale * sum_i w_ij, so that V_j = sum_i gamma_ij
O(t_k_i) + bias_j with O(t_k) = (T - k)/T on the nominal device. What a generic NIR backend computes
instead (a rate-coded IF network, not this) is documented in docs/nir.md. Reading a graph back
rebuilds the exact :class:`otters.snn.SpikingNetwork` from the metadata and refuses a graph whose
Affine weights no longer equal the gamma of its metadata.

``nir`` is an optional dependency (``pip install otters[nir]``); it is imported inside the
functions that need it so that ``import otters.interop`` works without it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from otters.device import curve_from_dict
from otters.errors import OttersError
from otters.snn.mlp.network import SpikingLinear, SpikingNetwork
from otters.snn.mlp.results import SimulationResult
from otters.snn.neuron import FiringPopulation

FORMAT = "otters.snn.SpikingNetwork/1"


@dataclass
class NirExport:
    """What was written: the file, its nodes and edges, the populations / stages, and the round trip's
    exactness on ``samples`` inputs (None for a structural-only export). ``not_expressed``: parts of
    the model NIR cannot hold, with the reason."""

    path: str
    model: str
    nodes: int
    edges: int
    populations: int
    stages: int
    round_trip_exact: bool | None
    samples: int
    raster: str | None = None
    not_expressed: dict[str, str] = field(default_factory=dict)


def require_nir():
    """The ``nir`` module, or a one-line OttersError saying how to install it."""
    try:
        import nir  # optional dependency: the otters[nir] extra
    except ImportError:
        raise OttersError("NIR export needs the nir package: pip install 'otters[nir]' (or pip install nir)") from None
    return nir


def synaptic_scales(stage: SpikingLinear, pop_in: FiringPopulation) -> np.ndarray:
    """gamma_ij = code_scale * w_ij * alpha_in * T (float32), with w_ij = codes_ij * scale (Otters, Prop. 1)."""
    codes = stage.weight_codes.to(torch.float64)
    scale = stage.weight_scale.to(torch.float64)
    gamma = pop_in.code_scale * codes * scale * float(pop_in.alpha) * pop_in.T
    return gamma.to(torch.float32).numpy()


def _affine_bias(stage: SpikingLinear, pop_in: FiringPopulation) -> np.ndarray:
    """bias_j + code_offset * alpha_in * scale * sum_i w_ij (float32): the signed-offset correction
    folded into the Affine bias (otters itself keeps it as an integer accumulator term)."""
    row = stage.weight_codes.to(torch.float64).sum(dim=-1, keepdim=True) * stage.weight_scale.to(torch.float64)
    offset = (pop_in.code_offset * float(pop_in.alpha) * row).reshape(-1)
    bias = torch.zeros(stage.fan_out, dtype=torch.float64) if stage.bias is None else stage.bias.to(torch.float64)
    return (bias + offset).to(torch.float32).numpy()


def population_node(nir, pop: FiringPopulation, width: int):
    """An IF node: v_threshold = the potential at which the neuron fires at all (its last stepped
    threshold, in volts of V), the exact population in metadata."""
    if not isinstance(pop, FiringPopulation):
        raise OttersError(f"{pop.name}: only plain TTFS populations export to NIR (M-TTFS is not supported)")
    lowest = 0.0 if pop.sign_mode else float(pop.alpha) * (float(pop.thresholds[-1]) - pop.shift)
    fields = {"name": pop.name, "bits": pop.bits, "qmin": pop.qmin, "qmax": pop.qmax, "code_scale": pop.code_scale,
              "code_offset": pop.code_offset, "shift": pop.shift, "sign_mode": pop.sign_mode, "T": pop.T}
    meta = {"otters_population": json.dumps(fields), "otters_alpha": pop.alpha.reshape(1).numpy().astype(np.float32),
            "otters_thresholds": pop.thresholds.numpy().astype(np.float32)}
    return nir.IF(r=np.ones(width, dtype=np.float32), v_threshold=np.full(width, lowest, dtype=np.float32),
                  v_reset=np.zeros(width, dtype=np.float32), metadata=meta)


def to_nir(snn: SpikingNetwork):
    """The NIR graph of a converted spiking MLP (Input -> IF -> [Affine -> IF] ... -> Affine -> Output)."""
    nir = require_nir()
    if type(snn) is not SpikingNetwork:
        raise OttersError(f"NIR export takes a plain TTFS SpikingNetwork (otters.convert of a QuantMLP), got "
                          f"{type(snn).__name__}")
    nodes = {"input": nir.Input(input_type={"input": np.array([snn.in_features])}),
             snn.input_name: population_node(nir, snn.encoder, snn.in_features)}
    edges, previous, pop_in = [("input", snn.input_name)], snn.input_name, snn.encoder
    for stage in snn.stages:
        meta = {"otters_stage": json.dumps({"index": stage.index, "residual": stage.residual,
                                            "has_bias": stage.bias is not None,
                                            "scale_shape": list(stage.weight_scale.shape)}),
                "otters_codes": stage.weight_codes.to(torch.int16).numpy(),
                "otters_scale": stage.weight_scale.reshape(-1).to(torch.float32).numpy()}
        if stage.bias is not None:
            meta["otters_bias"] = stage.bias.to(torch.float32).numpy()
        nodes[stage.name] = nir.Affine(weight=synaptic_scales(stage, pop_in), bias=_affine_bias(stage, pop_in),
                                       metadata=meta)
        edges.append((previous, stage.name))
        previous = stage.name
        if stage.out is not None:
            nodes[stage.out.name] = population_node(nir, stage.out, stage.fan_out)
            edges.append((stage.name, stage.out.name))
            previous, pop_in = stage.out.name, stage.out
    nodes["output"] = nir.Output(output_type={"output": np.array([snn.stages[-1].fan_out])})
    edges.append((previous, "output"))
    meta = {"otters_format": FORMAT, "otters_curve": json.dumps(snn.curve.to_dict()),
            "otters_adc_bits": np.array([snn.adc_bits], dtype=np.int64), "otters_input": snn.input_name,
            "otters_note": "time-to-first-spike network: see otters docs/nir.md for what a generic NIR backend computes"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def write_nir(snn: SpikingNetwork, path: str | os.PathLike) -> Path:
    """Write ``snn`` as a NIR HDF5 file (``nir.write``); returns the path."""
    nir = require_nir()
    path = Path(path)
    nir.write(str(path), to_nir(snn))
    return path


def _meta(node, key: str, name: str):
    if key not in node.metadata:
        raise OttersError(f"NIR node {name!r} lacks the otters metadata {key!r}; only graphs written by otters "
                          "export nir can be read back as an exact spiking network")
    return node.metadata[key]


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _population(node, name: str) -> FiringPopulation:
    fields = json.loads(_text(_meta(node, "otters_population", name)))
    alpha = torch.from_numpy(np.asarray(_meta(node, "otters_alpha", name), dtype=np.float32).copy()).reshape(())
    thresholds = torch.from_numpy(np.asarray(_meta(node, "otters_thresholds", name), dtype=np.float32).copy())
    return FiringPopulation(fields["name"], int(fields["bits"]), alpha, int(fields["qmin"]), int(fields["qmax"]),
                            int(fields["code_scale"]), int(fields["code_offset"]), float(fields["shift"]),
                            thresholds, bool(fields["sign_mode"]))


def from_nir(graph) -> SpikingNetwork:
    """The exact spiking network of a graph written by :func:`to_nir` (metadata first, gamma checked)."""
    nir = require_nir()
    if _text(graph.metadata.get("otters_format", "")) != FORMAT:
        raise OttersError("this NIR graph was not written by otters export nir (no otters_format metadata); "
                          "otters reads back only its own graphs")
    successor = {}
    for a, b in graph.edges:
        if a in successor:
            raise OttersError(f"NIR node {a!r} feeds more than one node; an otters spiking MLP is a chain")
        successor[a] = b
    order, name = [], successor.get("input")
    while name is not None and name != "output":
        order.append(name)
        name = successor.get(name)
    if name != "output" or not order:
        raise OttersError("the NIR graph is not a chain from 'input' to 'output'")
    nodes = graph.nodes
    encoder = _population(nodes[order[0]], order[0])
    stages, pop_in, i = [], encoder, 1
    while i < len(order):
        stage_name, node = order[i], nodes[order[i]]
        if not isinstance(node, nir.Affine):
            raise OttersError(f"NIR node {stage_name!r} is a {type(node).__name__}; expected an Affine stage")
        info = json.loads(_text(_meta(node, "otters_stage", stage_name)))
        codes = torch.from_numpy(np.asarray(_meta(node, "otters_codes", stage_name), dtype=np.int64).copy())
        scale = torch.from_numpy(np.asarray(_meta(node, "otters_scale", stage_name), dtype=np.float32).copy())
        bias = None
        if info["has_bias"]:
            bias = torch.from_numpy(np.asarray(_meta(node, "otters_bias", stage_name), dtype=np.float32).copy())
        out = None
        if i + 1 < len(order) and isinstance(nodes[order[i + 1]], nir.IF):
            out = _population(nodes[order[i + 1]], order[i + 1])
        stage = SpikingLinear(stage_name, int(info["index"]), codes, scale.reshape(info["scale_shape"]), bias,
                              bool(info["residual"]), out)
        if not np.array_equal(np.asarray(node.weight, dtype=np.float32), synaptic_scales(stage, pop_in)):
            raise OttersError(f"NIR node {stage_name!r}: its Affine weights differ from the synaptic scales of its "
                              "otters metadata; the graph was edited after export")
        stages.append(stage)
        if out is not None:
            pop_in = out
        i += 2 if out is not None else 1
    curve = curve_from_dict(json.loads(_text(graph.metadata["otters_curve"])))
    adc_bits = int(np.asarray(graph.metadata["otters_adc_bits"]).reshape(-1)[0])
    return SpikingNetwork(encoder, stages, curve, adc_bits, _text(graph.metadata.get("otters_input", order[0])))


def read_nir(path: str | os.PathLike) -> SpikingNetwork:
    """Read a NIR file written by :func:`write_nir` back into an exact spiking network."""
    nir = require_nir()
    if not Path(path).is_file():
        raise OttersError(f"NIR file not found: {path}")
    try:
        graph = nir.read(str(path))
    except (OSError, KeyError, ValueError) as exc:
        raise OttersError(f"{path} is not a readable NIR file ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    return from_nir(graph)


def raster_data(result: SimulationResult):
    """Spike rasters of a simulation as NIR ``EventData`` per population (nir.NIRGraphData).

    Each population's window is its own time axis: a neuron firing at step k has time k (in steps,
    t_max = T); silent neurons send no event (index -1, time inf, NIR's padding). One row per sample.
    """
    nir = require_nir()
    nodes = {}
    for record in result.records:
        if record.kind != "levels" or record.steps is None:
            continue
        steps = record.steps.reshape(-1, record.steps.shape[-1]).to(torch.int64).numpy()
        fired = steps < record.T
        width = int(fired.sum(axis=1).max()) if fired.size else 0
        idx = np.full((steps.shape[0], max(width, 1)), -1, dtype=np.int64)
        time = np.full((steps.shape[0], max(width, 1)), np.inf)
        for row in range(steps.shape[0]):
            neurons = np.flatnonzero(fired[row])
            order = np.argsort(steps[row, neurons], kind="stable")
            idx[row, :len(neurons)] = neurons[order]
            time[row, :len(neurons)] = steps[row, neurons][order]
        events = nir.EventData(idx=idx, time=time, n_neurons=int(steps.shape[-1]), t_max=float(record.T))
        nodes[record.population or record.name] = nir.data_ir.NIRNodeData(observables={"spikes": events})
    return nir.NIRGraphData(nodes=nodes)


def write_raster(result: SimulationResult, path: str | os.PathLike) -> Path:
    """Write :func:`raster_data` with ``nir.write_data``; returns the path."""
    nir = require_nir()
    path = Path(path)
    nir.write_data(str(path), raster_data(result))
    return path
