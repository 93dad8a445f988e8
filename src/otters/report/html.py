"""report.html: one self-contained page (inline CSS, figures as base64 PNG, no script, no external URL).

Every figure is an ``<img>`` with a stable ``id`` and ``alt`` text (the tests find them in the DOM);
every number sits next to the command that reproduces it.
"""

from __future__ import annotations

import base64
import html
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
from otters.report.summary import RunSummary
from otters.report.terminal import machine_line

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1150px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.ours td{background:#eef6ee;font-weight:600}
pre.cmd{background:#f6f6f6;border-left:3px solid #5a8;padding:.4em .7em;overflow-x:auto;font-size:.85em;white-space:pre-wrap}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}
.note{background:#fff8e0;border:1px solid #e8d48a;padding:.5em .8em}.ok{color:#176b2c;font-weight:600}.bad{color:#b00;font-weight:600}
.meta{color:#555;font-size:.9em}
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


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


def table(headers, rows, left: int = 1, row_classes=None) -> str:
    """An HTML table; the first ``left`` columns are left-aligned."""
    head = "".join(f'<th class="l">{esc(h)}</th>' if i < left else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(f'<td class="l">{esc(c)}</td>' if i < left else f"<td>{esc(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(fig_id: str, png: Path | None, alt: str, caption: str) -> str:
    """An inline figure (base64 PNG); a missing file becomes a visible note instead."""
    if png is None or not Path(png).is_file():
        return f'<p class="note" id="{esc(fig_id)}-missing">Figure not available: {esc(alt)}.</p>'
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (f'<figure><img id="{esc(fig_id)}" alt="{esc(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def commands(items) -> str:
    """The commands that reproduce a section's numbers."""
    out = []
    for item in items or []:
        out.append(f"<p class=\"meta\">{esc(item.what)}:</p><pre class=\"cmd\">{esc(item.command)}</pre>")
    return "".join(out)


def section(sec_id: str, title: str, body: str) -> str:
    return f'<section id="{esc(sec_id)}"><h2>{esc(title)}</h2>{body}</section>'


def accuracy_section(s: RunSummary) -> str:
    acc = s.accuracy
    if not acc:
        return section("accuracy", "Accuracy", '<p class="note">The evaluation step has not run.</p>')
    beside = {p.role: p for p in acc.paper}

    def paper_cell(model: str) -> str:
        role = "teacher" if model.startswith("teacher") else "snn" if model.startswith("student SNN") else None
        p = beside.get(role)
        if not p or p.score is None:
            return "–"
        other = "" if p.same_task else "; another task, a loose reference"
        return f"{p.model}, {p.column}: {p.score:g}{other}"

    rows = [[r.model, r.n, *(pct(r.metrics.get(m)) for m in acc.metric_names), paper_cell(r.model)] for r in acc.rows]
    ours = table(["model", "n", *[f"{m} (%)" for m in acc.metric_names], "paper's row beside it (%)"], rows)
    column = paper_column(s.task)
    paper = table(["model (paper, GLUE dev)", "size", *GLUE_COLUMNS],
                  [[name, size, *(fmt(v) for v in vals)] for name, size, vals in GLUE_ROWS], left=2)
    if column:
        where = (f"Our task {s.task} is the paper's {column} column; ours is scored on the {acc.split} split"
                 + (" (GLUE's official dev set)." if acc.split == "dev" else
                    " (held out from train.tsv: the official dev file was not given)."))
    else:
        where = (f"The paper has no {s.task} column: rt (Rotten Tomatoes, scored on its held-out test split) is a "
                 "movie-review sentiment task like SST-2 but a different corpus, so compare with SST-2 loosely.")
    body = (f"<p>Main metric: <b>{esc(acc.metric)}</b> on <b>{esc(acc.split)}</b>. {esc(where)}</p>{ours}"
            f"<p class=\"meta\">Published rows ({esc(GLUE_SOURCE)}), in percent:</p>{paper}"
            + commands(acc.commands))
    return section("accuracy", "Accuracy beside the paper", body)


def exactness_section(s: RunSummary) -> str:
    ex = s.exactness
    if not ex:
        return section("exactness", "Exactness", '<p class="note">The verification step has not run.</p>')
    v = ex.verify
    verdict = '<span class="ok">exact</span>' if v.exact else '<span class="bad">NOT exact</span>'
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
    body = (f"<p>Verdict ({esc(v.simulator)} firing: every neuron compares with its stepped threshold): {verdict}."
            " A neuron's output is one spike step k in [0, T) or silence, so a neuron fires at most once.</p>"
            + table(["check", "value"], rows) + commands(ex.commands))
    return section("exactness", "Exactness of the QNN → SNN conversion (Otters, ICLR 2026, Proposition 1)", body)


def energy_section(s: RunSummary, fig: str) -> str:
    e = s.energy
    if not e:
        return section("energy", "Energy", '<p class="note">The energy step has not run.</p>')
    parts = [[k, fmt(v * 1e3)] for k, v in e.parts.items()] + [["total", fmt(e.total_mj * 1e3)]]
    paper = [[m, fmt(fc), fmt(qkv), fmt(t), f"{g:g}×"] for m, fc, qkv, t, g in ENERGY_ROWS]
    # rows of otters.studies.energy.paper_energy_table, as energy.json records them
    analytic = [[r["model"], fmt(r["total_mj"]), fmt(r["paper_total_mj"]), fmt(r["ratio_to_paper"], 3),
                 fmt(r["gain_vs_bert"], 3)] for r in e.paper_table or []]
    spiking = e.audit["spiking"]
    body = (f"<p>Measured on {e.input['sentences']} sentences of the evaluation split (mean "
            f"{e.input['mean_tokens']:.1f} tokens), whole model per inference, table {esc(e.table)}. Spiking "
            f"path over those sentences: {fmt(spiking['mults'])} multiplications, "
            f"{fmt(spiking['spikes'])} spikes.</p>{_sparsity(e.sparsity)}{fig}"
            + table(["part", "µJ per inference"], parts)
            + "<p class=\"meta\">Our analytical model of one BERT-base attention block (128 tokens) beside the paper's "
              "totals (mJ):</p>" + table(["model", "ours (mJ)", "paper (mJ)", "ours/paper", "gain vs BERT"], analytic)
            + f"<p class=\"meta\">The paper's table ({esc(ENERGY_SOURCE)}):</p>"
            + table(["model", "FC (mJ)", "QKV (mJ)", "total (mJ)", "gain"], paper) + commands(e.commands))
    return section("energy", "Energy with measured spikes", body)


def _sparsity(sp) -> str:
    if not sp:
        return ""
    return (f"<p>Silent neurons (no spike) over {fmt(sp.neurons)} neuron evaluations on {sp.samples} sentences of "
            f"{esc(sp.split)}: <b>{100 * sp.ttfs:.1f} %</b> with plain TTFS, <b>{100 * sp.mttfs:.1f} %</b> "
            "with M-TTFS (Matterhorn: the silent state moved to each population's most frequent level, calibrated on "
            f"{sp.calibration_samples} training sentences).</p>")


def _hat_rows(r) -> str:
    if not r.hat_comparison:
        return ""
    rows = []
    for c in r.hat_comparison:
        b, h = c.base, c.hat_model
        verdict = {True: "yes", False: "no", None: "n/a: the base loses nothing"}[c.less_than_half]
        rows.append([c.kind, f"{100 * c.level:g} %", pct(b.nominal), pct(b.at_level), pct(b.loss), h.role or h.label,
                     pct(h.nominal), pct(h.at_level), pct(h.loss), verdict])
    facts = "; ".join(f[3] for f in ROBUSTNESS_FACTS)
    return ("<p>At the largest deviation: each model's loss = its metric on the nominal chip minus its mean over the "
            "drawn chips; the HAT criterion is met when the HAT model loses less than half of what the base loses.</p>"
            + table(["kind", "deviation", "base nominal", "base at level", "base loss", "HAT model", "HAT nominal",
                     "HAT at level", "HAT loss", "HAT loss < base loss / 2"], rows, left=1)
            + f"<p class=\"meta\">The paper ({esc(ROBUSTNESS_SOURCE)}): {esc(facts)}.</p>")


def robustness_section(s: RunSummary, fig: str) -> str:
    r = s.robustness
    if not r:
        return section("robustness", "Robustness", '<p class="note">The robustness step has not run.</p>')
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
    body = (f"<p>{esc(r.metric)} (%) of the SNN on {r.rows} rows, {r.draws} drawn chip(s) per level; "
            f"the same chips for every student. {esc(exact)}.</p>{fig}"
            + table(["kind", "deviation", *names], rows, left=2) + _hat_rows(r) + commands(r.commands))
    return section("robustness", "Robustness to device variation", body)


def student_section(s: RunSummary) -> str:
    students = s.student or {}
    if not students:
        return ""
    rows = [[name, e["dir"], f"{sum(e['files'].values()) / 2**20:.2f}", (e.get("sha256") or "")[:16]]
            for name, e in students.items()]
    body = ("<p>The distilled students, copied to the run directory (safetensors with 1-bit weights stored as bits, "
            "JSON, tokenizer): <code>otters eval|verify|audit|energy|sparsity|robustness DIR</code> accept them "
            "directly, in place of the distill*/student paths in the commands.</p>"
            + table(["student", "directory", "MiB", "sha256 of weights (prefix)"], rows, left=2))
    return section("student", "The packed student", body)


def render(s: RunSummary, figs: dict) -> str:
    """The whole page from the summary ``s`` and ``figs`` {id: (png path or None, alt, caption)}."""
    f = {k: figure(k, *v) for k, v in figs.items()}
    d = s.device
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in s.notes)
    device_rows = [["fit R²", fmt(d and d.r2, 6)], ["RMS error vs true curve", fmt(d and d.rms_error_vs_truth)],
                   ["t_1 / t_T (T = 15)", f"{fmt(d and d.t_1)} / {fmt(d and d.t_T)}"],
                   ["coarsest clock period", fmt(d and d.clock)],
                   ["exact integer accumulator through the nominal device", fmt(d and d.accumulator_exact)]]
    device = (table(["device", "value"], device_rows) + f.get("fig-device-schedule", "") + f.get("fig-device-fit", "")
              + commands(d.commands if d else None))
    spikes = f.get("fig-raster", "") + f.get("fig-spike-hist", "")
    steps = [[name, "written with this page: see summary.json" if name == "report" and not w else fmt(w, 4)]
             for name, w in s.steps.items()] + [["total", fmt(s.total_wall_s, 4)]]
    every = [[c.step, c.what, c.command] for c in s.commands]
    machine = machine_line(s.machine) if isinstance(s.machine, dict) else str(s.machine or "")
    head = (f"<h1>otters run: {esc(s.task)}, profile {esc(s.profile)}</h1>"
            f"<p class=\"meta\">run directory {esc(s.run_dir)}; otters {esc(s.otters_version)}; "
            f"seed {s.seed}; wall time {s.total_wall_s:.0f} s; machine: {esc(machine)}</p>")
    parts = [head, notes, accuracy_section(s), exactness_section(s),
             section("device", "Device: decay curve, firing instants, stepped threshold", device),
             section("spikes", "Spikes through the layers", spikes),
             energy_section(s, f.get("fig-energy", "")), robustness_section(s, f.get("fig-robustness", "")),
             section("steps", "Steps and wall time (s)", table(["step", "wall s"], steps)),
             student_section(s),
             section("reproduce", "Commands that reproduce every number", table(["step", "number", "command"], every, left=3))]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>otters run: {esc(s.task)} ({esc(s.profile)})</title><style>{CSS}</style></head><body>"
            + "".join(parts) + "</body></html>")
