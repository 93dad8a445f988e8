#!/usr/bin/env bash
# The attention ablation of the A2OS2A spiking ViT: ann, binary, seed, paper x 3 seeds on the
# Fashion-MNIST test set: dim 64, 2 blocks, 4 heads, MLP x4, T = 4, batch 128, EPOCHS epochs (default 2, the
# recipe of the committed results: two 1-thread runs side by side fit the 15-minute budget; `otters vit
# train` alone defaults to 3 epochs on all cores).
#
# Resumable: every run saves its state after each epoch under $OUT/<attention>/seed<k>/; run this script
# again after a kill and it continues from the last finished epoch, skipping finished seeds (same result
# as an uninterrupted run). Each attention's summary (per-seed and mean +- std test accuracy, firing
# rates, ACs/MACs, energy per image at 45 and 22 nm) is written atomically to
# $RESULTS/<data>-<attention>.json, the markdown table to $RESULTS/<data>-ablation.md.
#
#   bash scripts/vit_ablation.sh                  # one run at a time, 1 torch thread
#   JOBS=2 bash scripts/vit_ablation.sh           # two attentions at a time (one per core of an idle 2-core CPU)
#   EPOCHS=3 bash scripts/vit_ablation.sh         # the default recipe of `otters vit train`
#   bash scripts/vit_ablation.sh --lr 1e-3        # extra options go to every `otters vit train`
#
# Logs: $OUT/<attention>.log. Estimated time: see docs/vit.md ("Time budget").
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-fashion-mnist}
SEEDS=${SEEDS:-3}
JOBS=${JOBS:-1}
THREADS=${THREADS:-1}
OUT=${OUT:-runs/vit/$DATA}
RESULTS=${RESULTS:-results/vit}
ATTENTIONS=${ATTENTIONS:-ann binary seed paper}
EPOCHS=${EPOCHS:-2}
OTTERS=${OTTERS:-.venv/bin/otters}
export OMP_NUM_THREADS=$THREADS HF_HUB_OFFLINE=1

mkdir -p "$OUT" "$RESULTS"

run_one() {
    local attention=$1
    shift
    echo "$(date -Is) start $attention" >> "$OUT/$attention.log"
    if "$OTTERS" vit train --data "$DATA" --attention "$attention" --seeds "$SEEDS" --threads "$THREADS" \
        --epochs "$EPOCHS" --out "$OUT/$attention" --results "$RESULTS/$DATA-$attention.json" "$@" \
        >> "$OUT/$attention.log" 2>&1; then
        echo "$(date -Is) done $attention" >> "$OUT/$attention.log"
        echo "finished $attention: $RESULTS/$DATA-$attention.json"
    else
        echo "$(date -Is) FAILED $attention" >> "$OUT/$attention.log"
        echo "FAILED $attention: see $OUT/$attention.log" >&2
        return 1
    fi
}

failed=0
for attention in $ATTENTIONS; do
    if [ "$JOBS" -gt 1 ]; then
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
            wait -n || failed=1
        done
        run_one "$attention" "$@" &
    else
        run_one "$attention" "$@" || failed=1
    fi
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
    wait -n || failed=1
done

summaries=()
for attention in $ATTENTIONS; do
    [ -f "$RESULTS/$DATA-$attention.json" ] && summaries+=("$RESULTS/$DATA-$attention.json")
done
if [ "${#summaries[@]}" -gt 0 ]; then
    "$OTTERS" vit table "${summaries[@]}" > "$RESULTS/$DATA-ablation.md.tmp"
    mv "$RESULTS/$DATA-ablation.md.tmp" "$RESULTS/$DATA-ablation.md"
    cat "$RESULTS/$DATA-ablation.md"
fi
if [ "$failed" -ne 0 ]; then
    echo "some runs failed: see $OUT/*.log; run this script again to continue" >&2
    exit 1
fi
