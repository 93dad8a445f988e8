#!/usr/bin/env bash
# Spiking BERT exactness: for sorbet, otters-4bitkv and otters-1bitkv, random and trained, the spiking BERT's
# logits equal the QNN's bit for bit on 256 real sentences (rt test split) through the minilm-l6 geometry.
# Usage: bash scripts/verify_presets.sh [SORBET_CKPT OTTERS4_CKPT OTTERS1_CKPT]   (trained student directories;
#        "-" skips one; RANDOM_CHECKS=0 skips the random-weight checks)
# Writes results/verify/<preset>-<random|trained>.json and prints one line per check. Exit 1 if any is inexact.
set -euo pipefail
cd "$(dirname "$0")/.."
OTTERS=${OTTERS:-.venv/bin/otters}
export HF_HUB_OFFLINE=1
mkdir -p results/verify
common=(--task rt --split test --batch 256 --json)
status=0
check() {  # name, then the verify arguments
  local name=$1; shift
  local out=results/verify/$name.json
  "$OTTERS" verify "$@" "${common[@]}" > "$out.tmp" && mv "$out.tmp" "$out"
  python3 - "$out" "$name" <<'PY' || status=1
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:<24} exact={d['exact']}  sentences={d['samples']}  max level diff={d['max_level_diff']}  "
      f"max potential diff={d['max_potential_diff']}  max spikes/neuron={d['max_spikes_per_neuron']}")
sys.exit(0 if d["exact"] and d["max_spikes_per_neuron"] <= 1 else 1)
PY
}
if [ "${RANDOM_CHECKS:-1}" != 0 ]; then
  for preset in sorbet otters-4bitkv otters-1bitkv; do
    check "$preset-random" --preset "$preset" --geometry minilm-l6 --random-init --seed 0
  done
fi
args=("$@")
names=(sorbet-trained otters-4bitkv-trained otters-1bitkv-trained)
for i in 0 1 2; do
  ckpt=${args[$i]:-}
  [ -n "$ckpt" ] && [ "$ckpt" != - ] && check "${names[$i]}" "$ckpt"
done
exit $status
