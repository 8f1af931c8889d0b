#!/usr/bin/env bash
# Re-make every sample video and the quality tables of data/samples/README.md from the shipped checkpoints.
# Run from the repository root inside the environment (`. .venv/bin/activate`):  bash data/samples/regenerate.sh
# Deterministic: the noise comes from --seed, and every process uses one thread (OMP_NUM_THREADS=1).
set -euo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PY=${PYTHON:-python}
CK=${CHECKPOINT:-data/checkpoints/balls.pt}
OUT=${OUT:-data/samples}

# the GIFs: the sampler's defaults (S = 50 DDIM steps), 4 videos side by side, labelled and upscaled
$PY -m ardiff_edu sample --checkpoint "$CK" --num-frames 16 --s 0 --seed 0 --num-videos 4 --out "$OUT/balls_16f_s0.gif" --no-progress
$PY -m ardiff_edu sample --checkpoint "$CK" --num-frames 16 --s 5 --seed 0 --num-videos 4 --out "$OUT/balls_16f_s5.gif" --no-progress
$PY -m ardiff_edu sample --checkpoint "$CK" --num-frames 64 --s 5 --seed 0 --num-videos 4 --out "$OUT/balls_64f_s5.gif" --no-progress

# the quality tables (issue 14's targets): held-out real clips, their tokenizer reconstruction and generated clips,
# scored by the tracker with 95 % bootstrap intervals; 16 frames at s = 0 and the default s = 5, and 64-frame
# sliding-window videos at s = 5, all with S = 50
$PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 0 5 --num-steps 50 --num-frames 16 --num-videos 64 \
    --seed 0 --no-progress --out "$OUT/quality16.json"
$PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 5 --num-steps 50 --num-frames 64 --num-videos 32 \
    --seed 0 --no-progress --out "$OUT/quality64.json"
# the same 16-frame table at S = 20, the protocol of data/results/ (the ablation arms), to compare with them
$PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 0 5 --num-steps 20 --num-frames 16 --num-videos 64 \
    --seed 0 --no-progress --out "$OUT/quality16_S20.json"
# autoguidance of the first frame (beyond the paper; data/samples/autoguidance.md): the same noise, frame 0 guided
# away from the FoPP ablation arm, the weight of ardiff_edu.pipeline.AUTOGUIDE_SCALE
WEAK=${WEAK:-data/checkpoints/ablation/fopp.pt}
$PY -m ardiff_edu sample --checkpoint "$CK" --num-frames 16 --s 5 --seed 0 --num-videos 4 --autoguide "$WEAK" \
    --out "$OUT/balls_16f_s5_autoguide.gif" --no-progress
$PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 5 --num-steps 50 --num-frames 16 --num-videos 64 \
    --seed 0 --autoguide "$WEAK" --no-progress --out "$OUT/quality16_autoguide.json"
$PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 5 --num-steps 50 --num-frames 64 --num-videos 32 \
    --seed 0 --autoguide "$WEAK" --no-progress --out "$OUT/quality64_autoguide.json"
# the default model fine-tuned with per-frame noise (../checkpoints/README.md), with and without autoguidance
FT=${FINETUNED:-data/checkpoints/balls-independent.pt}
$PY -m ardiff_edu sample --checkpoint "$FT" --num-frames 16 --s 5 --seed 0 --num-videos 4 \
    --out "$OUT/balls-independent_16f_s5.gif" --no-progress
$PY -m ardiff_edu sample --checkpoint "$FT" --num-frames 16 --s 5 --seed 0 --num-videos 4 --autoguide "$WEAK" \
    --out "$OUT/balls-independent_16f_s5_autoguide.gif" --no-progress
# history guidance (beyond the paper): every frame guided by the frames before it; the default model alone, and the
# fine-tune with frame 0 autoguided; the weight w and the interval t < t_max chosen on the noise of seed 2 by
# data/samples/history_guidance_interval16.md for 16-frame clips and data/samples/history_guidance_interval.md for
# 64-frame videos (t_max = 1000: every noise level; w = 1: no guidance, and no history-guided GIF or table)
HG_DEFAULT=${HG_DEFAULT:-2}
HG_DEFAULT_MAX_T=${HG_DEFAULT_MAX_T:-500}
HG_FT=${HG_FT:-2}
HG_FT_MAX_T=${HG_FT_MAX_T:-500}
HG64_DEFAULT=${HG64_DEFAULT:-1.5}
HG64_DEFAULT_MAX_T=${HG64_DEFAULT_MAX_T:-500}
HG64_FT=${HG64_FT:-1}
HG64_FT_MAX_T=${HG64_FT_MAX_T:-1000}
# the flags for weight $1 on t < $2; --history-guidance-max-t only for a limited interval
hg_flags() { echo "--history-guidance $1"; if (( $2 < 1000 )); then echo "--history-guidance-max-t $2"; fi; }
if [[ $HG_DEFAULT != 1 ]]; then
    $PY -m ardiff_edu sample --checkpoint "$CK" --num-frames 16 --s 5 --seed 0 --num-videos 4 \
        $(hg_flags "$HG_DEFAULT" "$HG_DEFAULT_MAX_T") --out "$OUT/balls_16f_s5_history.gif" --no-progress
