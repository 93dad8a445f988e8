"""``otters device``: the optoelectronic synapse (decay curve, firing schedule, fit, plot, demo).

Typer commands over :mod:`otters.device` and :mod:`otters.studies.device`: parse options, print.
"""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from otters.device import PAPER_CURVE, fit_decay, load_curve, plot_fit, plot_schedule, read_samples_csv, save_curve
from otters.paths import check_figure_path, check_output_dir, check_output_file
from otters.studies.device import DEMO_PROFILES, run_device_demo, schedule_dict

device_app = typer.Typer(
    help="The optoelectronic synapse: decay curve O(t), TTFS firing schedule, fit to measurements.",
    no_args_is_help=True,
)

_CURVE_HELP = "Curve JSON (from `otters device fit --out`); default: the paper's device."


def _curve(path: Optional[str]):
    return PAPER_CURVE if path is None else load_curve(path)


def schedule(
    T: int = typer.Option(15, "--T", "-T", help="Time steps per window, 2^n - 1 (n = activation bits)."),
    curve: Optional[str] = typer.Option(None, "--curve", help=_CURVE_HELP),
    adc_bits: int = typer.Option(8, "--adc-bits", help="ADC resolution for the integer codes."),
    dt: Optional[float] = typer.Option(None, "--dt", help="Also place the instants on a uniform clock of this period."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Firing schedule: t_k with O(t_k) = (T - k)/T and the stepped threshold theta_k (alpha = 1)."""
    data = schedule_dict(_curve(curve), T, adc_bits, dt)
    if as_json:
        print(json.dumps(data))
        return
    table = Table(title=f"TTFS firing schedule, T = {T} ({data['curve']['kind']} curve)")
    columns = ["k", "t_k", "O(t_k)", "theta_k", f"ADC a_k ({adc_bits} bit)"] + (["tick"] if dt else [])
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    for k in range(T + 1):
        row = [
            str(k), f"{data['fire_times'][k]:.6e}", f"{data['levels'][k]:.12f}",
            f"{data['thresholds'][k]:g}", str(data["adc_codes"][k]),
        ]
        table.add_row(*row, *([str(data["ticks"][k])] if dt else []))
    console = Console()
    console.print(table)
    console.print(
        f"max |O(t_k) - (T-k)/T| = {data['max_level_error']:.2e}; coarsest clock period that "
        f"separates the instants: dt = {data['coarsest_clock']:.6g}"
    )


def fit(
    csv: str = typer.Argument(..., help="CSV of t,current (header optional)."),
    out: Optional[str] = typer.Option(None, "--out", help="Write the fitted curve JSON here."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write a figure of the fit here (png/pdf/svg)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the differential evolution."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Fit O(t) = I0*exp(-(t/tau)^beta) + I_offset to measured samples (differential evolution + polish)."""
    if out:  # checked before the fit: a refused command writes nothing
        check_output_file(out)
    if plot:
        check_figure_path(plot)
    t, current = read_samples_csv(csv)
    result = fit_decay(t, current, seed=seed)
    if out:
        save_curve(result.curve, out, meta={"fit": result.to_dict(), "source": str(csv)})
    if plot:
        plot_fit(t, current, result, plot)
    if as_json:
        print(json.dumps(result.to_dict()))
        return
    table = Table(title=f"Stretched-exponential fit of {csv} (n = {result.n})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for name, value in result.params.items():
        table.add_row(name, f"{value:.6g}")
    table.add_row("O(0) = I0 + I_offset", f"{result.curve.O0:.6g}")
    table.add_row("RSS", f"{result.rss:.6g}")
    table.add_row("R^2", f"{result.r2:.6f}")
    table.add_row("RMS residual", f"{result.rmse:.6g}")
    console = Console()
    console.print(table)
    console.print("I0 and I_offset nearly cancel: judge the fit by the curve (R^2, RMS), not the parameters.")
    for label, path in (("curve", out), ("plot", plot)):
        if path:
            console.print(f"wrote {label}: {path}")


def plot(
    curve: Optional[str] = typer.Option(None, "--curve", help=_CURVE_HELP),
    T: int = typer.Option(15, "--T", "-T", help="Time steps per window, 2^n - 1."),
    out: str = typer.Option("device.png", "--out", help="Figure file (png/pdf/svg)."),
) -> None:
    """Plot the decay curve on a log-time axis with the fire times and the stepped threshold."""
    check_figure_path(out)
    plot_schedule(_curve(curve), T, out)
    print(f"wrote {out}")


def demo(
    out: str = typer.Option("runs/device-demo", "--out", help="Folder of samples.csv, fitted_curve.json, fit.png, "
                            "schedule.png and summary.json."),
    profile: str = typer.Option("quick", "--profile", help=f"{' or '.join(DEMO_PROFILES)}: samples, fit iterations, "
                                "schedules and drawn devices."),
    seed: int = typer.Option(0, "--seed", help="Seed of the noisy samples, the fit and the drawn devices."),
    as_json: bool = typer.Option(False, "--json", help="Print summary.json's content instead of the log lines."),
) -> None:
    """Measure (synthetic noisy samples), fit O(t), derive the firing schedule and check exact TTFS coding
    through the device; the device step of ``otters run``."""
    log = (lambda msg: None) if as_json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    check_output_dir(out)
    summary = run_device_demo(out, profile, seed, log)
    if as_json:
        print(json.dumps(summary))
    else:
        print(f"wrote {out}: {', '.join(summary['files'])}")


def register(app: typer.Typer) -> None:
    """Add the ``device`` group to the main app."""
    device_app.command("schedule")(schedule)
    device_app.command("fit")(fit)
    device_app.command("plot")(plot)
    device_app.command("demo")(demo)
    app.add_typer(device_app, name="device")
