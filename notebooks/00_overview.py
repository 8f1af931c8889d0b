# %% [markdown]
# # 00 · AR-Diffusion in one picture
#
# *AR-Diffusion: Asynchronous Video Generation with Auto-Regressive Diffusion*, Sun et al., CVPR 2025
# ([arXiv 2503.07418](https://arxiv.org/abs/2503.07418); official code `github.com/iva-mzsun/AR-Diffusion`).
#
# This is the teaching edition: a small package, `ardiff_edu`, and a sequence of notebooks that build the method
# piece by piece on a CPU. The paper's text is quoted in blockquotes; everything else is ours, and every claim we
# make is checked by an `assert` in the cell that makes it.
#
# > The core idea: each frame gets its own noise level, with the **non-decreasing constraint** t_1 ≤ t_2 ≤ … ≤ t_F:
# > "earlier frames remain clearer than subsequent ones". — paper notes §1.1 (abstract and official code)

# %%
import math

import numpy as np
import torch
from IPython.display import Image, display

from ardiff_edu.figures import frame_timesteps
from ardiff_edu.figures import OVERVIEW, figure_png, overview_figure
from ardiff_edu.ad import ad_schedule
from ardiff_edu.fopp import count_monotone_sequences, sample_timesteps
from ardiff_edu.utils import seed_all

seed_all(0)

# %% [markdown]
# ## The paper in one picture
#
# * **Training (left).** A clip of `F` frames is noised frame by frame, each frame at its own timestep, and the
#   timesteps never decrease along the clip. FoPP (notebook 02) draws them: six training clips are shown.
# * **Inference (middle).** The AD scheduler (notebook 03) denoises the frames on a staircase. Rows are network
#   calls, columns frames, colour the noise level (dark = clean). A frame starts `s` sampling steps after its
#   predecessor: `s = 0` is ordinary synchronous video diffusion, `s = S` is frame-by-frame auto-regression, and
#   everything between is *asynchronous*.
# * **One moment (bottom).** After the highlighted call of the `s = 2` staircase, the first frames are finished,
#   the next ones are half-way, the last ones are still noise.

# %%
fig = overview_figure()
png = figure_png(fig)
display(Image(data=png))
assert len(png) < 150_000          # the same figure is docs/overview.png in the README: keep it small

# %% [markdown]
# The picture's claims, checked on the objects it was drawn from:

# %%
F, S, s, it = (OVERVIEW[k] for k in ("num_frames", "num_steps", "s", "iteration"))
train_t = sample_timesteps("fopp", OVERVIEW["num_training_clips"], F, 1000,
                           torch.Generator().manual_seed(OVERVIEW["seed"]))
assert (train_t.diff(dim=1) >= 0).all()                         # every training clip is non-decreasing

for lag in (0, s, S):
    sched = ad_schedule(F, S, lag)
    assert sched.nfe == S + (F - 1) * lag                       # network calls: S + (F-1)·s
    print(f"s = {lag:>2}: {sched.nfe:>2} network calls = S + (F-1)*s = {S} + {F - 1}*{lag}")

levels = frame_timesteps(ad_schedule(F, S, s), it)              # -1 = finished
print(f"noise level of each frame after iteration {it} (s = {s}, -1 = clean):", levels.tolist())
assert np.all(np.diff(np.where(levels < 0, -1, levels)) >= 0)   # earlier frames are cleaner

# %% [markdown]
# Why not give each frame an *independent* level, as Diffusion Forcing does? Because the non-decreasing constraint
# shrinks the space the network must learn, from `T^F` combinations to `C(T+F−1, F)`:

# %%
T, F16 = 1000, 16
print(f"T^F = 10^{math.log10(T**F16):.0f}  ->  C(T+F-1, F) = {count_monotone_sequences(T, F16):.2e}")
assert T**F16 == 10**48 and f"{count_monotone_sequences(T, F16):.2e}" == "5.39e+34"

# %% [markdown]
# ## Notation
#
# | symbol | meaning | paper value |
# | --- | --- | --- |
# | `T` | training diffusion timesteps; a frame's timestep `t ∈ {0, …, T−1}` (0 = clean) | 1000 |
# | `S` | sampling (DDIM) steps at inference | 50 |
# | `F` | frames in a clip | 16 |
# | `s` | AR step: how many sampling steps a frame starts after its predecessor (0 = synchronous, `S` = auto-regressive) | varies |
# | `window` | frames fed to the network per call when the video is longer than the training clip | 16 |
#
# Shapes everywhere: clips `(B, F, ...)`, per-frame timesteps `(B, F)` int64, pixel clips `(F, 3, H, W)` in
# [−1, 1], latent clips `(B, F, L, C)` with `L` tokens of `C` channels per frame.
#
# ## Roadmap
#
# | notebook | what you build | package module |
# | --- | --- | --- |
# | `00_overview` | this map | `figures` |
# | `01_asynchronous_noising` | one noise level per frame: synchronous vs independent vs non-decreasing, ᾱ and SNR | `diffusion` |
# | `02_fopp_scheduler` | counting sequences, the DP tables, FoPP step by step, four training samplers compared | `timesteps` |
# | `03_ad_scheduler` | the AD inference staircase, `s`, sliding windows, peers' schedules, an interactive explorer | `schedules`, `explorer` |
# | `04_video_data` | procedural and real video clips, benchmark layouts, video files | `data`, `video` |
# | `05_frame_tokenizer` | a small frame autoencoder: frames as `L` tokens × `C` channels | `models` |
# | `06_causal_transformer` | a temporal-causal DiT with per-frame adaLN-Zero | `models` |
# | `07_training` | training with FoPP, EMA, checkpoints and resuming | `train` |
# | `08_sampling` | DDIM over any schedule: synchronous vs asynchronous, long videos, prediction from given frames | `sample` |
# | `09_evaluation` | (later) the paper's claims measured at small scale | `metrics` |
# | `10_full_benchmarks` | (later) the paper's datasets at full size | `train` |
#
# ## How to run things
#
# ```bash
# make lab                      # JupyterLab on notebooks/ (creates .venv on first use)
# make test                     # pytest tests/, then strict pytest --nbval notebooks/
# make notebooks NB=notebooks/02_fopp_scheduler.py   # re-execute one notebook source into its .ipynb
# python -m ardiff_edu bench    # printed speed benchmarks (e.g. --only fopp)
# python -m ardiff_edu.figures docs/overview.png     # redraw the picture above for the README
# ```
#
# The command line dispatches to the module that owns each job (`--help` after a command lists its options):

# %%
from ardiff_edu.__main__ import COMMANDS  # noqa: E402

for name, (target, _) in COMMANDS.items():
    print(f"python -m ardiff_edu {name:<8} -> {target.replace(':', '.')}(argv)")
assert {"train", "sample", "evaluate", "prepare", "bench"} <= set(COMMANDS)

# %% [markdown]
# Next: notebook 01, the forward process with one noise level per frame.
