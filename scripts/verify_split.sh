#!/usr/bin/env bash
# Sign-split TTFS exactness: the otters-1bitkv spiking BERT with --coding split (two sub-populations per
# signed activation, zero silent) against its QNN, bit for bit, on 256 real sentences (rt test split)
# through the minilm-l6 geometry, with the fast closed-form simulator; random weights, then each trained
# student directory given.
# Usage: bash scripts/verify_split.sh [CKPT ...]   (RANDOM_CHECKS=0 skips the random-weight check;
#        OTTERS="env PYTHONPATH=src .venv/bin/python -m otters.cli.app" runs a source tree)
# Writes results/verify/otters-1bitkv-split-random.json and otters-1bitkv-split-<checkpoint name>.json and
# prints one line per check. Exit 1 if any is inexact.
set -euo pipefail
cd "$(dirname "$0")/.."
OTTERS=${OTTERS:-.venv/bin/otters}
export HF_HUB_OFFLINE=1
mkdir -p results/verify
common=(--coding split --task rt --split test --batch 256 --json)
status=0
check() {  # name, then the verify arguments
  local name=$1; shift
  local out=results/verify/$name.json
  local start=$SECONDS
  # shellcheck disable=SC2086  # OTTERS may be a command with arguments
  $OTTERS verify "$@" "${common[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
  python3 - "$out" "$name" "$((SECONDS - start))" <<'PY' || status=1
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:<40} exact={d['exact']}  coding={d['model']['snn_coding']}/{d['model']['coding']}  "
      f"sentences={d['samples']}  max level diff={d['max_level_diff']}  max potential diff={d['max_potential_diff']}  "
      f"max spikes/neuron={d['max_spikes_per_neuron']}  {sys.argv[3]} s")
sys.exit(0 if d["exact"] and d["max_spikes_per_neuron"] <= 1 and d["model"]["coding"] == "split" else 1)
PY
}
if [ "${RANDOM_CHECKS:-1}" != 0 ]; then
  check otters-1bitkv-split-random --preset otters-1bitkv --geometry minilm-l6 --random-init --seed 0
fi
for ckpt in "$@"; do
  check "otters-1bitkv-split-$(basename "$ckpt")" "$ckpt"
done
exit $status
