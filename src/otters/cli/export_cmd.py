"""``otters export nir``: a spiking network as a NIR graph (otters.interop.export.export_nir)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from otters.errors import OttersError
from otters.interop.export import export_nir
from otters.paths import check_outputs

export_app = typer.Typer(help="Export models to other formats (NIR).", no_args_is_help=True)


@export_app.command("nir")
def nir_command(
    checkpoint: Optional[Path] = typer.Argument(None, help="QuantMLP checkpoint (.safetensors) or student directory; "
                                                "or use --random-mlp."),
    out: Optional[Path] = typer.Argument(None, help="the .nir file to write"),
    random_mlp: bool = typer.Option(False, "--random-mlp", help="Export a seeded random quantized MLP."),
    depth: int = typer.Option(3, "--depth", help="Random MLP: number of linear layers."),
    width: int = typer.Option(32, "--width", help="Random MLP: width of every layer."),
    bits: int = typer.Option(4, "--bits", help="Random MLP: activation bits (T = 2^bits - 1 steps)."),
    weight_bits: int = typer.Option(1, "--weight-bits", help="Random MLP: weight bits (1 = binary)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random MLP and of the check inputs."),
    samples: int = typer.Option(256, "--samples", help="Inputs on which the read-back network is verified."),
    raster: Optional[Path] = typer.Option(None, "--raster", help="Also write the spike raster of 16 inputs as NIR "
                                          "EventData to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Write a spiking MLP (or a student's linear populations) as NIR; read it back and verify it."""

    if random_mlp and out is None and checkpoint is not None:  # `--random-mlp OUT.nir`: the one path is OUT
        checkpoint, out = None, checkpoint
    if out is None:
        raise OttersError("give the output file: otters export nir (CKPT | --random-mlp ...) OUT.nir")
    check_outputs(files=[out, raster])
    result = export_nir(out, checkpoint, random_mlp, depth, width, bits, weight_bits, seed, samples, raster)
    if as_json:
        print(json.dumps(asdict(result), sort_keys=True))
        return
    print(f"wrote {result.path}: {result.nodes} nodes, {result.edges} edges, {result.populations} IF populations, "
          f"{result.stages} Affine stages ({result.model})")
    if result.round_trip_exact is not None:
        verdict = "exact" if result.round_trip_exact else "NOT exact"
        print(f"read back with otters.interop.nir.read_nir: {verdict} on {result.samples} inputs (otters.verify)")
    for part, why in result.not_expressed.items():
        print(f"not in NIR: {part}: {why}")
    if result.raster:
        print(f"spike raster (NIR EventData): {result.raster}")
    if result.round_trip_exact is False:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
