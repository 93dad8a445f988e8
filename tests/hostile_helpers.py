"""Shared by the hostile-input tests: run ``otters ARGS`` in-process and assert a clean refusal."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import run_main


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (files and folders), relative to it."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")} if root.exists() else set()


def assert_refused(capsys, *args, watch: Path | None = None, match: str | None = None) -> str:
    """``otters ARGS`` exits 2 with exactly one ``otters: error:`` line, no traceback, and (with ``watch``)
    leaves the folder ``watch`` exactly as it was. Returns the error line."""
    before = tree(watch) if watch is not None else None
    code, out, err = run_main(capsys, *[str(a) for a in args])
    errors = [line for line in err.splitlines() if line.startswith("otters: error:")]
    assert "Traceback" not in out + err, err
    assert code == 2, (code, out, err)
    assert len(errors) == 1, err
    if match is not None:
        assert match in errors[0], errors[0]
    if watch is not None:
        assert tree(watch) == before, f"left behind: {sorted(tree(watch) - before)}"
    return errors[0]
