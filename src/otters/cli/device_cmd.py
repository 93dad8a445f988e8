"""``otters device``: the optoelectronic synapse (decay curve, firing schedule, fit, plot).

Thin wrappers over :mod:`otters.device` and :mod:`otters.coding`; heavy imports stay inside the
command functions so that ``otters --help`` is fast.
"""

from __future__ import annotations

from typing import Optional

import typer

device_app = typer.Typer(
    help="The optoelectronic synapse: decay curve O(t), TTFS firing schedule, fit to measurements.",
    no_args_is_help=True,
)

_CURVE_HELP = "Curve JSON (from `otters device fit --out`); default: the paper's device."


def _curve(path: Optional[str]):
    from otters.device import PAPER_CURVE, load_curve

    return PAPER_CURVE if path is None else load_curve(path)


def schedule_dict(curve, T: int, adc_bits: int = 8, dt: Optional[float] = None) -> dict:
    """The firing schedule as plain data: the keys of ``otters device schedule --json``.

    With ``dt`` the instants are also placed on a uniform clock (key ``ticks``; OttersError when
    the clock is too coarse to separate them).
    """
    import numpy as np

    from otters.coding import adc_codes, stepped_threshold
    from otters.device import SampledCurve, clock, coarsest_clock, fire_times

    times = fire_times(curve, T)
    description = curve.to_dict()
    if isinstance(curve, SampledCurve):
        description = {"kind": curve.kind, "n_samples": int(curve.t.size)}
    data = {
        "T": T,
        "steps": list(range(T + 1)),
        "fire_times": [float(v) for v in times],
        "levels": [float(v) for v in curve(times)],
        "thresholds": [float(v) for v in stepped_threshold(1.0, T)],
        "adc_bits": adc_bits,
        "adc_codes": [int(v) for v in adc_codes(curve, T, adc_bits)],
        "coarsest_clock": coarsest_clock(times),
        "max_level_error": float(np.max(np.abs(curve(times) - (T - np.arange(T + 1)) / T))),
        "curve": description,
    }
    if dt is not None:
        data["dt"] = dt
        data["ticks"] = [int(v) for v in clock(times, dt)]
    return data


def schedule(
    T: int = typer.Option(15, "--T", "-T", help="Time steps per window, 2^n - 1 (n = activation bits)."),
    curve: Optional[str] = typer.Option(None, "--curve", help=_CURVE_HELP),
    adc_bits: int = typer.Option(8, "--adc-bits", help="ADC resolution for the integer codes."),
    dt: Optional[float] = typer.Option(None, "--dt", help="Also place the instants on a uniform clock of this period."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Firing schedule: t_k with O(t_k) = (T - k)/T and the stepped threshold theta_k (alpha = 1)."""
    import json

    from rich.console import Console
    from rich.table import Table

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
    import json

    from rich.console import Console
    from rich.table import Table

    from otters.device import fit_decay, plot_fit, read_samples_csv, save_curve

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
    from otters.device import plot_schedule

    plot_schedule(_curve(curve), T, out)
    print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the ``device`` group to the main app."""
    device_app.command("schedule")(schedule)
    device_app.command("fit")(fit)
    device_app.command("plot")(plot)
    app.add_typer(device_app, name="device")
