"""The CLI's error contract: one line on stderr, exit code 2, no traceback."""

import subprocess
import sys


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "otters.cli.app", *args], capture_output=True, text=True)


def test_unknown_command_is_one_line_exit_2():
    proc = run_cli("no-such-command")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("otters: error:")


def test_version():
    proc = run_cli("version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == "0.1.0"
