#!/usr/bin/env bash
# Re-make every sample video and every tracker table in data/samples/README.md from the shipped checkpoint.
# Run from the repository root inside the environment (make test creates .venv):  bash data/samples/regenerate.sh
# Deterministic: the noise comes from --seed. OMP_NUM_THREADS=1 keeps it from fighting a training run for the cores.
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PY=${PYTHON:-python}

# the GIFs (4 videos side by side, 2x upscaled by the sampler)
$PY -m ardiff_edu sample --num-frames 16 --s 0 --num-steps 20 --seed 0 --num-videos 4 --out data/samples/balls_16f_s0.gif --no-progress
$PY -m ardiff_edu sample --num-frames 16 --s 5 --num-steps 20 --seed 0 --num-videos 4 --out data/samples/balls_16f_s5.gif --no-progress
$PY -m ardiff_edu sample --num-frames 64 --s 2 --num-steps 20 --seed 0 --num-videos 1 --out data/samples/balls_64f_s2.gif --no-progress

# the tracker tables: real clips (seed 10 000 + 1, not the training seed), their tokenizer reconstruction, generated
# clips (seed 1) and two baselines, side by side
$PY -m ardiff_edu.metrics --s 0 5 --num-videos 32 --num-frames 16 --num-steps 20 --seed 1
$PY -m ardiff_edu.metrics --s 2 --num-videos 8 --num-frames 64 --num-steps 20 --seed 1
