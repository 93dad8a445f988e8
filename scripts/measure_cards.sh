#!/bin/bash
# Measure every committed student for its model card: otters eval (snn) and otters energy, JSON and
# wall time + load average in results/cards/ (then: python scripts/write_model_cards.py). Minutes each on CPU.
set -u
cd "$(dirname "$0")/.."
mkdir -p results/cards
# Usage: bash scripts/measure_cards.sh [NAME ...]   (default: every committed student)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls checkpoints))
for c in "${names[@]}"; do
  task=$(PYTHONPATH=src .venv/bin/python -c "import json,sys; print(json.load(open(sys.argv[1]))['settings']['task'])" checkpoints/$c/distill.json)
  case $task in rt) split=test;; *) split=validation;; esac
  s=$(date +%s); l=$(cut -d' ' -f1 /proc/loadavg)
  PYTHONPATH=src .venv/bin/otters eval checkpoints/$c --task $task --split $split --mode snn --json > results/cards/$c-eval.json 2>results/cards/$c-eval.err
  echo "$c eval rc=$? $(( $(date +%s)-s ))s load_at_start=$l load_at_end=$(cut -d' ' -f1 /proc/loadavg)" >> results/cards/timing.log
  s=$(date +%s)
  PYTHONPATH=src .venv/bin/otters energy checkpoints/$c --task $task --json > results/cards/$c-energy.json 2>results/cards/$c-energy.err
  echo "$c energy rc=$? $(( $(date +%s)-s ))s load_end=$(cut -d' ' -f1 /proc/loadavg)" >> results/cards/timing.log
done
echo ALLDONE >> results/cards/timing.log
