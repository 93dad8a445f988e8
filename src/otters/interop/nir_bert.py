"""NIR export of a spiking BERT student: its linear populations, structurally, and what NIR cannot hold.

Every static-weight spiking stage of the converted student (Q, K, V, attention output, FFN1, FFN2,
pooler; Otters, ICLR 2026, Proposition 1 and Sec. 3) becomes an ``Affine`` node whose weight is the
synaptic scale gamma (as for the MLP, :func:`otters.interop.nir.synaptic_scales`), and every firing
population feeding or fed by one an ``IF`` node with its stepped thresholds in metadata. A population
whose initial potential comes from a digital block gets an ``Input`` node; a stage read out digitally
an ``Output`` node. The rest has no NIR equivalent and is listed in the graph (``NOT_EXPRESSED``).
This export is one-way: reading it back would need the digital blocks, which NIR cannot hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from otters.errors import OttersError
from otters.interop.nir import NirExport, population_node, require_nir
from otters.snn import convert
from otters.snn.mttfs import load_coded_student

FORMAT = "otters.snn.SpikingBert.linear-populations/1"

NOT_EXPRESSED = {
    "embeddings": "a table lookup of binary codes by token id; NIR has no lookup node",
    "attention Q.K^T and P.V": "products of two signals (Q spikes times stored K levels, P spikes times V): the "
                               "weights are activations; NIR edges carry fixed weights only",
    "softmax / PTsoftmax": "a digital block between windows (normalisation over keys); no NIR node",
    "LayerNorm / BSPN": "digital normalisation over the hidden units; no NIR node",
    "residual adds": "digital adds of the layer input to a read-out potential between windows",
    "pooler tanh and classifier": "float digital blocks after the last spiking window",
    "time-to-first-spike code": "NIR's IF integrates a current and resets; the TTFS code (one spike at the step "
                                "that encodes the level, device decay O(t_k)) lives in otters metadata only",
}


def _gamma(stage) -> np.ndarray:
    pop = stage.pop_in
    gamma = pop.code_scale * stage.weight.to(torch.float64) * stage.scale.to(torch.float64) * float(pop.alpha) * pop.T
    return gamma.to(torch.float32).numpy()


def _bias(stage) -> np.ndarray:
    pop = stage.pop_in
    row = stage.row_sum.to(torch.float64) * stage.scale.to(torch.float64) * pop.code_offset * float(pop.alpha)
    bias = torch.zeros(stage.fan_out, dtype=torch.float64) if stage.bias is None else stage.bias.to(torch.float64)
    return (bias + row).to(torch.float32).numpy()


def student_graph(snn):
    """The NIR graph of a :class:`otters.snn.SpikingBert`'s linear populations (structural only)."""
    nir = require_nir()
    if getattr(snn, "coding", "ttfs") != "ttfs":
        raise OttersError("NIR export takes plain TTFS students; this one uses M-TTFS (coding.json)")
    nodes, edges = {}, []
    for stage in snn.linear_stages:
        src = stage.pop_in.name
        if src not in nodes:
            nodes[src] = population_node(nir, stage.pop_in, stage.fan_in)
            nodes[f"{src}.in"] = nir.Input(input_type={"input": np.array([stage.fan_in])})
            edges.append((f"{src}.in", src))
        meta = {"otters_stage": json.dumps({"index": stage.index, "window": stage.window, "layer": stage.layer}),
                "otters_codes": stage.weight.to(torch.int8).numpy(),
                "otters_scale": stage.scale.reshape(-1).to(torch.float32).numpy()}
        nodes[stage.name] = nir.Affine(weight=_gamma(stage), bias=_bias(stage), metadata=meta)
        edges.append((src, stage.name))
        if stage.out is not None:
            target = stage.out.pop.name
            nodes[target] = population_node(nir, stage.out.pop, stage.fan_out)
            edges.append((stage.name, target))
        else:
            nodes[f"{stage.name}.out"] = nir.Output(output_type={"output": np.array([stage.fan_out])})
            edges.append((stage.name, f"{stage.name}.out"))
    # a population that a stage fires into and that feeds another stage already has its node; a fired
    # population nothing reads spikes from (Q, K, V, P: they enter attention products) ends in an Output
    fed = {a for a, _ in edges}
    for name, node in list(nodes.items()):
        if type(node).__name__ == "IF" and name not in fed:
            nodes[f"{name}.out"] = nir.Output(output_type={"output": np.array(node.r.shape)})
            edges.append((name, f"{name}.out"))
    meta = {"otters_format": FORMAT, "otters_curve": json.dumps(snn.curve.to_dict()),
            "otters_adc_bits": np.array([snn.adc_bits], dtype=np.int64),
            "otters_not_expressed": json.dumps(NOT_EXPRESSED)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def export_student(checkpoint: Path, out: Path):
    """Write the linear populations of a student checkpoint's spiking BERT as NIR (one-way)."""
    nir = require_nir()
    if not (checkpoint / "otters.json").is_file():
        raise OttersError(f"{checkpoint} is not a student checkpoint (no otters.json)")
    graph = student_graph(convert(load_coded_student(checkpoint).eval()))
    nir.write(str(out), graph)
    pops = sum(1 for n in graph.nodes.values() if type(n).__name__ == "IF")
    stages = sum(1 for n in graph.nodes.values() if type(n).__name__ == "Affine")
    return NirExport(str(out), str(checkpoint), len(graph.nodes), len(graph.edges), pops, stages, None, 0,
                     not_expressed=dict(NOT_EXPRESSED))
