"""``otters tolerance``: the exactness envelope (clock, ADC bits, output drift, read jitter) of a device.

A thin wrapper over :func:`otters.coding.tolerance.tolerance`, which gives the derivation.
"""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.coding.tolerance import tolerance
from otters.device import PAPER_CURVE, load_curve

_UNITS = {"max_clock_period": "s", "min_adc_bits": "bits", "max_output_drift": "relative", "max_jitter": "s"}


def tolerance_cmd(
    T: int = typer.Option(15, "--T", "-T", help="Time steps per window, 2^n - 1 (n = activation bits)."),
    curve: Optional[str] = typer.Option(None, "--curve", help="Curve JSON (from `otters device fit --out`); "
                                        "default: the paper's device."),
    adc_bits: int = typer.Option(8, "--adc-bits", help="ADC resolution the envelope is computed for."),
    dt: Optional[float] = typer.Option(None, "--dt", help="Clock period at which drift and jitter are bounded "
                                       "(default: the hardware simulator's)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Largest clock period, fewest ADC bits, largest output drift and read jitter that keep every code exact."""



    result = tolerance(PAPER_CURVE if curve is None else load_curve(curve), T, adc_bits, dt)
    data = {"curve": curve or "paper", **result.to_dict()}
    if as_json:
        print(json.dumps(data))
        return
    table = Table(title=f"Exactness envelope, T = {T}, {adc_bits}-bit ADC, clock {result.dt:.3g} s ({data['curve']})")
    for name in ("bound", "value", "unit", "simulator default", "margin"):
        table.add_column(name, justify="right" if name != "bound" else "left", no_wrap=True)
    for name, unit in _UNITS.items():
        b = data[name]
        shown = "unbounded" if b["value"] is None else f"{b['value']:.6g}"
        margin = "-" if b["margin"] is None else f"{b['margin']:.6g}"
        table.add_row(name, shown, unit, f"{b['default']:.6g}", margin)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("tolerance")(tolerance_cmd)
