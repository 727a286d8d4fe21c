#!/usr/bin/env bash
# The lent-GPU run of bench/RESULTS.md: on one GPU, at the same time, FB15k-237 (two reader candidates and
# ComplEx) and WN18RR (the fused reader and ComplEx), each for MINUTES of training, full test splits.
# Every process shares the GPU, so each gets the same wall-clock window under the same load.
# Usage: [PYTHON=python3] bench/lp_gpu.sh DATA_DIR OUT_DIR MINUTES   (DATA_DIR holds fb15k-237/ and wn18rr/)
set -euo pipefail
data=$1 out=$2 minutes=$3
export PYTHONUNBUFFERED=1
"${PYTHON:-python3}" bench/lp.py --dataset-dir "$data/fb15k-237" --device cuda --parallel --child-threads 3 --half \
    --models reader:reader-gpu-fused,reader:reader-gpu-graph,complex --budget-minutes "$minutes" \
    --out "$out/fb" >"$out/fb.txt" 2>&1 &
fb=$!
"${PYTHON:-python3}" bench/lp.py --dataset-dir "$data/wn18rr" --device cuda --parallel --child-threads 3 \
    --models reader:reader-gpu-fused,complex --budget-minutes "$minutes" \
    --out "$out/wn" >"$out/wn.txt" 2>&1 &
wn=$!
status=0
wait $fb || status=$?
wait $wn || status=$?
cat "$out/fb.txt" "$out/wn.txt"
exit $status
