#!/usr/bin/env bash
# Every committed result under data/results/, from the committed checkpoints, deterministically (one thread per
# process, fixed seeds). Run from the repository root inside the environment (`. .venv/bin/activate`):
#
#   bash data/results/run_ablation.sh > runs/run_ablation.log 2>&1
#
# Needs data/checkpoints/ablation/{fopp,uniform_monotone,independent,full_sequence}.pt (data/checkpoints/make_all.sh)
# and data/checkpoints/videonet.pt (trained here first if it is missing). Runs two evaluations at a time, one per
# core. Estimated runtime on 2 CPU cores: about 40 minutes (data/results/README.md says how it was measured).
#
# Environment knobs (defaults = the committed protocol; smaller numbers give a quick development run):
#   OUT=data/results  ARMS_DIR=data/checkpoints/ablation  N16=64  N64=32  NPRED=64  NDRIFT=12  BOOT=1000
set -euo pipefail
export OMP_NUM_THREADS=1
PY=${PYTHON:-python}
OUT=${OUT:-data/results}
A=${ARMS_DIR:-data/checkpoints/ablation}
ARMS="$A/fopp.pt $A/uniform_monotone.pt $A/independent.pt $A/full_sequence.pt"
S=20                       # DDIM steps (the paper: 50); s runs over 0, 1, 2, 5 and S
N16=${N16:-64}; N64=${N64:-32}; NPRED=${NPRED:-64}; NDRIFT=${NDRIFT:-12}; BOOT=${BOOT:-1000}
mkdir -p "$OUT/parts"
run() { $PY -m ardiff_edu evaluate "$@" --num-steps $S --seed 0 --num-boot "$BOOT" --no-progress; }

# 0. the toy video network whose features give the Fréchet distance (about 5 minutes; skipped when present)
[ -f data/checkpoints/videonet.pt ] || $PY -m ardiff_edu.videonet --out data/checkpoints/videonet.pt --no-progress

# 1. unconditional generation at 16 and 64 frames: every arm at s = 0, 1, 2, 5, S and the equal-NFE control of s = 5
run --task generate --checkpoint $ARMS --s 0 1 2 5 $S --control-s 5 --num-frames 16 --num-videos "$N16" \
    --out "$OUT/parts/generate16.json" > "$OUT/parts/generate16.log" &
run --task generate --checkpoint $ARMS --s 0 1 2 5 $S --control-s 5 --num-frames 64 --num-videos "$N64" \
    --out "$OUT/parts/generate64.json" > "$OUT/parts/generate64.log" &
wait

# 2. video prediction (4 given frames of held-out simulated clips) and drift over 256 frames (s = 2, the smallest
#    safe s for S = 20 and a 16-frame window) with clean context and context noised to levels 20 and 100
run --task predict --checkpoint $ARMS --s 0 1 2 5 $S --control-s 5 --given 4 --num-frames 16 --num-videos "$NPRED" \
    --out "$OUT/parts/predict16.json" > "$OUT/parts/predict16.log" &
run --task drift --checkpoint $ARMS --s 2 --context-noise 0 20 100 --num-frames 256 --num-videos "$NDRIFT" \
    --out "$OUT/parts/drift256.json" > "$OUT/parts/drift256.log" &
wait

# 3. one report: ablation.json (every task), ablation.md (tables + claims) and one PNG per metric
$PY -m ardiff_edu evaluate --report "$OUT"/parts/generate16.json "$OUT"/parts/generate64.json \
    "$OUT"/parts/predict16.json "$OUT"/parts/drift256.json --out "$OUT/ablation.json" --plot-s 5
