"""What report.html shows, as typed views: numbers formatted into tables, figures read as base64.

One view per section of the page (accuracy, exactness, energy, robustness, ...), built from the run's
summary (:class:`otters.report.summary.RunSummary`); :mod:`otters.report.html` hands them to the
jinja2 templates, which hold the words and the markup. Nothing here is escaped: the templates'
autoescaping does that for every value.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from otters.report.paper import (
    ENERGY_ROWS,
    ENERGY_SOURCE,
    GLUE_COLUMNS,
    GLUE_ROWS,
    GLUE_SOURCE,
    ROBUSTNESS_FACTS,
    ROBUSTNESS_SOURCE,
    paper_column,
)
from otters.report.results import Command
from otters.report.summary import RunSummary


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


@dataclass
class Table:
    """A table of already formatted cells; the first ``left`` columns are left-aligned."""

    headers: list[str]
    rows: list[list]
    left: int = 1


@dataclass
class Figure:
    """An inline figure; ``png_base64`` None: the file is missing and the page says so instead."""

    id: str
    alt: str
    caption: str
    png_base64: str | None = None


@dataclass
class AccuracyView:
    task: str
    metric: str
    split: str
    paper_column: str | None
    ours: Table
    paper: Table
    paper_source: str
    commands: list[Command]


@dataclass
class ExactnessView:
    simulator: str
    exact: bool
    checks: Table
    commands: list[Command]


@dataclass
class SparsityView:
    neurons: str
    samples: int
    split: str
    ttfs_pct: str
    mttfs_pct: str
    calibration_samples: int
    split_pct: str | None = None


@dataclass
class EnergyView:
    sentences: int
    mean_tokens: str
    table: str
    spiking_mults: str
    spiking_spikes: str
    sparsity: SparsityView | None
    figure: Figure | None
    parts: Table
    analytic: Table
    paper: Table
    paper_source: str
    commands: list[Command]
    codings: Table | None = None


@dataclass
class HatView:
    comparison: Table
    paper_source: str
    paper_facts: str


@dataclass
class DegradationView:
    """The base student past the exactness envelope (full profile): figure, one row per degraded chip."""

    sentences: int
    split: str
    closed_form_pct: str
    bounds: str
    figure: Figure | None
    points: Table
    commands: list[Command]


@dataclass
class RobustnessView:
    metric: str
    rows: int
    draws: int
    exact: str
    figure: Figure | None
    sweep: Table
    hat: HatView | None
    commands: list[Command]
    degradation: DegradationView | None = None


def figure(fig_id: str, png: Path | None, alt: str, caption: str) -> Figure:
    """A figure read as base64 (``png_base64`` None when the file is not there)."""
    data = None
    if png is not None and Path(png).is_file():
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return Figure(fig_id, alt, caption, data)


def accuracy_view(s: RunSummary) -> AccuracyView | None:
    acc = s.accuracy
    if not acc:
        return None
    beside = {p.role: p for p in acc.paper}

    def paper_cell(model: str) -> str:
        role = "teacher" if model.startswith("teacher") else "snn" if model.startswith("student SNN") else None
        p = beside.get(role)
        if not p or p.score is None:
            return "–"
        other = "" if p.same_task else "; another task, a loose reference"
        return f"{p.model}, {p.column}: {p.score:g}{other}"

    rows = [[r.model, r.n, *(pct(r.metrics.get(m)) for m in acc.metric_names), paper_cell(r.model)] for r in acc.rows]
    ours = Table(["model", "n", *[f"{m} (%)" for m in acc.metric_names], "paper's row beside it (%)"], rows)
    paper = Table(["model (paper, GLUE dev)", "size", *GLUE_COLUMNS],
                  [[name, size, *(fmt(v) for v in vals)] for name, size, vals in GLUE_ROWS], left=2)
    return AccuracyView(task=s.task, metric=acc.metric, split=acc.split, paper_column=paper_column(s.task),
                        ours=ours, paper=paper, paper_source=GLUE_SOURCE, commands=list(acc.commands or []))


def exactness_view(s: RunSummary) -> ExactnessView | None:
    ex = s.exactness
    if not ex:
        return None
    v = ex.verify
    rows = [
        ["stage checks (levels in, stored K/V, accumulators, logits)", v.checks],
        ["sentences verified stage by stage", v.sentences],
        ["max |level difference| (spikes decoded vs QNN levels)", v.max_level_diff],
        ["max |potential / logit difference| (float32)", fmt(v.max_potential_diff)],
        ["max spikes per neuron", v.max_spikes_per_neuron],
        ["firing rate (spikes / neurons)", fmt(v.firing_rate)],
        ["TTFS windows per inference (6 per layer + pooler)", v.windows],
    ]
    if ex.logits_equal is not None:
        rows += [["evaluated sentences with bit-identical SNN and QNN logits", f"{ex.n - ex.mismatched_rows} of {ex.n}"],
                 ["max |SNN - QNN| logit over all evaluated sentences", fmt(ex.max_abs_logit_diff)]]
    return ExactnessView(simulator=v.simulator, exact=bool(v.exact), checks=Table(["check", "value"], rows),
                         commands=list(ex.commands or []))


def _sparsity_view(sp) -> SparsityView | None:
    if not sp:
        return None
    return SparsityView(neurons=fmt(sp.neurons), samples=sp.samples, split=sp.split, ttfs_pct=f"{100 * sp.ttfs:.1f}",
                        mttfs_pct=f"{100 * sp.mttfs:.1f}", calibration_samples=sp.calibration_samples,
                        split_pct=None if sp.sign_split is None else f"{100 * sp.sign_split:.1f}")


def _codings_table(codings) -> Table | None:
    """Offset / split / M-TTFS side by side (the energy step's ``codings``; None in runs recorded before)."""
    if not codings:
        return None
    base = next((c.total_mj for c in codings if c.coding == "ttfs"), codings[0].total_mj)
    rows = [[c.label + (" (default)" if c.default else ""), f"{100 * c.silent:.1f}", f"{100 * c.silent_measured:.1f}",
             fmt(c.spikes, 6), fmt(c.device_reads, 4), fmt(c.conversions, 4), f"{1e3 * c.total_mj:.2f}",
             f"{c.total_mj / base:.3f}×"] for c in codings]
    return Table(["coding", "silent neurons, QNN histograms (%)", "silent neurons, SNN run (%)", "spikes / inference",
                  "device reads / inference", "ADC conversions / inference", "energy / inference (µJ)", "vs offset"],
                 rows)


def energy_view(s: RunSummary, fig: Figure | None) -> EnergyView | None:
    e = s.energy
    if not e:
        return None
    parts = [[k, fmt(v * 1e3)] for k, v in e.parts.items()] + [["total", fmt(e.total_mj * 1e3)]]
    paper = [[m, fmt(fc), fmt(qkv), fmt(t), f"{g:g}×"] for m, fc, qkv, t, g in ENERGY_ROWS]
    # rows of otters.studies.energy.paper_energy_table, as energy.json records them
    analytic = [[r["model"], fmt(r["total_mj"]), fmt(r["paper_total_mj"]), fmt(r["ratio_to_paper"], 3),
                 fmt(r["gain_vs_bert"], 3)] for r in e.paper_table or []]
    spiking = e.audit["spiking"]
    return EnergyView(
        sentences=e.input["sentences"], mean_tokens=f"{e.input['mean_tokens']:.1f}", table=e.table,
        spiking_mults=fmt(spiking["mults"]), spiking_spikes=fmt(spiking["spikes"]),
        sparsity=_sparsity_view(e.sparsity), figure=fig, parts=Table(["part", "µJ per inference"], parts),
        analytic=Table(["model", "ours (mJ)", "paper (mJ)", "ours/paper", "gain vs BERT"], analytic),
        paper=Table(["model", "FC (mJ)", "QKV (mJ)", "total (mJ)", "gain"], paper), paper_source=ENERGY_SOURCE,
        commands=list(e.commands or []), codings=_codings_table(e.codings))


def _hat_view(r) -> HatView | None:
    if not r.hat_comparison:
        return None
    rows = []
    for c in r.hat_comparison:
        b, h = c.base, c.hat_model
        verdict = {True: "yes", False: "no", None: "n/a: the base loses nothing"}[c.less_than_half]
        rows.append([c.kind, f"{100 * c.level:g} %", pct(b.nominal), pct(b.at_level), pct(b.loss), h.role or h.label,
                     pct(h.nominal), pct(h.at_level), pct(h.loss), verdict])
    table = Table(["kind", "deviation", "base nominal", "base at level", "base loss", "HAT model", "HAT nominal",
                   "HAT at level", "HAT loss", "HAT loss < base loss / 2"], rows, left=1)
    return HatView(comparison=table, paper_source=ROBUSTNESS_SOURCE,
                   paper_facts="; ".join(f[3] for f in ROBUSTNESS_FACTS))


_UNIT = {"dt": (1e9, "ns"), "jitter": (1e9, "ns"), "drift": (100, "%")}


def _degradation_view(d, fig: Figure | None) -> DegradationView | None:
    if d is None:
        return None
    rows = []
    for p in d.points:
        scale, unit = _UNIT.get(p.parameter, (1, "bits"))
        value = f"{int(p.value)} bits" if p.parameter == "adc_bits" else f"{scale * p.value:.3g} {unit}"
        rows.append([p.parameter, p.label, value, fmt(p.wrong_codes), fmt(p.max_code_error, 3), pct(p.accuracy),
                     pct(p.agreement), f"{p.exact_sentences} of {d.sentences}"])
    b = d.bounds
    bounds = (f"max clock period {fmt(b.get('max_clock_period'))} s, min ADC bits {b.get('min_adc_bits')}, "
              f"max output drift {fmt(b.get('max_output_drift'))}, max jitter {fmt(b.get('max_jitter'))} s "
              f"(T = {b.get('T')}, {b.get('adc_bits')}-bit ADC, clock {fmt(b.get('dt'))} s)")
    table = Table(["parameter", "setting", "value", "wrong codes", "largest code error (levels)", "accuracy (%)",
                   "agrees with closed form (%)", "bit-exact sentences"], rows, left=2)
    return DegradationView(sentences=d.sentences, split=d.split, closed_form_pct=pct(d.closed_form), bounds=bounds,
                           figure=fig, points=table, commands=[d.command])


def robustness_view(s: RunSummary, fig: Figure | None, degradation_fig: Figure | None = None) -> RobustnessView | None:
    r = s.robustness
    if not r:
        return None
    labels = list(r.checkpoints)
    rows = []
    for kind in r.kinds:
        for i, level in enumerate(r.levels):
            cells = []
            for label in labels:
                res = r.checkpoints[label].results[kind][i]
                cells.append(pct(res.mean) + (f" ± {100 * res.std:.2f}" if len(res.values) > 1 else ""))
            rows.append([kind, f"{100 * level:g} %", *cells])
    exact = ", ".join(f"{k}: nominal chip {'bit-exact' if v.exact else 'NOT bit-exact'} with the QNN"
                      for k, v in r.checkpoints.items())
    names = [f"{r.checkpoints[k].role or k} ({k})" for k in labels]
    return RobustnessView(metric=r.metric, rows=r.rows, draws=r.draws, exact=exact, figure=fig,
                          sweep=Table(["kind", "deviation", *names], rows, left=2), hat=_hat_view(r),
                          commands=[c for c in r.commands or [] if r.degradation is None or c != r.degradation.command],
                          degradation=_degradation_view(r.degradation, degradation_fig))


def students_table(s: RunSummary) -> Table | None:
    students = s.student or {}
    if not students:
        return None
    rows = [[name, e["dir"], f"{sum(e['files'].values()) / 2**20:.2f}", (e.get("sha256") or "")[:16]]
            for name, e in students.items()]
    return Table(["student", "directory", "MiB", "sha256 of weights (prefix)"], rows, left=2)
