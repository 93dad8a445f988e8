"""One spiking-ViT experiment: an attention preset trained with several seeds, resumably, then
evaluated on the test set and summarised (mean +- std accuracy, firing rates, ACs / MACs, energy).

Layout of ``out`` (every file written atomically)::

    out/results.json            the summary, rewritten after every finished seed ("complete" at the end)
    out/seed<k>/state/          per-epoch training state (otters.vit.state)
    out/seed<k>/model.safetensors, config.json   the final model; config.json holds the run's result

Re-running the same experiment with the same ``out`` skips finished seeds (their result is read
back, after checking that they were trained with the same data, geometry and recipe) and continues
an interrupted one from its last finished epoch.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from otters.errors import OttersError
from otters.io import atomic_write_json, read_json
from otters.train.common import exclusive_lock
from otters.vit.data import ImageData
from otters.vit.energy import ENERGY_TABLES, energy_tables
from otters.vit.model import count_parameters
from otters.vit.state import STATE_DIR, check_identity, run_identity
from otters.vit.train import TrainSettings, default_config, evaluate_vit, save_vit, train_vit

OPS_KEYS = ("acs_per_image", "macs_per_image", "attn_acs_per_image", "attn_macs_per_image")


def _finished(run_dir: Path) -> dict | None:
    """The saved config.json of a finished run in ``run_dir`` (it has a result), else None."""
    path = run_dir / "config.json"
    if not path.is_file():
        return None
    meta = read_json(path)
    return meta if isinstance(meta, dict) and "result" in meta else None


def restart_runs(out: str | Path, seeds: list[int]) -> None:
    """Forget the given seeds' state and final models in ``out`` (``--restart``); other files stay."""
    for seed in seeds:
        run_dir = Path(out) / f"seed{seed}"
        shutil.rmtree(run_dir / STATE_DIR, ignore_errors=True)
        for name in ("model.safetensors", "config.json"):
            (run_dir / name).unlink(missing_ok=True)


def run_seed(data: ImageData, attention: str, T: int, settings: TrainSettings, run_dir: Path | None,
             progress: bool = False, log=None, warn=None, **geometry) -> dict:
    """Train (or continue, or read back) one seed and evaluate it on the test set."""
    cfg = default_config(data, attention, T, **geometry)
    identity = run_identity(data.summary(), cfg.to_dict(), asdict(settings))
    if run_dir is not None:
        done = _finished(run_dir)
        if done is not None:
            check_identity(done.get("identity"), identity, run_dir)
            return {**done["result"], "reused": True}
    model, info = train_vit(cfg, data, settings, progress=progress, log=log, run_dir=run_dir, warn=warn)
    mean, std = data.channel_stats()
    wall0 = time.perf_counter()
    test = evaluate_vit(model, data.test_x, data.test_y, mean, std, settings.eval_batch_size, count_ops=True)
    test_wall = time.perf_counter() - wall0
    run_wall = info["train_wall_s"] + test_wall
    run = {
        "seed": settings.seed, "history": info["history"], "val_accuracy": info["history"][-1]["val_accuracy"],
        "test_accuracy": test["accuracy"], "ops": {k: v for k, v in test.items() if k != "accuracy"},
        "parameters": count_parameters(model), "threads": torch.get_num_threads(),
        "train_wall_s": info["train_wall_s"], "train_cpu_s": info["train_cpu_s"], "test_wall_s": test_wall,
        "run_wall_s": run_wall, "sessions": info["sessions"], "projected_train_s": info["projected_train_s"],
        "budget_s": settings.budget_s,
        "within_budget": None if not settings.budget_s else bool(run_wall <= settings.budget_s),
    }
    if run_dir is not None:
        save_vit(run_dir, model, data, {"settings": asdict(settings), "identity": identity, "result": run})
    return run


