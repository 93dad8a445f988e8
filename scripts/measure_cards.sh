#!/bin/bash
# Measure every committed student for its model card: otters eval (snn) and otters energy, JSON and
# wall time + load average in results/cards/ (then: python scripts/write_model_cards.py). Minutes each on CPU.
set -u
cd "$(dirname "$0")/.."
mkdir -p results/cards
for c in rt-otters-1bitkv rt-otters-1bitkv-hat2 rt-otters-1bitkv-t84 rt-otters-1bitkv-t84-hat2 sst2-otters-1bitkv; do
  case $c in sst2*) task=sst2; split=validation;; *) task=rt; split=test;; esac
  s=$(date +%s); l=$(cut -d' ' -f1 /proc/loadavg)
  PYTHONPATH=src .venv/bin/otters eval checkpoints/$c --task $task --split $split --mode snn --json > results/cards/$c-eval.json 2>results/cards/$c-eval.err
  echo "$c eval rc=$? $(( $(date +%s)-s ))s load_at_start=$l load_at_end=$(cut -d' ' -f1 /proc/loadavg)" >> results/cards/timing.log
  s=$(date +%s)
  PYTHONPATH=src .venv/bin/otters energy checkpoints/$c --task $task --json > results/cards/$c-energy.json 2>results/cards/$c-energy.err
  echo "$c energy rc=$? $(( $(date +%s)-s ))s load_end=$(cut -d' ' -f1 /proc/loadavg)" >> results/cards/timing.log
done
echo ALLDONE >> results/cards/timing.log
