#!/usr/bin/env bash
# Every committed result under data/results/, from the committed checkpoints, deterministically (one thread per
# process, fixed seeds). Run from the repository root inside the environment (`. .venv/bin/activate`):
#
#   bash data/results/run_ablation.sh > runs/run_ablation.log 2>&1
#
# Scores every arm of data/checkpoints/ablation/{fopp,uniform_monotone,independent,full_sequence}.pt that exists
# (data/checkpoints/make_all.sh trains them), one arm at a time, each into its own parts/<task>_<arm>.json; an arm
# already scored is skipped, so an arm trained later is added by running the script again. The report merges the
# parts (every arm meets the same real clips and the same noise, so arms scored in separate runs compare exactly).
# Needs data/checkpoints/videonet.pt (trained here first if it is missing). Runs two evaluations at a time, one per
# core. Estimated runtime on 2 CPU cores: about 10 minutes per arm (data/results/README.md says how it was measured).
#
# Environment knobs (defaults = the committed protocol; smaller numbers give a quick development run):
#   OUT=data/results  ARMS_DIR=data/checkpoints/ablation  N16=64  N64=32  NPRED=64  NDRIFT=12  BOOT=1000
set -euo pipefail
export OMP_NUM_THREADS=1
PY=${PYTHON:-python}
OUT=${OUT:-data/results}
A=${ARMS_DIR:-data/checkpoints/ablation}
S=20                       # DDIM steps (the paper: 50); s runs over 0, 1, 2, 5 and S
N16=${N16:-64}; N64=${N64:-32}; NPRED=${NPRED:-64}; NDRIFT=${NDRIFT:-12}; BOOT=${BOOT:-1000}
mkdir -p "$OUT/parts/partial"
run() { $PY -m ardiff_edu evaluate "$@" --num-steps $S --seed 0 --num-boot "$BOOT" --no-progress; }

# 0. the toy video network whose features give the Fréchet distance (about 5 minutes; skipped when present)
[ -f data/checkpoints/videonet.pt ] || $PY -m ardiff_edu.videonet --out data/checkpoints/videonet.pt --no-progress

for arm in fopp uniform_monotone independent full_sequence; do
    ck="$A/$arm.pt"
    if [ ! -f "$ck" ]; then echo "skipping $arm: $ck does not exist (data/checkpoints/make_all.sh trains it)"; continue; fi
    if [ -f "$OUT/parts/drift256_$arm.json" ]; then echo "$arm: already scored"; continue; fi
    P="$OUT/parts"
    # 1. unconditional generation at 16 and 64 frames at s = 0, 1, 2, 5, S and the equal-NFE control of s = 5
    run --task generate --checkpoint "$ck" --s 0 1 2 5 $S --control-s 5 --num-frames 16 --num-videos "$N16" \
        --out "$P/generate16_$arm.json" > "$P/generate16_$arm.log" & a=$!
    run --task generate --checkpoint "$ck" --s 0 1 2 5 $S --control-s 5 --num-frames 64 --num-videos "$N64" \
        --out "$P/generate64_$arm.json" > "$P/generate64_$arm.log" & b=$!
    wait $a; wait $b                                           # a failed evaluation stops the script
    # 2. video prediction (4 given frames of held-out simulated clips) and drift over 256 frames (s = 2, the smallest
    #    safe s for S = 20 and a 16-frame window) with clean context and context noised to levels 20 and 100
    run --task predict --checkpoint "$ck" --s 0 1 2 5 $S --control-s 5 --given 4 --num-frames 16 \
        --num-videos "$NPRED" --out "$P/predict16_$arm.json" > "$P/predict16_$arm.log" & a=$!
    run --task drift --checkpoint "$ck" --s 2 --context-noise 0 20 100 --num-frames 256 --num-videos "$NDRIFT" \
        --out "$P/partial/drift256_$arm.json" > "$P/drift256_$arm.log" & b=$!
    wait $a; wait $b
    mv "$P/partial/drift256_$arm.md" "$P/partial/drift256_$arm.json" "$P/"   # the marker that this arm is complete
done

# 3. one report: ablation.json (every task, every arm scored so far), ablation.md (tables + claims), one PNG per metric
shopt -s nullglob
parts=("$OUT"/parts/generate16_*.json "$OUT"/parts/generate64_*.json "$OUT"/parts/predict16_*.json \
       "$OUT"/parts/drift256_*.json)
$PY -m ardiff_edu evaluate --report "${parts[@]}" --out "$OUT/ablation.json" --plot-s 5
