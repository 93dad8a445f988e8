"""summary.json: the run's numbers in one JSON object, and the terminal summary (a rich table).

Built from run.json's settings and step results only (plain dicts), so the report can be rendered
again from a finished or partial run directory without recomputing anything.
"""

from __future__ import annotations

import platform

from otters.report.paper import paper_column

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
        rows += [{"model": f"HAT {hat} student QNN", "n": h["n"], "metrics": h["qnn"]},
                 {"model": f"HAT {hat} student SNN", "n": h["n"], "metrics": h["snn"]}]
    return {"metric": ev["main_metric"], "metric_names": list(metric_names(task)), "split": ev["split"],
            "rows": rows, "paper_column": paper_column(task), "commands": ev.get("commands", [])}


def build_summary(run_dir, settings: dict, steps: dict) -> dict:
    """The summary of a run from its settings and ``steps`` {name: {"wall_s", "result"}} (run.json)."""
    from otters import __version__

    res = {name: rec["result"] for name, rec in steps.items()}
    profile = settings["profile"]
    out = {"otters_version": __version__, "run_dir": str(run_dir), "task": settings["task"],
           "profile": profile["name"], "seed": settings["seed"],
           "machine": f"{platform.machine()}, {res.get('preflight', {}).get('cpu_count')} CPU(s), "
                      f"load average at start {res.get('preflight', {}).get('load_average')}",
           "steps": {name: steps[name]["wall_s"] for name in STEP_ORDER if name in steps},
           "notes": [], "commands": []}
    out["total_wall_s"] = float(sum(out["steps"].values()))
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
    for name in STEP_ORDER:
        for c in (res.get(name) or {}).get("commands", []) or []:
            out["commands"].append({"step": name, **c})
    if profile["name"] == "quick":
        d, t = profile["distill"], profile["teacher"]
        out["notes"].append(
            f"quick is a smoke profile: the student was distilled for {d['max_steps']} steps of {d['batch_size']} rows "
            f"(single stage) and the teacher, unless a finished full teacher was cached, saw "
            f"{t.get('max_train_rows')} rows for {t.get('epochs')} epoch(s); its accuracy is far below the paper's by "
            "design. Use --profile full (staged distillation, full epochs; hours, meant for a GPU) for accuracy.")
    ev = res.get("evaluate")
    if ev and ev.get("predicted_classes") == 1:
        out["notes"].append("the student predicts the same class for every evaluated sentence (it collapsed to a "
                            "constant): its accuracy is the majority-class baseline, not learned.")
    teacher = res.get("teacher")
    if teacher:
        out["teacher"] = {k: teacher.get(k) for k in ("dir", "source", "main_metric", "validation", "train_rows")}
    missing = [n for n in STEP_ORDER[1:-1] if n not in res]
    if missing:
        out["notes"].append(f"steps not run yet: {', '.join(missing)} (continue with: otters run --resume {run_dir})")
    return out


def terminal_table(summary: dict):
    """A rich Table of the headline numbers (printed at the end of ``otters run``)."""
    from rich.table import Table

    t = Table(title=f"otters run: {summary['task']} ({summary['profile']}), {summary['total_wall_s'] / 60:.1f} min")
    t.add_column("what")
    t.add_column("value", justify="right")
    acc = summary.get("accuracy")
    if acc:
        for row in acc["rows"]:
            t.add_row(f"{row['model']} {acc['metric']} ({acc['split']}, n={row['n']})",
                      f"{100 * row['metrics'][acc['metric']]:.2f} %")
    ex = summary.get("exactness")
    if ex:
        v = ex["verify"]
        t.add_row("SNN == QNN stage by stage", f"{'exact' if v['exact'] else 'NOT exact'} ({v['sentences']} sentences)")
        if "n" in ex:
            t.add_row("bit-identical logits", f"{ex['n'] - ex['mismatched_rows']} / {ex['n']} sentences")
        t.add_row("max spikes per neuron", str(v["max_spikes_per_neuron"]))
    e = summary.get("energy")
    if e:
        t.add_row("energy per inference (measured spikes)", f"{e['total_mj'] * 1e3:.4g} µJ")
    r = summary.get("robustness")
    if r:
        for label, entry in r["checkpoints"].items():
            for kind in r["kinds"]:
                last = entry["results"][kind][-1]
                t.add_row(f"{label}: {kind} deviation {100 * last['level']:g} %", f"{100 * last['mean']:.2f} %")
    for note in summary.get("notes", []):
        t.add_row("note", note[:90] + ("…" if len(note) > 90 else ""))
    return t
