"""Write a run's report: figures from the step files, then summary.json and report.html (atomic)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from otters.io import atomic_write_json, atomic_write_text, read_json
from otters.report.figures import energy_figure, histogram_figure, raster_figure
from otters.report.html import render
from otters.report.record import to_json
from otters.report.results import read_step_result
from otters.report.summary import RunSummary, build_summary

FIGURE_IDS = ("fig-device-schedule", "fig-device-fit", "fig-raster", "fig-spike-hist", "fig-energy", "fig-robustness")


def _maybe(path: Path, make) -> Path | None:
    """Build a figure from its data file if that exists (a partial run has fewer figures)."""
    return make() if path.is_file() else None


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote: the summary, report.html and summary.json paths, figure paths by id."""

    summary: RunSummary
    html: str
    json: str
    figures: dict


def write_report(run_dir, settings: dict, steps: dict, students: dict | None = None) -> ReportFiles:
    """Figures + summary.json + report.html in ``run_dir`` from run.json's ``settings`` and ``steps``
    ({name: {"wall_s", "result"}}, results typed or as recorded; the report step's own result is not read),
    ``students``: the exported students (``otters.pipeline.export``)."""
    run_dir = Path(run_dir)
    figdir = run_dir / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    results = {name: read_step_result(name, record["result"], run_dir / "run.json")
               for name, record in steps.items() if name != "report"}
    walls = {name: record["wall_s"] for name, record in steps.items()}
    energy_data = read_json(run_dir / "energy.json") if (run_dir / "energy.json").is_file() else None
    summary = build_summary(run_dir, settings, results, walls, students,
                            energy_data["paper_table"] if energy_data else None)
    raster = _maybe(run_dir / "raster.json", lambda: raster_figure(read_json(run_dir / "raster.json"), figdir / "raster.png"))
    hist = _maybe(run_dir / "spike_histograms.json",
                  lambda: histogram_figure(read_json(run_dir / "spike_histograms.json"), figdir / "spike_hist.png"))
    energy = energy_figure(energy_data["measured"], figdir / "energy.png") if energy_data else None
    device = run_dir / "device"
    rob = run_dir / "robustness.png"
    degradation = run_dir / "degradation.png"
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
    if degradation.is_file():
        figs["fig-degradation"] = (degradation, "accuracy beyond the exactness envelope",
                                   "Accuracy of the base student with one of clock period, ADC bits, output drift or "
                                   "read jitter past its exactness bound (hardware-level simulator); filled points: "
                                   "every sentence bit-exact with the closed form.")
    summary.figures = {k: str(v[0]) if v[0] else None for k, v in figs.items()}
    page = render(summary, figs)
    html_path = atomic_write_text(run_dir / "report.html", page)
    json_path = atomic_write_json(run_dir / "summary.json", to_json(summary))
    return ReportFiles(summary=summary, html=str(html_path or run_dir / "report.html"),
                       json=str(json_path or run_dir / "summary.json"), figures=summary.figures)
