# %% [markdown]
# # 00 · AR-Diffusion in one picture
#
# *AR-Diffusion: Asynchronous Video Generation with Auto-Regressive Diffusion*, Sun et al., CVPR 2025
# ([arXiv 2503.07418](https://arxiv.org/abs/2503.07418); official code `github.com/iva-mzsun/AR-Diffusion`).
#
# This is the teaching edition: a small package, `ardiff_edu`, and a sequence of notebooks that build the method
# piece by piece on a CPU. Every claim we make is checked by an `assert` in the cell that makes it.
#
# **Sources.** We quote the paper only where its words are available to us, the title and the abstract. Everything
# else is described in our own words, and where we describe the official code we name the file in
# `iva-mzsun/AR-Diffusion` at commit `7a37b94` (for example `src/ardiff/modules/fifoddim.py`), so that you can check
# it. Where our code differs from the official one, a blockquote starting with **Paper vs code** says so and names
# the test that pins our behaviour; `docs/paper-vs-code.md` lists them all.
#
# The core idea, in the abstract's words: every frame gets its own noise level, and
#
# > "earlier frames remain clearer than subsequent ones" — AR-Diffusion, abstract
#
# that is, the per-frame timesteps never decrease along the clip, `t_0 ≤ t_1 ≤ … ≤ t_{F−1}` (the official code
# enforces it in its training sampler and in its inference scheduler).

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
# | symbol | meaning | official value |
# | --- | --- | --- |
# | `T` | training diffusion timesteps; a frame's timestep `t ∈ {0, …, T−1}` (0 = clean) | 1000 |
# | `S` | sampling (DDIM) steps at inference (`ddim_steps`) | 50 |
# | `F` | frames in a clip | 16 |
# | `s` | AR step (`ardiff_step`): how many sampling steps a frame starts after its predecessor (0 = synchronous, `S` = auto-regressive) | 5 in the README's example |
# | `window` | frames fed to the network per call when the video is longer than the training clip (`base_num_frames`) | 16 |
#
# Shapes everywhere: clips `(B, F, ...)`, per-frame timesteps `(B, F)` int64, pixel clips `(F, 3, H, W)` in
# [−1, 1], latent clips `(B, F, L, C)` with `L` tokens of `C` channels per frame.
#
# ## Roadmap
#
# | notebook | what you build | package module |
# | --- | --- | --- |
# | `00_overview` | this map | `figures` |
# | `01_asynchronous_noising` | one noise level per frame: synchronous vs independent vs non-decreasing, ᾱ and SNR | `noise` |
# | `02_fopp_scheduler` | counting sequences, the DP tables, FoPP step by step, four training samplers compared | `fopp` |
# | `03_ad_scheduler` | the AD inference staircase, `s`, sliding windows, given frames, peers' schedules, an interactive explorer | `ad`, `staircases`, `explorer` |
# | `04_video_data` | bouncing balls with ground truth, stand-ins for the paper's data sets, real footage, video files | `data`, `video` |
# | `05_frame_tokenizer` | a small frame autoencoder: frames as `L` tokens × `C` channels | `models` |
# | `06_causal_transformer` | a temporal-causal DiT with per-frame adaLN-Zero | `models` |
# | `07_training` | training with FoPP, EMA, checkpoints and resuming | `train`, `checkpoint` |
# | `08_sampling` | DDIM over any schedule: synchronous vs asynchronous, long videos, prediction from given frames, a KV cache, watching it denoise | `ddim`, `pipeline`, `explorer` |
# | `09_evaluation` | the paper's claims measured at small scale: the training-sampler ablation, controls, confidence intervals, FVD | `metrics`, `evaluate` |
# | `10_full_benchmarks` | FaceForensics, Sky-Timelapse, Taichi-HD, UCF-101 at paper size: `torchrun`/DDP and the compute plan | `train`, `distributed`, `plan` |
# | `A1_engineering` (appendix) | atomic writes, resuming, reading the paper's benchmarks from disk: folder layouts, `prepare`, the clip cache | `checkpoint`, `data` |
#
# Every notebook from 01 on ends with exercises; their checkers live in `ardiff_edu.exercises`.
#
# ## How to run things
#
# ```bash
# make lab                      # JupyterLab on notebooks/ (creates .venv on first use)
# make test                     # pytest tests/, then strict pytest --nbval notebooks/
# make notebooks NB=02_fopp_scheduler   # re-execute one notebook source into its executed .ipynb
# . .venv/bin/activate          # then python -m ardiff_edu ... works in this shell
# python -m ardiff_edu bench    # printed speed benchmarks (e.g. --only fopp)
# python -m ardiff_edu.figures docs/overview.png     # redraw the picture above for the README
# ```
#
# The command line dispatches to the module that owns each job (`--help` after a command lists its options):

# %%
from ardiff_edu.__main__ import COMMANDS  # noqa: E402

for name, (target, _) in COMMANDS.items():
    print(f"python -m ardiff_edu {name:<8} -> {target.replace(':', '.')}(argv)")
assert set(COMMANDS) == {"train", "sample", "evaluate", "prepare", "plan", "bench"}

# %% [markdown]
# Next: notebook 01, the forward process with one noise level per frame.
