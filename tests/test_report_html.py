"""report.html: self-contained, every figure present, renders in headless Chromium without errors."""

import re
import shutil
import subprocess

import pytest
import torch

from otters.io import read_json
from otters.report import FIGURE_IDS, write_report
from pipeline_helpers import tiny_run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_report_is_self_contained_with_every_figure(run):
    page = (run["dir"] / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page), "external URL in the report"
    assert "<script" not in page
    for fig_id in FIGURE_IDS:
        img = re.search(rf'<img id="{fig_id}" alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
        assert img, f"{fig_id} missing"
        assert len(img.group(2)) > 1000
    summary = read_json(run["dir"] / "summary.json")
    # every reproduction command of the summary is printed in the page
    for c in summary["commands"]:
        assert c["command"].replace("&", "&amp;").replace("'", "&#x27;").replace('"', "&quot;") in page


def test_partial_run_report_says_what_is_missing(run, tmp_path):
    record = read_json(run["dir"] / "run.json")
    steps = {k: v for k, v in record["steps"].items() if k in ("preflight", "device")}
    shutil.copytree(run["dir"] / "device", tmp_path / "device")
    out = write_report(tmp_path, record["settings"], steps)
    page = (tmp_path / "report.html").read_text()
    assert 'id="fig-device-schedule"' in page and 'id="fig-raster-missing"' in page
    assert "evaluation step has not run" in page
    assert any("steps not run yet" in n for n in out.summary.notes)


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (scripts/setup.sh installs it as root)")
def test_report_renders_in_headless_chromium(run, tmp_path):
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--enable-logging=stderr", "--v=0", "--dump-dom", (run["dir"] / "report.html").as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    for fig_id in FIGURE_IDS:
        assert re.search(rf'<img id="{fig_id}" alt="[^"]+"', dom), f"{fig_id} not in the rendered DOM"
    for section in ("accuracy", "exactness", "device", "spikes", "energy", "robustness", "reproduce"):
        assert f'<section id="{section}">' in dom
    console = re.findall(r"INFO:CONSOLE[:(]\d+\)?\] .*", proc.stderr)  # console messages, uncaught errors included
    assert not console and "Uncaught" not in proc.stderr, console
