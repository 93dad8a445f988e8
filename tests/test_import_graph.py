"""The package's import graph: no cycle between modules, and nothing outside ``otters.cli`` imports it.

The graph is read from the source with :mod:`ast`, so an import inside a function counts as much as
one at the top (a function-local import can hide a cycle from Python, not from this test). Relative
imports are resolved against the importing module. ``from package import name`` points at the
sub-module ``package.name`` when there is one, else at the package itself. Each check is first run on
a small package written to a temporary folder, where it must catch the fault planted there.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module under ``root`` (a folder holding top-level packages)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: dict) -> list[str]:
    """The modules of ``known`` that one import statement of ``module`` loads by name."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    if node.level:  # relative: from the package of ``module``, up ``level - 1`` packages
        package = module.split(".") if is_package else module.split(".")[:-1]
        base_parts = package[:len(package) - (node.level - 1)]
        base = ".".join(base_parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in known:
            out.append(sub)
        elif base in known:
            out.append(base)
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports, every import statement of its source included."""
    known = module_names(root)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets.update(_imported(node, module, is_package, known))
        targets.discard(module)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules in import order, the first repeated at the end), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))
    return None


def cli_importers(graph: dict[str, set[str]], cli: str) -> list[str]:
    """Modules outside the package ``cli`` that import it or anything in it."""
    inside = lambda name: name == cli or name.startswith(cli + ".")  # noqa: E731
    return sorted(m for m, targets in graph.items() if not inside(m) and any(inside(t) for t in targets))


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checks_catch_a_planted_cycle_and_a_planted_cli_import(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "def f():\n    from . import high  # function-local and relative\n",
        "pkg/high.py": "from pkg.low import f\n",
        "pkg/cli/__init__.py": "",
        "pkg/cli/app.py": "from pkg import high\n",
        "pkg/report.py": "from .cli import app\n",
        "pkg/pipeline.py": "def h():\n    import pkg.cli.app\n",
    })
    graph = import_graph(root)
    assert graph["pkg.low"] == {"pkg.high"} and graph["pkg.high"] == {"pkg.low"}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.low", "pkg.high"} and cycle[0] == cycle[-1]
    assert cli_importers(graph, "pkg.cli") == ["pkg.pipeline", "pkg.report"]
    del graph["pkg.high"]
    assert find_cycle(graph) is None


@pytest.fixture(scope="module")
def otters_graph() -> dict[str, set[str]]:
    return import_graph(SRC)


def test_the_package_import_graph_has_no_cycle(otters_graph):
    cycle = find_cycle(otters_graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_nothing_outside_the_cli_imports_it(otters_graph):
    importers = cli_importers(otters_graph, "otters.cli")
    assert not importers, f"otters.cli is the top layer; these modules import it: {', '.join(importers)}"


@pytest.mark.parametrize("module", ["otters.io", "otters.device.fit", "otters.data.splits"])
def test_the_graph_reads_real_modules(otters_graph, module):
    # a reader that found no edges would pass the two checks above without reading anything
    assert otters_graph[module], f"{module} imports other otters modules, yet none were found"
