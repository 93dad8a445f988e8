"""Timing and memory helpers shared by the benchmarks in bench/ (imported as ``measure``: each bench
runs as ``python bench/<name>.py``, which puts this folder first on ``sys.path``).

- :func:`interleaved_medians`: median wall times of several functions whose repetitions are
  interleaved, so that load from other processes on a shared machine hits all of them alike;
- :func:`status_mib` / :func:`reset_peak_rss`: the resident set (``VmRSS``) and its high-water mark
  (``VmHWM``) of this process from /proc/self/status, and the reset of that mark (Linux only).
"""

from __future__ import annotations

import statistics
import time


def interleaved_medians(fns: dict, reps: int) -> dict:
    """{name: median seconds of fn()} over ``reps`` rounds, each round running every function once in
    turn, after one untimed warm-up call of each (caches, allocator, LSQ initialisation)."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def status_mib(field: str) -> float:
    """A memory field of /proc/self/status (e.g. ``VmRSS``, ``VmHWM``) in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> None:
    """Reset this process's peak resident set (``VmHWM``) to its current one (proc(5), clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
