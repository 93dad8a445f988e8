#!/bin/bash
# Commit-ready copy of a finished distillation run: the packed student into checkpoints/NAME, its SNN and
# QNN scored on the whole evaluation split with the logits compared (results/students/NAME-exact.json,
# with the distillation command), then its card measurements (scripts/measure_cards.sh) and every card.
# Usage: bash scripts/add_student.sh RUN_DIR NAME "DISTILL COMMAND"
#   e.g. bash scripts/add_student.sh runs/distill-cola-otters-1bitkv-seed0 cola-otters-1bitkv "otters distill --task cola ..."
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { echo "usage: bash scripts/add_student.sh RUN_DIR NAME \"DISTILL COMMAND\"" >&2; exit 2; }
run=$1; name=$2; command=$3
[ -f "$run/student/otters.json" ] || { echo "$run/student/otters.json is missing: the run is not finished" >&2; exit 2; }
[ ! -e "checkpoints/$name" ] || { echo "checkpoints/$name exists; remove it first to replace it" >&2; exit 2; }
mkdir -p "checkpoints/$name"
cp "$run"/student/* "checkpoints/$name/"
chmod 644 "checkpoints/$name"/*
PYTHONPATH=src .venv/bin/python - "$name" "$command" <<'EOF'
import json, sys
from otters.studies.evaluation import score_qnn_and_snn
name, command = sys.argv[1], sys.argv[2]
folder = f"checkpoints/{name}"
task = json.load(open(f"{folder}/distill.json"))["settings"]["task"]
split = "test" if task == "rt" else "validation"
result = score_qnn_and_snn(folder, task, split)
result.update(command=f'python -c \'from otters.studies.evaluation import score_qnn_and_snn as s; import json; '
                      f'print(json.dumps(s("{folder}", "{task}", "{split}")))\'',
              student=folder, distill_command=command)
with open(f"results/students/{name}-exact.json", "w") as fh:
    json.dump(result, fh, indent=2)
print(name, "n", result["n"], "logits_equal", result["logits_equal"], "snn", result["snn"])
EOF
bash scripts/measure_cards.sh "$name"
PYTHONPATH=src .venv/bin/python scripts/write_model_cards.py
