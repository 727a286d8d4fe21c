#!/usr/bin/env bash
# The lent-GPU runs of bench/RESULTS.md: on one GPU, at the same time, FB15k-237 (the shipped reader's
# settings plus batch 1024 and reader_n3 0.5, the CPU runs' cure for the join's dip; ComplEx-N3-RP at the
# same table size) and WN18RR (reader with reader_n3 2.0, and ComplEx-N3-RP), each for
# MINUTES of training, full test splits. Every process shares the GPU, so each gets the same wall-clock
# window under the same load. FB_MODELS / WN_MODELS override the model lists (entries as bench/lp.py's
# --models: MODEL, MODEL:PRESET or MODEL:CONFIG_FILE); WN_MODELS= (empty) skips WN18RR. CHILD_THREADS sets
# each training's CPU threads (default 3: five trainings share a 16-core machine).
# Usage: [PYTHON=python3] bench/lp_gpu.sh DATA_DIR OUT_DIR MINUTES   (DATA_DIR holds fb15k-237/ and wn18rr/)
set -euo pipefail
data=$1 out=$2 minutes=$3
fb_models=${FB_MODELS-reader:bench/configs/rank512-late-rn3.json,complex:bench/configs/rank512.json}
wn_models=${WN_MODELS-reader:bench/configs/gpu-wn-rn3x4.json,complex:complex-n3rp-wn}
export PYTHONUNBUFFERED=1
run() {  # dataset models extra-args...
    local name=$1 models=$2
    shift 2
    "${PYTHON:-python3}" bench/lp.py --dataset-dir "$data/$name" --device cuda --parallel \
        --child-threads "${CHILD_THREADS:-3}" --models "$models" --budget-minutes "$minutes" \
        --out "$out/$name" "$@" >"$out/$name.txt" 2>&1
}
pids=()
[ -n "$fb_models" ] && { run fb15k-237 "$fb_models" --half & pids+=($!); }
[ -n "$wn_models" ] && { run wn18rr "$wn_models" & pids+=($!); }
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
cat "$out"/*.txt
exit $status
