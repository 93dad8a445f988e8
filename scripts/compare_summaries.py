"""Do two ``otters run`` summaries report the same numbers? ``python scripts/compare_summaries.py A B``.

Compares every number and truth value of two summary.json files (or any two JSON files, e.g. eval.json),
key by key, and prints the ones that differ; strings (paths, commands) are not compared, nor the wall
times, the machine and the load, which belong to the run, not to its results. Exit status 0 when every
number is equal (exactly: the pipeline is deterministic for a fixed seed and cached teacher), 1 otherwise.
"""

from __future__ import annotations

import json
import sys

# keys whose values describe the run (its machine, time, files), not its results
IGNORED = {"steps", "total_wall_s", "wall_s", "machine", "load_average", "browser_check", "figures", "seconds",
           "finished", "created", "otters_version"}


def differences(a, b, where: str = "") -> list[str]:
    """Every place where the numbers or truth values of ``a`` and ``b`` differ (a key or item on one side only counts)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in IGNORED:
                continue
            if key not in a or key not in b:
                out.append(f"{where}.{key}: only in {'the first' if key in a else 'the second'}")
                continue
            out += differences(a[key], b[key], f"{where}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    if isinstance(a, str) and isinstance(b, str):
        return []
    same = a == b and isinstance(a, bool) == isinstance(b, bool)
    return [] if same else [f"{where}: {a!r} vs {b!r}"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python scripts/compare_summaries.py FIRST.json SECOND.json", file=sys.stderr)
        return 2
    first, second = (json.loads(open(path, encoding="utf-8").read()) for path in argv)
    found = differences(first, second)
    for line in found:
        print(line)
    print(f"{'same numbers' if not found else f'{len(found)} difference(s)'}: {argv[0]} vs {argv[1]}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
