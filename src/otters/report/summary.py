"""summary.json: the run's numbers in one JSON object, and the terminal summary (a rich table).

Built from run.json's settings and step results only (plain dicts), so the report can be rendered
again from a finished or partial run directory without recomputing anything.
"""

from __future__ import annotations

import platform

from otters.report.paper import hat_name, paper_beside, paper_column

STEP_ORDER = ("preflight", "device", "teacher", "distill", "verify", "evaluate", "energy", "robustness", "report")


def _accuracy(task: str, ev: dict) -> dict:
    from otters.data.metrics import metric_names

    rows = [{"model": "teacher (full precision)", **ev["teacher"]},
            {"model": "student QNN (Otters-1bitKV)", **ev["qnn"]},
            {"model": "student SNN (converted, nominal device)", **ev["snn"]}]
    if ev.get("majority"):
        m = ev["majority"]
        rows.insert(0, {"model": f"majority class ({m['class']}) baseline", "n": m["n"], "metrics": m["metrics"]})
    for hat, h in (ev.get("hat") or {}).items():
        name = f"{hat_name(float(hat))} (training noise {float(hat):g})"
        rows += [{"model": f"{name} student QNN", "n": h["n"], "metrics": h["qnn"]},
                 {"model": f"{name} student SNN", "n": h["n"], "metrics": h["snn"]}]
    return {"metric": ev["main_metric"], "metric_names": list(metric_names(task)), "split": ev["split"],
            "rows": rows, "paper_column": paper_column(task), "paper": paper_beside(task),
            "commands": ev.get("commands", [])}


def _machine(pre: dict) -> dict:
    """The machine recorded by the preflight (older runs recorded only the CPU count and load)."""
    found = dict(pre.get("machine") or {})
    found.setdefault("cpu_count", pre.get("cpu_count"))
    found.setdefault("load_average", pre.get("load_average"))
    found.setdefault("processor", platform.machine())
    return found


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


def hat_comparison(rob: dict) -> list[dict]:
    """Issue 7's HAT criterion at the largest deviation of the sweep, per HAT student and kind of variation.

    loss = metric of the student's SNN on the nominal chip - mean metric over the chips drawn at the
    largest level; ``less_than_half`` = HAT loss < base loss / 2 (None when the base loses nothing there:
    the criterion then says nothing). Base = the student without training noise (``hat`` 0 or None).
    """
    entries = rob.get("checkpoints") or {}
    base = [(k, v) for k, v in entries.items() if not v.get("hat")]
    hats = [(k, v) for k, v in entries.items() if v.get("hat")]
    if not base or not hats or not rob.get("levels"):
        return []
    base_label, b = base[0]
    level = max(rob["levels"])
    out = []
    for label, h in hats:
        for kind in rob["kinds"]:
            last_b, last_h = b["results"][kind][-1], h["results"][kind][-1]
            loss_b, loss_h = b["nominal"] - last_b["mean"], h["nominal"] - last_h["mean"]
            verdict = None if loss_b <= 0 else bool(loss_h < 0.5 * loss_b)
            out.append({"kind": kind, "level": level, "hat": h["hat"],
                        "base": {"label": base_label, "nominal": b["nominal"], "at_level": last_b["mean"], "loss": loss_b},
                        "hat_model": {"label": label, "role": h.get("role"), "nominal": h["nominal"],
                                      "at_level": last_h["mean"], "loss": loss_h},
                        "less_than_half": verdict})
    return out


def build_summary(run_dir, settings: dict, steps: dict) -> dict:
    """The summary of a run from its settings and ``steps`` {name: {"wall_s", "result"}} (run.json)."""
    from otters import __version__

    res = {name: rec["result"] for name, rec in steps.items()}
    profile = settings["profile"]
    out = {"otters_version": __version__, "run_dir": str(run_dir), "task": settings["task"],
           "profile": profile["name"], "seed": settings["seed"],
           "machine": _machine(res.get("preflight") or {}),
           "steps": {name: steps[name]["wall_s"] for name in STEP_ORDER if name in steps},
           "notes": [], "commands": []}
    out["total_wall_s"] = float(sum(out["steps"].values()))
    students = (res.get("report") or {}).get("students")
    if students:
        out["student"] = students
    if "evaluate" in res:
        out["accuracy"] = _accuracy(settings["task"], res["evaluate"])
    if "verify" in res:
        ex = {"verify": res["verify"], "commands": res["verify"].get("commands", [])}
        if "evaluate" in res:
            ev = res["evaluate"]
            ex.update(logits_equal=ev["logits_equal"], max_abs_logit_diff=ev["max_abs_logit_diff"],
                      mismatched_rows=ev["mismatched_rows"], n=ev["snn"]["n"])
        out["exactness"] = ex
    if "device" in res:
        d = res["device"]
        times = d["schedule_T15"]["fire_times"]
        out["device"] = {"r2": d["fit"].get("r2"), "rms_error_vs_truth": d["fit"].get("rms_error_vs_truth"),
                         "params": d["fit"].get("params"), "t_1": times[1], "t_T": times[-1],
                         "clock": d["schedule_T15"].get("coarsest_clock"),
                         "accumulator_exact": d["coding"].get("accumulator_exact"), "commands": d.get("commands", [])}
    if "energy" in res:
        out["energy"] = dict(res["energy"])
    if "robustness" in res:
        out["robustness"] = dict(res["robustness"])
        out["robustness"]["hat_comparison"] = hat_comparison(out["robustness"])
    for name in STEP_ORDER:
        for c in (res.get(name) or {}).get("commands", []) or []:
            out["commands"].append({"step": name, **c})
    if profile["name"] == "quick":
        d, t = profile["distill"], profile["teacher"]
        rows = "all training" if t.get("max_train_rows") is None else f"{t['max_train_rows']}"
        out["notes"].append(
            f"quick is a smoke profile: the student was distilled for {d['max_steps']} steps of {d['batch_size']} rows "
            f"(single stage) and the teacher, unless a finished full teacher was cached, saw "
            f"{rows} rows for {t.get('epochs')} epoch(s); its accuracy is far below the paper's by "
            "design. Use --profile full (staged distillation, full epochs; hours, meant for a GPU) for accuracy.")
    ev = res.get("evaluate")
    if ev and ev.get("predicted_classes") == 1:
        out["notes"].append("the student predicts the same class for every evaluated sentence (it collapsed to a "
                            "constant): its accuracy is the majority-class baseline, not learned.")
    teacher = res.get("teacher")
    if teacher:
        out["teacher"] = {k: teacher.get(k) for k in ("dir", "source", "main_metric", "validation", "train_rows")}
    if "preflight" in res and not res["preflight"].get("chromium"):
        out["notes"].append("chromium was not found, so report.html was not opened in a headless browser on this "
                            "machine; to have every run check it, run (as root): apt-get install -y chromium")
    missing = [n for n in STEP_ORDER[1:-1] if n not in res]
    if missing:
        out["notes"].append(f"steps not run yet: {', '.join(missing)} (continue with: otters run --resume {run_dir})")
    return out


