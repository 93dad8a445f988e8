"""Atomic writes give files the permissions a plain open() would, and keep the mode of a file they replace."""

import os
import stat

from otters.io import atomic_write_text


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        with open(tmp_path / "b.json", "w") as fh:
            fh.write("{}")
        assert _mode(tmp_path / "a.json") == _mode(tmp_path / "b.json") == 0o644
        os.umask(0o077)
        atomic_write_text(tmp_path / "c.json", "{}")
        assert _mode(tmp_path / "c.json") == 0o600
    finally:
        os.umask(old)


def test_overwritten_file_keeps_its_mode(tmp_path):
    target = tmp_path / "shared.json"
    target.write_text("old")
    os.chmod(target, 0o664)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o664
    os.chmod(target, 0o640)
    atomic_write_text(target, "newer")
    assert _mode(target) == 0o640