def _mean_std(values) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def summarise(data: ImageData, attention: str, T: int, settings: TrainSettings, seeds: list[int], runs: list[dict],
              config: dict) -> dict:
    """Mean +- std (sample std, n - 1) over the finished seeds; energy priced now from otters.energy."""
    for run in runs:
        run["energy_per_image"] = energy_tables(run["ops"]["acs_per_image"], run["ops"]["macs_per_image"])
    accs = [r["test_accuracy"] for r in runs]
    acc_mean, acc_std = _mean_std(accs)
    sites = sorted({s for r in runs for s in r["ops"]["firing_rates"]})
    summary = {
        "data": data.summary(), "attention": attention, "T": T, "config": config, "settings": asdict(settings),
        "seeds": list(seeds), "seeds_done": [r["seed"] for r in runs], "complete": len(runs) == len(seeds),
        "parameters": runs[0]["parameters"] if runs else None,
        "test_accuracy": accs, "test_accuracy_mean": acc_mean, "test_accuracy_std": acc_std,
        "val_accuracy": [r["val_accuracy"] for r in runs],
        "firing_rates": {s: float(np.mean([r["ops"]["firing_rates"][s] for r in runs if s in r["ops"]["firing_rates"]]))
                         for s in sites},
        "energy_per_image": {}, "runs": runs,
    }
    for key in OPS_KEYS:
        summary[f"{key}_mean"] = float(np.mean([r["ops"][key] for r in runs])) if runs else None
    notes = []
    for table in ENERGY_TABLES:
        uj_mean, uj_std = _mean_std([r["energy_per_image"][table]["uJ"] for r in runs]) if runs else (None, None)
        first = runs[0]["energy_per_image"][table] if runs else {}
        summary["energy_per_image"][table] = {"uJ_mean": uj_mean, "uJ_std": uj_std, "e_ac_pJ": first.get("e_ac_pJ"),
                                              "e_mac_pJ": first.get("e_mac_pJ")}
        if runs:
            notes.append(f"{table}: E_AC {first['e_ac_pJ']:.4g} pJ, E_MAC {first['e_mac_pJ']:.4g} pJ")
    summary["energy_note"] = ("synaptic operations only: E = ACs x E_AC + MACs x E_MAC (fp32), otters.energy "
                              "cost tables (" + "; ".join(notes) + ")")
    summary["train_wall_s_mean"] = float(np.mean([r["train_wall_s"] for r in runs])) if runs else None
    summary["train_cpu_s_mean"] = float(np.mean([r["train_cpu_s"] for r in runs])) if runs else None
    summary["run_wall_s_max"] = max((r["run_wall_s"] for r in runs), default=None)
    summary["budget_s"] = settings.budget_s
    flags = [r.get("within_budget") for r in runs]
    summary["within_budget"] = None if not runs or None in flags else all(flags)
    return summary


def run_experiment(data: ImageData, attention: str, T: int, settings: TrainSettings, seeds: list[int],
                   out: str | Path | None = None, progress: bool = False, log=None, warn=None,
                   results_path: str | Path | None = None, **geometry) -> dict:
    """Train one model per seed (resumably when ``out`` is given), evaluate each on the test set
    (accuracy, ACs, MACs, firing rates, energy per image at 45 and 22 nm) and summarise mean +- std.
    The summary goes to ``out/results.json`` (after every seed) and to ``results_path`` (at the end)."""
    if not seeds:
        raise OttersError("give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise OttersError(f"seeds must be distinct, got {seeds}")
    config = default_config(data, attention, T, **geometry).to_dict()
    runs = []
    for seed in seeds:
        run_settings = TrainSettings(**{**asdict(settings), "seed": seed})
        run_dir = None if out is None else Path(out) / f"seed{seed}"
        if run_dir is None:
            runs.append(run_seed(data, attention, T, run_settings, None, progress, log, warn, **geometry))
        else:
            with exclusive_lock(run_dir / ".lock", f"{run_dir}"):
                runs.append(run_seed(data, attention, T, run_settings, run_dir, progress, log, warn, **geometry))
            atomic_write_json(Path(out) / "results.json", summarise(data, attention, T, settings, seeds, runs, config))
    summary = summarise(data, attention, T, settings, seeds, runs, config)
    if results_path is not None:
        atomic_write_json(results_path, summary)
    return summary
