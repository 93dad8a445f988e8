"""``otters export nir``: write a spiking network as NIR, read it back, and check it is still exact.

One library function, :func:`export_nir`, returns a typed :class:`NirExport`; the command prints it.
A QuantMLP (a checkpoint from ``save_qmlp`` or a seeded random one) is converted (Otters, ICLR 2026,
Proposition 1), written with :func:`otters.interop.nir.write_nir`, read back with
:func:`otters.interop.nir.read_nir` and compared with the QNN through :func:`otters.verify` on the
same inputs: the round trip is exact iff every decoded level and readout bit matches. A BERT student
exports its linear populations only (:mod:`otters.interop.nir_bert`), structurally.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from otters.errors import OttersError
from otters.interop.nir import NirExport, read_nir, require_nir, write_nir, write_raster
from otters.interop.nir_bert import export_student
from otters.nn.qmlp import QuantMLPConfig, random_qmlp
from otters.snn import convert, verify
from otters.snn.checkpoints import load_for_verify


def random_mlp(depth: int, width: int, bits: int, weight_bits: int, seed: int, samples: int):
    """(QuantMLP, inputs): a seeded random QNN of ``depth`` linears of ``width`` and inputs for it."""
    for name, value, lo, hi in (("--depth", depth, 1, 64), ("--width", width, 1, 16384),
                                ("--samples", samples, 1, 1 << 16)):
        if not lo <= value <= hi:
            raise OttersError(f"{name} must be in {lo}..{hi}, got {value}")
    config = QuantMLPConfig(sizes=[width] * (depth + 1), act_bits=bits, weight_bits=weight_bits)
    x = torch.randn(samples, width, generator=torch.Generator().manual_seed(seed + 1))
    return random_qmlp(config, x, seed=seed), x


def export_nir(out: str | os.PathLike, checkpoint: str | os.PathLike | None = None, random: bool = False,
               depth: int = 3, width: int = 32, bits: int = 4, weight_bits: int = 1, seed: int = 0,
               samples: int = 256, raster: str | os.PathLike | None = None) -> NirExport:
    """Export ``checkpoint`` (a QuantMLP file or a student directory) or a random MLP to NIR file ``out``."""
    require_nir()
    out = Path(out)
    if (checkpoint is None) == (not random):
        raise OttersError("give a checkpoint or --random-mlp (not both)")
    if out.exists() and out.is_dir():
        raise OttersError(f"{out} is a directory; give the path of the .nir file to write")
    if not out.parent.is_dir():
        raise OttersError(f"the folder of {out} does not exist; create it first")
    if raster is not None and not Path(raster).parent.is_dir():
        raise OttersError(f"the folder of {raster} does not exist; create it first")
    if checkpoint is not None and Path(checkpoint).is_dir():
        return export_student(Path(checkpoint), out)
    if random:
        qnn, x = random_mlp(depth, width, bits, weight_bits, seed, samples)
        label = f"random-mlp depth {depth} width {width} act {bits}-bit weights {weight_bits}-bit seed {seed}"
    else:
        qnn, make_inputs = load_for_verify(checkpoint)
        if not hasattr(qnn, "layers"):
            raise OttersError(f"{checkpoint} is not a QuantMLP checkpoint; NIR export takes spiking MLPs and students")
        x, label = make_inputs(samples, seed), str(checkpoint)
    snn = convert(qnn)
    write_nir(snn, out)
    back = read_nir(out)
    check = verify(qnn, back, x)
    raster_path = None
    if raster is not None:
        raster_path = str(write_raster(back.run(x[: min(len(x), 16)]), raster))
    graph = require_nir().read(str(out))
    pops = sum(1 for n in graph.nodes.values() if type(n).__name__ == "IF")
    return NirExport(str(out), label, len(graph.nodes), len(graph.edges), pops, len(snn.stages), check.exact,
                     check.samples, raster_path)