fi
if [[ $HG_FT != 1 ]]; then
    $PY -m ardiff_edu sample --checkpoint "$FT" --num-frames 16 --s 5 --seed 0 --num-videos 4 --autoguide "$WEAK" \
        $(hg_flags "$HG_FT" "$HG_FT_MAX_T") --out "$OUT/balls-independent_16f_s5_autoguide_history.gif" --no-progress
fi
$PY -m ardiff_edu sample --checkpoint "$FT" --num-frames 64 --s 5 --seed 0 --num-videos 4 --autoguide "$WEAK" \
    --out "$OUT/balls-independent_64f_s5_autoguide.gif" --no-progress
if [[ $HG64_DEFAULT != 1 ]]; then
    $PY -m ardiff_edu sample --checkpoint "$CK" --num-frames 64 --s 5 --seed 0 --num-videos 4 \
        $(hg_flags "$HG64_DEFAULT" "$HG64_DEFAULT_MAX_T") --out "$OUT/balls_64f_s5_history.gif" --no-progress
fi
if [[ $HG64_FT != 1 ]]; then
    $PY -m ardiff_edu sample --checkpoint "$FT" --num-frames 64 --s 5 --seed 0 --num-videos 4 --autoguide "$WEAK" \
        $(hg_flags "$HG64_FT" "$HG64_FT_MAX_T") --out "$OUT/balls-independent_64f_s5_autoguide_history.gif" \
        --no-progress
fi
# a lower temperature (beyond the paper): the starting noise of every frame after the first scaled by tau, chosen on
# the noise of seed 2 by data/samples/temperature16.md and temperature64.md (1: none, and no GIF or table)
TAU16_DEFAULT=${TAU16_DEFAULT:-0.8}
TAU16_FT=${TAU16_FT:-0.8}
TAU64_DEFAULT=${TAU64_DEFAULT:-0.9}
TAU64_FT=${TAU64_FT:-1}
if [[ $TAU16_FT != 1 ]]; then
    $PY -m ardiff_edu sample --checkpoint "$FT" --num-frames 16 --s 5 --seed 0 --num-videos 4 --autoguide "$WEAK" \
        --temperature "$TAU16_FT" --out "$OUT/balls-independent_16f_s5_autoguide_temperature.gif" --no-progress
fi
if [[ $TAU64_DEFAULT != 1 ]]; then
    $PY -m ardiff_edu sample --checkpoint "$CK" --num-frames 64 --s 5 --seed 0 --num-videos 4 \
        --temperature "$TAU64_DEFAULT" --out "$OUT/balls_64f_s5_temperature.gif" --no-progress
fi
for frames in 16 64; do
    videos=$(( frames == 16 ? 64 : 32 ))
    tau_default=$TAU16_DEFAULT tau_ft=$TAU16_FT
    if (( frames == 64 )); then tau_default=$TAU64_DEFAULT tau_ft=$TAU64_FT; fi
    rm -f "$OUT/quality${frames}_temperature".{json,md} \
        "$OUT/quality${frames}_independent_autoguide_temperature".{json,md}
    if [[ $tau_default != 1 ]]; then
        $PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 5 --num-steps 50 --num-frames $frames \
            --num-videos $videos --seed 0 --temperature "$tau_default" --no-progress \
            --out "$OUT/quality${frames}_temperature.json"
    fi
    if [[ $tau_ft != 1 ]]; then
        $PY -m ardiff_edu evaluate --task generate --checkpoint "$FT" --s 5 --num-steps 50 --num-frames $frames \
            --num-videos $videos --seed 0 --autoguide "$WEAK" --temperature "$tau_ft" --no-progress \
            --out "$OUT/quality${frames}_independent_autoguide_temperature.json"
    fi
