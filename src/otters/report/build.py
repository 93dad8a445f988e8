"""Write a run's report: figures from the step files, then summary.json and report.html (atomic)."""

from __future__ import annotations

from pathlib import Path

from otters.io import atomic_write_json, atomic_write_text, read_json
from otters.report.figures import energy_figure, histogram_figure, raster_figure
from otters.report.html import render
from otters.report.summary import build_summary

FIGURE_IDS = ("fig-device-schedule", "fig-device-fit", "fig-raster", "fig-spike-hist", "fig-energy", "fig-robustness")


def _maybe(path: Path, make) -> Path | None:
    """Build a figure from its data file if that exists (a partial run has fewer figures)."""
    return make() if path.is_file() else None


def write_report(run_dir, settings: dict, steps: dict) -> dict:
    """Figures + summary.json + report.html in ``run_dir``; returns {"summary", "html", "json", "figures"}."""
    run_dir = Path(run_dir)
    figdir = run_dir / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    summary = build_summary(run_dir, settings, steps)
    raster = _maybe(run_dir / "raster.json", lambda: raster_figure(read_json(run_dir / "raster.json"), figdir / "raster.png"))
    hist = _maybe(run_dir / "spike_histograms.json",
                  lambda: histogram_figure(read_json(run_dir / "spike_histograms.json"), figdir / "spike_hist.png"))
    energy_data = read_json(run_dir / "energy.json") if (run_dir / "energy.json").is_file() else None
    energy = energy_figure(energy_data["measured"], figdir / "energy.png") if energy_data else None
    if energy_data and "energy" in summary:
        summary["energy"]["paper_table"] = energy_data["paper_table"]
    device = run_dir / "device"
    rob = run_dir / "robustness.png"
    figs = {
        "fig-device-schedule": (device / "schedule.png" if (device / "schedule.png").is_file() else None,
                                "device decay curve with firing instants and stepped threshold",
                                "O(t) of the paper's device on a log time axis; dots: the T = 15 firing instants t_k "
                                "with O(t_k) = (T-k)/T; steps: the normalised stepped threshold θ(t)/(αT)."),
        "fig-device-fit": (device / "fit.png" if (device / "fit.png").is_file() else None, "device fit to noisy samples",
                           "Differential-evolution fit of the stretched exponential to synthetic noisy samples, residuals below."),
        "fig-raster": (raster, "spike raster of one sentence through the layers",
                       "Sampled neurons of every population of one sentence; each neuron fires at most once, "
                       "at step k = T - level of its window, or stays silent (level 0)."),
        "fig-spike-hist": (hist, "spike-time histograms per layer",
                           "Fraction of each population's neurons firing at each step k, per layer."),
        "fig-energy": (energy, "energy breakdown per inference",
                       "Energy of the spiking model per inference from its operation audit on real sentences."),
        "fig-robustness": (rob if rob.is_file() else None, "robustness curves under device variation",
                           "Main metric of the SNN versus the relative deviation of the device, mean ± std over drawn chips."),
    }
    summary["figures"] = {k: str(v[0]) if v[0] else None for k, v in figs.items()}
    page = render(summary, figs)
    html_path = atomic_write_text(run_dir / "report.html", page)
    json_path = atomic_write_json(run_dir / "summary.json", summary)
    return {"summary": summary, "html": str(html_path or run_dir / "report.html"),
            "json": str(json_path or run_dir / "summary.json"), "figures": summary["figures"]}
