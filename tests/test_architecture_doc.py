"""docs/architecture.md gives one line to every module of the package, and to no module that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "otters"


def test_every_module_has_its_line_in_the_architecture_doc():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = {p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*.py")}
    listed = set(re.findall(r"`(otters/[\w/]+\.py)`", doc))
    assert not modules - listed, f"modules without a line in docs/architecture.md: {sorted(modules - listed)}"
    assert not listed - modules, f"docs/architecture.md lists modules that do not exist: {sorted(listed - modules)}"
