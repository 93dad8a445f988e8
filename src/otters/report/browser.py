"""Open report.html in headless Chromium (Debian's ``chromium``) and check what the reader will see.

``chromium --headless --dump-dom FILE`` loads the page as a browser does and prints the DOM it built;
the check passes when every figure id of the report is an ``<img>`` in that DOM and the browser logged
no console message (a broken page logs errors there). Best effort: a missing browser or a browser that
fails is recorded, never an error of the run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
INSTALL = "apt-get install -y chromium"  # as root; scripts/setup.sh does it when run as root


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def check_in_browser(html_path, figure_ids, browser: str | None = None, timeout: float = 120.0) -> dict:
    """{"browser", "ok", "missing_figures", "console", "error"}; ``ok`` is None when no browser was found."""
    browser = browser or find_browser()
    out = {"browser": browser, "ok": None, "missing_figures": [], "console": [], "error": None}
    if browser is None:
        out["error"] = f"no headless browser found; run (as root): {INSTALL}"
        return out
    with tempfile.TemporaryDirectory(prefix="otters-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--dump-dom", Path(html_path).resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            out["ok"], out["error"] = False, f"{type(exc).__name__}: {exc}"
            return out
    if proc.returncode != 0:
        out["ok"], out["error"] = False, f"exit status {proc.returncode}: {proc.stderr.strip()[-300:]}"
        return out
    out["missing_figures"] = [f for f in figure_ids if not re.search(rf'<img id="{re.escape(f)}" alt="[^"]+"', proc.stdout)]
    out["console"] = re.findall(r"INFO:CONSOLE[:(]\d+\)?\] .*", proc.stderr)
    out["ok"] = not out["missing_figures"] and not out["console"] and "Uncaught" not in proc.stderr
    return out
