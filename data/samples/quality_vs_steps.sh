#!/usr/bin/env bash
# Quality against training steps of the default recipe (issue 14): every checkpoint snapshot that
# data/checkpoints/make_all.sh step 3 keeps (runs/balls/dit-step*.pt, `--keep-every 6000`), scored like the shipped
# model in regenerate.sh (16 frames, s = 5, S = 50, 64 videos, seed 0) and by empty_frames.py (seed 1). Run from the
# repository root inside the environment, while or after step 3 trains; snapshots already scored are skipped (both
# their evaluate JSON and their empty_frames.py row):
#
#   bash data/samples/quality_vs_steps.sh   # writes data/samples/steps/*.json, table.md, empty_frames.md, summary.md
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PY=${PYTHON:-python}
RUN=${RUN:-runs/balls}
OUT=${OUT:-data/samples/steps}
shopt -s nullglob
snapshots=("$RUN"/dit-step*.pt)
if [ ${#snapshots[@]} -eq 0 ]; then
    echo "no snapshots in $RUN (dit-step*.pt): train with --keep-every N first (make_all.sh step 3 does)" >&2
    exit 1
fi
mkdir -p "$OUT"
for ck in "${snapshots[@]}"; do
    name=$(basename "$ck" .pt)
    [ -f "$OUT/$name.json" ] || $PY -m ardiff_edu evaluate --task generate --checkpoint "$ck" --s 5 --num-steps 50 \
        --num-frames 16 --num-videos 64 --seed 0 --no-progress --out "$OUT/$name.json"
done
for ck in "${snapshots[@]}"; do      # one empty_frames.py table per snapshot, then their rows under one header
    name=$(basename "$ck" .pt)
    [ -f "$OUT/$name.empty.md" ] || { $PY data/samples/empty_frames.py "$ck" > "$OUT/$name.empty.md.tmp" \
        && mv "$OUT/$name.empty.md.tmp" "$OUT/$name.empty.md"; }
done
parts=("$OUT"/dit-step*.empty.md)
{ head -n 4 "${parts[0]}"; for f in "${parts[@]}"; do tail -n 1 "$f"; done; } > "$OUT/empty_frames.md"
$PY -c "
import sys
from ardiff_edu.results import merge, quality_markdown
r = next(iter(merge(sys.argv[1:])['tasks'].values()))
print(f'\`{r[\"command\"]}\` (and the same for every snapshot)\n\n' + quality_markdown(r))
" "$OUT"/dit-step*.json > "$OUT/table.md"
$PY data/samples/steps_table.py "$OUT" > "$OUT/summary.md"      # one row per snapshot: the README's table
cat "$OUT/table.md" "$OUT/empty_frames.md" "$OUT/summary.md"
