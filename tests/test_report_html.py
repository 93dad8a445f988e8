"""report.html: self-contained, every figure present, values escaped, templates shipped, renders in headless
Chromium without errors."""

import fnmatch
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import torch
from markupsafe import escape

from otters.io import read_json
from otters.report import FIGURE_IDS, RunSummary, write_report
from otters.report.html import environment, render
from otters.report.record import from_json, to_json
from otters.report.results import Command, DegradationPointResult, DegradationSummary
from otters.studies.degradation import degradation_plot
from pipeline_helpers import tiny_run

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("accuracy", "exactness", "device", "spikes", "energy", "robustness", "steps", "student", "reproduce")

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
        assert str(escape(c["command"])) in page


def test_partial_run_report_says_what_is_missing(run, tmp_path):
    record = read_json(run["dir"] / "run.json")
    steps = {k: v for k, v in record["steps"].items() if k in ("preflight", "device")}
    shutil.copytree(run["dir"] / "device", tmp_path / "device")
    out = write_report(tmp_path, record["settings"], steps)
    page = (tmp_path / "report.html").read_text()
    assert 'id="fig-device-schedule"' in page and 'id="fig-raster-missing"' in page
    assert "evaluation step has not run" in page
    assert any("steps not run yet" in n for n in out.summary.notes)


def test_values_from_a_run_are_escaped(run):
    summary = from_json(RunSummary, read_json(run["dir"] / "summary.json"))
    summary.task = "<script>alert('task')</script>"
    summary.notes.append('a note <script src="x.js"></script> & more')
    hostile = "otters eval '<script>' && echo </pre><script>"
    summary.commands[0].command = summary.accuracy.commands[0].command = hostile
    summary.accuracy.rows[0].model = "<img src=x onerror=alert(1)>"
    figs = {fig_id: (Path(path) if path else None, '<script>"alt"', "caption </figcaption><script>")
            for fig_id, path in summary.figures.items()}
    page = render(summary, figs)
    assert "<script" not in page and "<img src=x" not in page
    assert "otters run: &lt;script&gt;alert(&#39;task&#39;)&lt;/script&gt;, profile quick" in page
    assert "a note &lt;script src=&#34;x.js&#34;&gt;&lt;/script&gt; &amp; more" in page
    assert f'<pre class="cmd">{escape(hostile)}</pre>' in page  # the accuracy section's command
    assert f'<td class="l">{escape(hostile)}</td>' in page  # the table of every command
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    for fig_id in FIGURE_IDS:  # attribute values are escaped too
        assert f'<img id="{fig_id}" alt="&lt;script&gt;&#34;alt&#34;" src="data:image/png;base64,' in page
    for section in SECTIONS:
        assert f'<section id="{section}">' in page


def test_every_template_is_autoescaped_and_ships_in_the_wheel():
    env = environment()
    names = env.list_templates()
    assert "report.html.j2" in names and all(env.autoescape(name) for name in names)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["otters"]
    assert "jinja2" in " ".join(pyproject["project"]["dependencies"])
    folder = ROOT / "src" / "otters" / "report" / "templates"
    files = [p.relative_to(folder.parents[1]).as_posix() for p in folder.iterdir() if p.is_file()]
    assert files and all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files), (files, patterns)


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


def test_report_shows_the_codings_and_the_full_profiles_degradation(run, tmp_path):
    """The energy section sets offset / split / M-TTFS side by side; a run whose robustness step recorded the
    degradation study (the full profile) shows its figure, table and command; the quick run shows none."""
    page = (run["dir"] / "report.html").read_text()
    assert "sign-split TTFS" in page and "energy / inference (µJ)" in page and "(default)" in page
    assert 'id="fig-degradation"' not in page and "Beyond the exactness envelope" not in page
    record = read_json(run["dir"] / "run.json")
    steps = {k: v for k, v in record["steps"].items() if k != "report"}
    points = [DegradationPointResult("dt", "1x", 1.0, 2.6e-8, 0.75, 1.0, 8, True, 0, 0.0),
              DegradationPointResult("adc_bits", "b_min-1", None, 3.0, 0.5, 0.6, 0, False, 8, 1.0)]
    command = Command("accuracy beyond the exactness envelope", "otters degrade CKPT --sentences 8")
    study = DegradationSummary(sentences=8, split="test", closed_form=0.75, bounds={"min_adc_bits": 4, "T": [15]},
                               points=points, files={"figure": "degradation.png"}, command=command)
    steps["robustness"]["result"]["degradation"] = to_json(study)
    degradation_plot({**to_json(study), "task": "rt"}, tmp_path / "degradation.png")
    write_report(tmp_path, record["settings"], steps)
    page = (tmp_path / "report.html").read_text()
    assert re.search(r'<img id="fig-degradation" alt="[^"]+" src="data:image/png;base64,', page)
    assert "Beyond the exactness envelope" in page and "b_min-1" in page and "otters degrade CKPT --sentences 8" in page