done
# DDIM's eta (fresh noise in every step; the official sampler's ddim_eta, 0 in its scripts), chosen on the noise of
# seed 2 by data/samples/eta16.md and eta64.md (0: none, and no table)
ETA16_DEFAULT=${ETA16_DEFAULT:-0.5}
ETA16_FT=${ETA16_FT:-0.5}
ETA64_DEFAULT=${ETA64_DEFAULT:-1}
ETA64_FT=${ETA64_FT:-0.5}
for frames in 16 64; do
    videos=$(( frames == 16 ? 64 : 32 ))
    eta_default=$ETA16_DEFAULT eta_ft=$ETA16_FT
    if (( frames == 64 )); then eta_default=$ETA64_DEFAULT eta_ft=$ETA64_FT; fi
    rm -f "$OUT/quality${frames}_eta".{json,md} "$OUT/quality${frames}_independent_autoguide_eta".{json,md}
    if [[ $eta_default != 0 ]]; then
        $PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 5 --num-steps 50 --num-frames $frames \
            --num-videos $videos --seed 0 --eta "$eta_default" --no-progress --out "$OUT/quality${frames}_eta.json"
    fi
    if [[ $eta_ft != 0 ]]; then
        $PY -m ardiff_edu evaluate --task generate --checkpoint "$FT" --s 5 --num-steps 50 --num-frames $frames \
            --num-videos $videos --seed 0 --autoguide "$WEAK" --eta "$eta_ft" --no-progress \
            --out "$OUT/quality${frames}_independent_autoguide_eta.json"
    fi
done
for frames in 16 64; do
    videos=$(( frames == 16 ? 64 : 32 ))
    hg_default=$HG_DEFAULT hg_ft=$HG_FT max_t_default=$HG_DEFAULT_MAX_T max_t_ft=$HG_FT_MAX_T
    if (( frames == 64 )); then
        hg_default=$HG64_DEFAULT hg_ft=$HG64_FT max_t_default=$HG64_DEFAULT_MAX_T max_t_ft=$HG64_FT_MAX_T
    fi
    $PY -m ardiff_edu evaluate --task generate --checkpoint "$FT" --s 5 --num-steps 50 --num-frames $frames \
        --num-videos $videos --seed 0 --no-progress --out "$OUT/quality${frames}_independent.json"
    $PY -m ardiff_edu evaluate --task generate --checkpoint "$FT" --s 5 --num-steps 50 --num-frames $frames \
        --num-videos $videos --seed 0 --autoguide "$WEAK" --no-progress \
        --out "$OUT/quality${frames}_independent_autoguide.json"
    rm -f "$OUT/quality${frames}_history".{json,md} "$OUT/quality${frames}_independent_autoguide_history".{json,md}
    if [[ $hg_default != 1 ]]; then
        $PY -m ardiff_edu evaluate --task generate --checkpoint "$CK" --s 5 --num-steps 50 --num-frames $frames \
            --num-videos $videos --seed 0 $(hg_flags $hg_default $max_t_default) --no-progress \
            --out "$OUT/quality${frames}_history.json"
    fi
    if [[ $hg_ft != 1 ]]; then
        $PY -m ardiff_edu evaluate --task generate --checkpoint "$FT" --s 5 --num-steps 50 --num-frames $frames \
            --num-videos $videos --seed 0 --autoguide "$WEAK" $(hg_flags $hg_ft $max_t_ft) --no-progress \
            --out "$OUT/quality${frames}_independent_autoguide_history.json"
    fi
done
# the 16-channel model (../checkpoints/README.md, `balls-16ch.pt`: its own tokenizer with 16 channels per token,
# trained from scratch with per-frame independent timesteps): the tables at S = 50 without and with frame 0 autoguided
# by its own 6000-step state, and autoguided at S = 20 (the protocol of its experiments, and its setting: straighter
# and closer to the data than S = 50); the GIFs at that setting with the noise of balls_16f_s5.gif and balls_64f_s5.gif
C16=${CHANNELS16:-data/checkpoints/balls-16ch.pt}
WEAK16=${WEAK16:-data/checkpoints/balls-16ch-step6000.pt}
# a 16-channel model at its setting, S = 20 with frame 0 autoguided by WEAK16: the two GIFs and the two tables.
# $1 the checkpoint, $2 the GIFs' stem, $3 the tables' infix
at_setting16() {
    for frames in 16 64; do
        $PY -m ardiff_edu sample --checkpoint "$1" --num-frames $frames --s 5 --num-steps 20 --seed 0 \
            --num-videos 4 --autoguide "$WEAK16" --out "$OUT/$2_${frames}f_s5_autoguide.gif" --no-progress
    done
    for frames in 16 64; do
        videos=$(( frames == 16 ? 64 : 32 ))
        $PY -m ardiff_edu evaluate --task generate --checkpoint "$1" --s 5 --num-steps 20 --num-frames $frames \
            --num-videos $videos --seed 0 --autoguide "$WEAK16" --no-progress \
            --out "$OUT/quality${frames}_$3_autoguide_S20.json"
    done
}
at_setting16 "$C16" balls-16ch 16ch
for frames in 16 64; do
    videos=$(( frames == 16 ? 64 : 32 ))
    $PY -m ardiff_edu evaluate --task generate --checkpoint "$C16" --s 5 --num-steps 50 --num-frames $frames \
        --num-videos $videos --seed 0 --no-progress --out "$OUT/quality${frames}_16ch.json"
    $PY -m ardiff_edu evaluate --task generate --checkpoint "$C16" --s 5 --num-steps 50 --num-frames $frames \
        --num-videos $videos --seed 0 --autoguide "$WEAK16" --no-progress \
        --out "$OUT/quality${frames}_16ch_autoguide.json"
