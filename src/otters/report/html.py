"""report.html: one self-contained page (inline CSS, figures as base64 PNG, no script, no external URL).

The page is rendered from the jinja2 templates in ``otters/report/templates`` (package data) with
autoescaping on, so every value a run hands over (a task name, a path, a command, a note) reaches the
page escaped. The views the templates show (numbers formatted into typed tables, figures read as
base64, one per section) come from :mod:`otters.report.views`; the words and the markup live in the
templates.

Every figure is an ``<img>`` with a stable ``id`` and ``alt`` text (the tests find them in the DOM);
every number sits next to the command that reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jinja2

from otters.report.results import Command
from otters.report.summary import RunSummary
from otters.report.terminal import machine_line
from otters.report.views import (
    AccuracyView,
    EnergyView,
    ExactnessView,
    Figure,
    RobustnessView,
    Table,
    accuracy_view,
    energy_view,
    exactness_view,
    figure,
    fmt,
    robustness_view,
    students_table,
)

TEMPLATE_DIR = "templates"  # inside the otters.report package
PAGE_TEMPLATE = "report.html.j2"


@dataclass
class Page:
    """Everything ``report.html.j2`` shows, section by section (None: the step has not run)."""

    task: str
    profile: str
    run_dir: str
    otters_version: str
    seed: int
    wall_s: str
    machine: str
    notes: list[str]
    accuracy: AccuracyView | None
    exactness: ExactnessView | None
    device: Table
    device_figures: list[Figure]
    device_commands: list[Command]
    spike_figures: list[Figure]
    energy: EnergyView | None
    robustness: RobustnessView | None
    steps: Table
    students: Table | None
    reproduce: Table


@cache
def environment() -> jinja2.Environment:
    """The templates' environment: autoescape on for every template, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("otters.report", TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def page(s: RunSummary, figs: dict) -> Page:
    """What the page shows, from the summary ``s`` and ``figs`` {id: (png path or None, alt, caption)}."""
    f = {k: figure(k, *v) for k, v in figs.items()}
    d = s.device
    device_rows = [["fit R²", fmt(d and d.r2, 6)], ["RMS error vs true curve", fmt(d and d.rms_error_vs_truth)],
                   ["t_1 / t_T (T = 15)", f"{fmt(d and d.t_1)} / {fmt(d and d.t_T)}"],
                   ["coarsest clock period", fmt(d and d.clock)],
                   ["exact integer accumulator through the nominal device", fmt(d and d.accumulator_exact)]]
    steps = [[name, "written with this page: see summary.json" if name == "report" and not w else fmt(w, 4)]
             for name, w in s.steps.items()] + [["total", fmt(s.total_wall_s, 4)]]
    machine = machine_line(s.machine) if isinstance(s.machine, dict) else str(s.machine or "")
    present = lambda *ids: [f[i] for i in ids if i in f]  # noqa: E731
    return Page(
        task=s.task, profile=s.profile, run_dir=s.run_dir, otters_version=s.otters_version, seed=s.seed,
        wall_s=f"{s.total_wall_s:.0f}", machine=machine, notes=list(s.notes),
        accuracy=accuracy_view(s), exactness=exactness_view(s),
        device=Table(["device", "value"], device_rows),
        device_figures=present("fig-device-schedule", "fig-device-fit"),
        device_commands=list(d.commands or []) if d else [],
        spike_figures=present("fig-raster", "fig-spike-hist"),
        energy=energy_view(s, f.get("fig-energy")),
        robustness=robustness_view(s, f.get("fig-robustness"), f.get("fig-degradation")),
        steps=Table(["step", "wall s"], steps), students=students_table(s),
        reproduce=Table(["step", "number", "command"], [[c.step, c.what, c.command] for c in s.commands], left=3))


def render(s: RunSummary, figs: dict) -> str:
    """The whole page from the summary ``s`` and ``figs`` {id: (png path or None, alt, caption)}."""
    return environment().get_template(PAGE_TEMPLATE).render(page=page(s, figs))
