#!/usr/bin/env bash
# Train and export every shipped checkpoint, one run at a time, each resumable: re-running this script after an
# interruption continues where it stopped (state in runs/, which git ignores). Run from the repository root inside
# the environment (`make test` creates .venv; then `. .venv/bin/activate`):
#
#   nohup bash data/checkpoints/make_all.sh > runs/make_all.log 2>&1 &
#
# THREADS (default 2) sets torch's threads; the runs are deterministic for a given machine and thread count. The
# ablation fixes bf16 autocast for all four arms (the faster precision on our CPU, measured by
# `python -m ardiff_edu bench --only train`), so that no arm differs by a measurement taken under another load.
set -euo pipefail
export OMP_NUM_THREADS=${THREADS:-2}
PY=${PYTHON:-python}
mkdir -p runs data/checkpoints/ablation

# 1. the frame tokenizer, shared by every DiT below
$PY -m ardiff_edu train --preset balls --stage tokenizer --precision fp32 --out runs/balls --resume --no-progress

# 2. the paper's training-sampler ablation: same model, data, steps, seed and tokenizer, four samplers
for sampler in fopp full_sequence independent uniform_monotone; do
    out=runs/ablation/$sampler
    if [ ! -f data/checkpoints/ablation/$sampler.pt ]; then
        mkdir -p $out
        [ -f $out/tokenizer.pt ] || cp runs/balls/tokenizer.pt $out/tokenizer.pt
        $PY -m ardiff_edu train --preset ablation --timesteps $sampler --precision bf16 --stage dit --out $out --resume --no-progress
        $PY -m ardiff_edu train --export $out --to data/checkpoints/ablation/$sampler.pt
    fi
done

# 3. the default model; a copy of its checkpoint every 6000 steps (runs/balls/dit-step*.pt) for the
#    quality-against-steps table of data/samples/README.md
$PY -m ardiff_edu train --preset balls --stage dit --out runs/balls --resume --keep-every 6000 --no-progress
$PY -m ardiff_edu train --export runs/balls --to data/checkpoints/balls.pt

# 4. the 16-channel model (README.md, `balls-16ch.pt`): its own tokenizer with 16 channels per token, then a DiT trained
#    from scratch on its latents with per-frame independent timesteps (constant LR, 12 000 steps); its 6000-step state
#    is the weaker model that autoguides the first frame
$PY -m ardiff_edu train --preset ablation --stage tokenizer --token-dim 16 --precision fp32 --out runs/td16 --resume --no-progress
mkdir -p runs/balls-16ch runs/balls-16ch-step6000
[ -f runs/balls-16ch/tokenizer.pt ] || cp runs/td16/tokenizer.pt runs/balls-16ch/tokenizer.pt
$PY -m ardiff_edu train --preset ablation --stage dit --token-dim 16 --timesteps independent --precision bf16 \
    --steps 12000 --keep-every 6000 --out runs/balls-16ch --resume --no-progress
$PY -m ardiff_edu train --export runs/balls-16ch --to data/checkpoints/balls-16ch.pt
cp runs/balls-16ch/dit-step006000.pt runs/balls-16ch-step6000/dit.pt
cp runs/td16/tokenizer.pt runs/balls-16ch/commands.txt runs/balls-16ch-step6000/
$PY -m ardiff_edu train --export runs/balls-16ch-step6000 --to data/checkpoints/balls-16ch-step6000.pt

# 5. the 16-channel model cooled down (README.md, `balls-16ch-cooled.pt`): step 4's run continued to 24 000 steps in a
#    copy of its directory, then 3000 steps from that export with the LR warmed up over 100 steps and decayed to 0
mkdir -p runs/balls-16ch-24k
[ -f runs/balls-16ch-24k/dit.pt ] || cp -a runs/balls-16ch/. runs/balls-16ch-24k/
$PY -m ardiff_edu train --preset ablation --stage dit --token-dim 16 --timesteps independent --precision bf16 \
    --steps 24000 --keep-every 6000 --out runs/balls-16ch-24k --resume --no-progress
$PY -m ardiff_edu train --export runs/balls-16ch-24k --to runs/balls-16ch-24k.pt
$PY -m ardiff_edu train --preset ablation --stage dit --token-dim 16 --timesteps independent --precision bf16 \
    --init-from runs/balls-16ch-24k.pt --lr-schedule cosine --warmup 100 --steps 3000 --out runs/balls-16ch-cooled \
    --resume --no-progress
$PY -m ardiff_edu train --export runs/balls-16ch-cooled --to data/checkpoints/balls-16ch-cooled.pt
