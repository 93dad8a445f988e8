"""What ``otters run`` prints at its end: the headline table (the paper's numbers beside ours), the notes,
every reproduction command, and the machine line, all from a :class:`~otters.report.summary.RunSummary`."""

from __future__ import annotations

from rich.table import Table

from otters.report.summary import RunSummary


def machine_line(m: dict) -> str:
    """One line for the report head and the terminal: CPUs, threads, torch, load."""
    parts = [f"{m.get('processor')}", f"{m.get('cpu_count')} CPU(s)"]
    if m.get("torch_threads") is not None:
        parts.append(f"{m['torch_threads']} torch thread(s)")
    if m.get("torch_version"):
        parts.append(f"torch {m['torch_version']}")
    if m.get("cuda"):
        parts.append(f"GPU {m['cuda']}")
    if m.get("load_average") is not None:
        parts.append(f"load average at start {m['load_average']}")
    return ", ".join(parts)


def _role(model: str) -> str | None:
    """Which paper row plays the part of our accuracy row ``model`` (teacher, snn) or None."""
    return "teacher" if model.startswith("teacher") else "snn" if model.startswith("student SNN") else None


def terminal_table(summary: RunSummary) -> Table:
    """A rich Table of the headline numbers (printed at the end of ``otters run``), the paper's beside ours."""
    t = Table(title=f"otters run: {summary.task} ({summary.profile}), {summary.total_wall_s / 60:.1f} min")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_column("paper", justify="right")
    acc = summary.accuracy
    if acc:
        paper = {p.role: p for p in acc.paper}
        for row in acc.rows:
            p = paper.get(_role(row.model))
            beside = (f"{p.model} {p.column}: {p.score:g} %" + ("" if p.same_task else " (other task)")
                      if p and p.score is not None else "")
            t.add_row(f"{row.model} {acc.metric} ({acc.split}, n={row.n})", f"{100 * row.metrics[acc.metric]:.2f} %",
                      beside)
    ex = summary.exactness
    if ex:
        v = ex.verify
        t.add_row("SNN == QNN stage by stage", f"{'exact' if v.exact else 'NOT exact'} ({v.sentences} sentences)", "")
        if ex.n is not None:
            t.add_row("bit-identical logits", f"{ex.n - ex.mismatched_rows} / {ex.n} sentences", "")
        t.add_row("max spikes per neuron", str(v.max_spikes_per_neuron), "≤ 1")
    e = summary.energy
    if e:
        t.add_row("energy per inference (measured spikes, whole model)", f"{e.total_mj * 1e3:.4g} µJ", "")
        t.add_row("multiplications in the spiking path", f"{e.audit['spiking']['mults']:,.0f}", "0")
        sp = e.sparsity
        t.add_row(f"silent neurons, TTFS / M-TTFS ({sp.samples} sentences)",
                  f"{100 * sp.ttfs:.1f} % / {100 * sp.mttfs:.1f} %", "")
    r = summary.robustness
    if r:
        for label, entry in r.checkpoints.items():
            for kind in r.kinds:
                last = entry.results[kind][-1]
                t.add_row(f"{entry.role or label}: {kind} deviation {100 * last.level:g} %", f"{100 * last.mean:.2f} %",
                          "")
        for c in r.hat_comparison:
            verdict = {True: "yes", False: "NO", None: "n/a (base loses nothing)"}[c.less_than_half]
            t.add_row(f"{c.hat_model.role or c.hat_model.label} loses < half of base at {100 * c.level:g} % {c.kind}",
                      f"{verdict} ({100 * c.hat_model.loss:.2f} vs {100 * c.base.loss:.2f} points)",
                      "HAT2 80.8 % at 20 %" if c.hat_model.role == "HAT2" else "")
    b = summary.browser_check
    if b and b.get("ok") is not None:
        t.add_row("report.html in headless Chromium", "opens, every figure shown, no console message" if b["ok"]
                  else f"PROBLEM: {b.get('error') or ''} {b.get('missing_figures') or ''} {b.get('console') or ''}"[:90], "")
    return t


def terminal_commands(summary: RunSummary) -> list[str]:
    """The lines printed after the table: the notes, every number's command, one per line (never wrapped,
    so a line can be copied into a shell), and where the packed student and the machine are."""
    lines = [f"note: {note}" for note in summary.notes]  # whole: a note may end with its fix
    lines.append("commands that reproduce every number above (also in report.html and summary.json):")
    for c in summary.commands:
        lines.append(f"  # {c.step}: {c.what}")
        lines.append(f"  {c.command}")
    students = summary.student or {}
    if "base" in students:
        lines.append(f"packed student (otters eval|verify|audit|energy|sparsity accept it): {students['base']['dir']}")
    lines.append(f"machine: {machine_line(summary.machine or {})}; wall time {summary.total_wall_s:.0f} s")
    return lines
