#!/usr/bin/env bash
# Train one of the paper presets on a SLURM cluster: one torchrun per node, every GPU of the node a process, the
# job restarted from its last checkpoint when a process dies (docs/cluster.md explains every line).
#
#   PRESET=sky-paper DATA=/shared/cache/sky256 sbatch --nodes 2 docs/slurm_train.sh
#
# The run directory and the cache must be on a filesystem every node sees. Make the cache once beforehand:
#   python -m ardiff_edu prepare --dataset sky --root /shared/sky_timelapse --size 256 --num-frames 16 \
#       --stride 1 --out /shared/cache/sky256
#SBATCH --job-name=ardiff-paper
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=64
#SBATCH --time=48:00:00
#SBATCH --output=%x-%j.log
set -euo pipefail

PRESET=${PRESET:-sky-paper}
DATA=${DATA:?set DATA to the cache made by python -m ardiff_edu prepare}
OUT=${OUT:-runs/$PRESET}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
TOK_PER_GPU=${TOK_PER_GPU:-32}      # frames per GPU and step of the tokenizer: the official 16 x 2
DIT_PER_GPU=${DIT_PER_GPU:-96}      # clips per GPU and step of the DiT: the official 16 x 6 (48 for FaceForensics)
WORKERS=${WORKERS:-8}               # data-loader processes per GPU

# a fresh rendezvous store for every restart (torchrun reuses one otherwise: PyTorch issue #135712)
export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1

NNODES=${SLURM_NNODES:-1}
WORLD=$((NNODES * GPUS_PER_NODE))
HEAD=$(scontrol show hostnames "${SLURM_JOB_NODELIST:-localhost}" | head -n 1)

run() {  # one stage on every GPU of every node; --resume: a restarted job continues from its last checkpoint
    srun torchrun --nnodes "$NNODES" --nproc-per-node "$GPUS_PER_NODE" \
        --rdzv-backend c10d --rdzv-endpoint "$HEAD:29500" --rdzv-id "${SLURM_JOB_ID:-ardiff}" \
        --max-restarts 3 \
        -m ardiff_edu train --preset "$PRESET" --data "$DATA" --out "$OUT" --workers "$WORKERS" \
        --resume --no-progress "$@"
}

run --stage tokenizer --batch-size $((TOK_PER_GPU * WORLD))
run --stage dit --batch-size $((DIT_PER_GPU * WORLD))
python -m ardiff_edu train --export "$OUT" --to "$OUT/$PRESET.pt"
