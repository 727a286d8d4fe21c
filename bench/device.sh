#!/usr/bin/env bash
# Plumbing for a link-prediction run on a lent GPU machine (the `device` tool), whose limits are: a working
# tree of at most 64 MiB goes there; at most 8 files of at most 16 MiB each come back from $OUT.
#
#   bench/device.sh stash [KEEP_DIR...]  here, before the call: move every tracked models/**/model.safetensors
#                                        not under a KEEP_DIR to $STASH (default /tmp/factloom-stash), and
#                                        pack ../shared/data/kg's fb15k-237 and wn18rr as .lpdata/kg.tar.xz
#                                        (git-ignored locally; name .lpdata in the call's carry)
#   bench/device.sh restore              here, after the call: move the stashed weights back
#   bench/device.sh data DEST            there: unpack .lpdata/kg.tar.xz into DEST (DEST/fb15k-237, ...)
#   bench/device.sh keep-best DIR        there: of the checkpoints DIR/*/ (bench/lp.py --out), keep the weights
#                                        of the best valid MRR (metrics.json's valid_mrr) and delete the
#                                        others' model.safetensors: two 37 MB models exceed what comes back
#   bench/device.sh pack DIR             there, last: DIR's whole content as one tar cut into 15 MiB parts
#                                        (DIR/results.tar.part-aa, -ab, ...), everything else removed
#   bench/device.sh unpack FILES_AT DEST here: join the parts and untar into DEST
#
# A call, for example (FB15k-237 reader alone on the GPU for 6 minutes; see bench/RESULTS.md):
#   bench/device.sh stash          # then run with carry [".lpdata"] and the command
#   bench/device.sh data /tmp/kg && FB_MODELS=reader:bench/configs/rank512-late-rn3.json WN_MODELS= \
#     CHILD_THREADS=12 bench/lp_gpu.sh /tmp/kg $OUT/r 6; bench/device.sh pack $OUT
set -euo pipefail
stash=${STASH:-/tmp/factloom-stash}
cmd=${1:?usage: bench/device.sh stash|restore|data|pack|unpack ...}
shift
case $cmd in
stash)
    mkdir -p "$stash"
    git ls-files 'models/*model.safetensors' | while read -r file; do
        for keep in "$@"; do [[ $file == "${keep%/}"/* ]] && continue 2; done
        mkdir -p "$stash/$(dirname "$file")" && mv "$file" "$stash/$file" && echo "stashed $file"
    done
    grep -qx '/.lpdata/' .git/info/exclude 2>/dev/null || echo '/.lpdata/' >>.git/info/exclude
    mkdir -p .lpdata
    tar -C ../shared/data/kg -cJf .lpdata/kg.tar.xz fb15k-237 wn18rr
    du -sh .lpdata
    ;;
restore)
    [ -d "$stash/models" ] || { echo "nothing stashed in $stash" >&2; exit 1; }
    (cd "$stash" && find models -name model.safetensors) | while read -r file; do
        mv "$stash/$file" "$file" && echo "restored $file"
    done
    git status --short models
    ;;
data)
    mkdir -p "$1" && tar -C "$1" -xJf .lpdata/kg.tar.xz
    ;;
keep-best)
    "${PYTHON:-python3}" - "${1:?keep-best DIR}" <<'EOF'
import json, sys
from pathlib import Path
found = Path(sys.argv[1]).glob("*/metrics.json")
runs = [(json.loads(m.read_text()).get("valid_mrr") or 0.0, m.parent) for m in found]
if not runs:
    sys.exit(f"keep-best: no */metrics.json under {sys.argv[1]}")
best = max(runs)[1]
for score, folder in sorted(runs, reverse=True):
    print(f"{'kept   ' if folder == best else 'dropped'} {folder.name}: valid MRR {score:.4f}")
    if folder != best:
        (folder / "model.safetensors").unlink(missing_ok=True)
EOF
    ;;
pack)
    dir=${1:?pack DIR}
    tar -C "$dir" -cf /tmp/results.tar .
    find "$dir" -mindepth 1 -delete
    split -b 15m /tmp/results.tar "$dir/results.tar.part-"
    rm /tmp/results.tar
    ls -l "$dir"
    ;;
unpack)
    mkdir -p "$2" && cat "$1"/results.tar.part-* | tar -C "$2" -xf -
    ;;
*)
    echo "unknown command $cmd" >&2
    exit 2
    ;;
esac