done
# the same run continued to 24 000 steps and cooled down (../checkpoints/README.md, `balls-16ch-cooled.pt`) at the
# same setting, with the same noise and the same 6000-step state guiding frame 0
at_setting16 "${CHANNELS16_COOLED:-data/checkpoints/balls-16ch-cooled.pt}" balls-16ch-cooled 16ch_cooled
$PY -c "
from pathlib import Path
from ardiff_edu.results import load_json, quality_markdown
for name, what in (('16', '16 frames'), ('64', '64 frames'), ('16_autoguide', '16 frames, first frame autoguided'),
                   ('64_autoguide', '64 frames, first frame autoguided'),
                   ('16_independent', 'balls-independent.pt, 16 frames'),
                   ('64_independent', 'balls-independent.pt, 64 frames'),
                   ('16_independent_autoguide', 'balls-independent.pt, 16 frames, first frame autoguided'),
                   ('64_independent_autoguide', 'balls-independent.pt, 64 frames, first frame autoguided'),
                   ('16_history', '16 frames, history guidance'), ('64_history', '64 frames, history guidance'),
                   ('16_independent_autoguide_history',
                    'balls-independent.pt, 16 frames, first frame autoguided, history guidance'),
                   ('64_independent_autoguide_history',
                    'balls-independent.pt, 64 frames, first frame autoguided, history guidance'),
                   ('16_temperature', '16 frames, lower temperature'),
                   ('64_temperature', '64 frames, lower temperature'),
                   ('16_independent_autoguide_temperature',
                    'balls-independent.pt, 16 frames, first frame autoguided, lower temperature'),
                   ('64_independent_autoguide_temperature',
                    'balls-independent.pt, 64 frames, first frame autoguided, lower temperature'),
                   ('16_eta', '16 frames, DDIM eta'), ('64_eta', '64 frames, DDIM eta'),
                   ('16_independent_autoguide_eta', 'balls-independent.pt, 16 frames, first frame autoguided, DDIM eta'),
                   ('64_independent_autoguide_eta', 'balls-independent.pt, 64 frames, first frame autoguided, DDIM eta'),
                   ('16_16ch', 'balls-16ch.pt, 16 frames'), ('64_16ch', 'balls-16ch.pt, 64 frames'),
                   ('16_16ch_autoguide', 'balls-16ch.pt, 16 frames, first frame autoguided'),
                   ('64_16ch_autoguide', 'balls-16ch.pt, 64 frames, first frame autoguided'),
                   ('16_16ch_autoguide_S20', 'balls-16ch.pt, 16 frames, first frame autoguided, S = 20'),
                   ('64_16ch_autoguide_S20', 'balls-16ch.pt, 64 frames, first frame autoguided, S = 20'),
                   ('16_16ch_cooled_autoguide_S20', 'balls-16ch-cooled.pt, 16 frames, first frame autoguided, S = 20'),
                   ('64_16ch_cooled_autoguide_S20', 'balls-16ch-cooled.pt, 64 frames, first frame autoguided, S = 20')):
    if not Path('$OUT/quality%s.json' % name).exists():     # a guidance weight or temperature of 1 (eta 0): no table
        continue
    r = load_json('$OUT/quality%s.json' % name)
    print(f'### {what}\n\n\`{r[\"command\"]}\`\n\n' + quality_markdown(r) + '\n')
" > "$OUT/quality.md"
cat "$OUT/quality.md"
