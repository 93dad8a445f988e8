#!/usr/bin/env bash
# Resume (or start) the best distillation recipe on a GPU machine and write the students back into
# checkpoints/<task>-otters-1bitkv-gpu, with their SNN scores and the GLUE table in $OUT.
#
#   bash scripts/gpu_resume.sh [TASK ...]        (default: sst2 rt)
#
# The recipe is the best one measured on the CPU (docs/training.md, "Recipes tried"): Sorbet's staged
# distillation with Otters' 1-bit K/V and HAT2 noise, lr 2e-4, batch 32, 64 tokens, but EPOCHS epochs
# per stage (the CPU runs stopped after one, still improving). rt's teacher goes through the
# decontaminated SST-2 stage. Every run is resumable: run the script again after an interruption.
# Environment: EPOCHS (per stage, default 3), HAT (default 0.2), OUT (default runs/gpu), DEVICE
# (default cuda), OTTERS_GLUE_DIR (GLUE folder with <TASK>/train.tsv), OTTERS_CACHE (teachers, outputs).
# The .venv needs a CUDA build of torch (e.g. `python3 -m venv .venv && .venv/bin/pip install torch`
# before `bash scripts/setup.sh`, which then keeps it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(sst2 rt)
epochs=${EPOCHS:-3}
hat=${HAT:-0.2}
out=${OUT:-runs/gpu}
device=${DEVICE:-cuda}
bash scripts/setup.sh
otters=(.venv/bin/python -m otters.cli.app)
.venv/bin/python - "$device" <<'PY' || { echo "gpu_resume: torch sees no $device device; install a CUDA build of torch in .venv" >&2; exit 2; }
import sys, torch
sys.exit(0 if sys.argv[1] == "cpu" or torch.cuda.is_available() else 1)
PY
mkdir -p "$out"
students=()
for task in "${tasks[@]}"; do
  echo "[gpu_resume] $(date -u +%T) teacher $task" >&2
  extra=()
  [ "$task" = rt ] && extra=(--intermediate sst2)
  "${otters[@]}" teacher --task "$task" --device "$device" --threads 4 "${extra[@]}" --report "$out/teacher-$task.json"
  echo "[gpu_resume] $(date -u +%T) student $task" >&2
  resume=()
  [ -f "$out/$task/distill.json" ] && resume=(--resume)
  "${otters[@]}" distill --task "$task" --stages staged --epochs "$epochs" --hat "$hat" --lr 2e-4 --batch-size 32 \
    --max-len 64 --eval-every 200 --device "$device" --threads 4 --no-progress --out "$out/$task" "${resume[@]}"
  rm -rf "checkpoints/$task-otters-1bitkv-gpu"
  cp -r "$out/$task/student" "checkpoints/$task-otters-1bitkv-gpu"
  split=validation
  [ "$task" = rt ] && split=test
  "${otters[@]}" eval "checkpoints/$task-otters-1bitkv-gpu" --task "$task" --split "$split" --mode snn --json \
    > "$out/$task-snn-$split.json"
  students+=("checkpoints/$task-otters-1bitkv-gpu")
done
"${otters[@]}" glue-table "${students[@]}" --json > "$out/glue-table.json"
echo "[gpu_resume] $(date -u +%T) done: ${students[*]}; scores in $out" >&2
