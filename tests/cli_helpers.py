"""Shared by the tests that call the CLI in-process: ``otters.cli.app.main`` with captured output."""

from __future__ import annotations

import pytest

from otters.cli.app import main


def run_main(capsys, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``otters ARGS`` run in this process (a normal return is exit 0)."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err