def terminal_table(summary: dict):
    """A rich Table of the headline numbers (printed at the end of ``otters run``), the paper's beside ours."""
    from rich.table import Table

    t = Table(title=f"otters run: {summary['task']} ({summary['profile']}), {summary['total_wall_s'] / 60:.1f} min")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_column("paper", justify="right")
    acc = summary.get("accuracy")
    if acc:
        paper = {p["role"]: p for p in acc.get("paper", [])}
        for row in acc["rows"]:
            role = "teacher" if row["model"].startswith("teacher") else "snn" if row["model"].startswith("student SNN") else None
            p = paper.get(role)
            beside = (f"{p['model']} {p['column']}: {p['score']:g} %" + ("" if p["same_task"] else " (other task)")
                      if p and p["score"] is not None else "")
            t.add_row(f"{row['model']} {acc['metric']} ({acc['split']}, n={row['n']})",
                      f"{100 * row['metrics'][acc['metric']]:.2f} %", beside)
    ex = summary.get("exactness")
    if ex:
        v = ex["verify"]
        t.add_row("SNN == QNN stage by stage", f"{'exact' if v['exact'] else 'NOT exact'} ({v['sentences']} sentences)", "")
        if "n" in ex:
            t.add_row("bit-identical logits", f"{ex['n'] - ex['mismatched_rows']} / {ex['n']} sentences", "")
        t.add_row("max spikes per neuron", str(v["max_spikes_per_neuron"]), "≤ 1")
    e = summary.get("energy")
    if e:
        t.add_row("energy per inference (measured spikes, whole model)", f"{e['total_mj'] * 1e3:.4g} µJ", "")
        t.add_row("multiplications in the spiking path", f"{e['audit']['spiking']['mults']:,.0f}", "0")
        sp = e.get("sparsity")
        if sp:
            t.add_row(f"silent neurons, TTFS / M-TTFS ({sp['samples']} sentences)",
                      f"{100 * sp['ttfs']:.1f} % / {100 * sp['mttfs']:.1f} %", "")
    r = summary.get("robustness")
    if r:
        for label, entry in r["checkpoints"].items():
            for kind in r["kinds"]:
                last = entry["results"][kind][-1]
                t.add_row(f"{entry.get('role', label)}: {kind} deviation {100 * last['level']:g} %",
                          f"{100 * last['mean']:.2f} %", "")
        for c in r.get("hat_comparison", []):
            verdict = {True: "yes", False: "NO", None: "n/a (base loses nothing)"}[c["less_than_half"]]
            t.add_row(f"{c['hat_model'].get('role') or c['hat_model']['label']} loses < half of base at "
                      f"{100 * c['level']:g} % {c['kind']}",
                      f"{verdict} ({100 * c['hat_model']['loss']:.2f} vs {100 * c['base']['loss']:.2f} points)",
                      "HAT2 80.8 % at 20 %" if c["hat_model"].get("role") == "HAT2" else "")
    b = summary.get("browser_check")
    if b and b.get("ok") is not None:
        t.add_row("report.html in headless Chromium", "opens, every figure shown, no console message" if b["ok"]
                  else f"PROBLEM: {b.get('error') or ''} {b.get('missing_figures') or ''} {b.get('console') or ''}"[:90], "")
    return t


def terminal_commands(summary: dict) -> list[str]:
    """The lines printed after the table: the notes, every number's command, one per line (never wrapped,
    so a line can be copied into a shell), and where the packed student and the machine are."""
    lines = [f"note: {note}" for note in summary.get("notes", [])]  # whole: a note may end with its fix
    lines.append("commands that reproduce every number above (also in report.html and summary.json):")
    for c in summary.get("commands", []):
        lines.append(f"  # {c['step']}: {c['what']}")
        lines.append(f"  {c['command']}")
    students = summary.get("student") or {}
    if "base" in students:
        lines.append(f"packed student (otters eval|verify|audit|energy|sparsity accept it): {students['base']['dir']}")
    lines.append(f"machine: {machine_line(summary.get('machine') or {})}; wall time {summary['total_wall_s']:.0f} s")
    return lines
