# %% [markdown]
# # 07 · Training: the step and the loop, by hand
#
# Notebooks 01–06 built the pieces: per-frame noising, the FoPP timestep sampler, the frame tokenizer and the causal
# DiT. This notebook puts them together into a training step and a training loop, written here cell by cell:
#
# 1. the **run**: a configuration, its data (latents of the frozen tokenizer) and its three random generators;
# 2. **one step**: FoPP timesteps, per-frame noising, the forward pass, the per-frame loss, backward, gradient
#    clipping, AdamW and the EMA of the weights;
# 3. **the loop**, run for the 40 steps of the `balls-smoke` preset, which ends with weights **bit-identical** to
#    those of the package's `ardiff_edu.train.train` on the same seed and configuration;
# 4. what the **per-frame loss** means, measured on held-out clips with the shipped model;
# 5. the **training curves** of the shipped checkpoint.
#
# Vocabulary: `T` training timesteps (1000) · `F` frames per clip · `B` clips per batch · latents `(B, F, L, C)`:
# `L` tokens of `C` channels per frame.

# %%
import copy
import math
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from ardiff_edu import checkpoint as ckpt
from ardiff_edu.figures import FONT, integer_ticks, plot_log
from ardiff_edu.fopp import exact_marginals, sample_timesteps
from ardiff_edu.losses import snr_weight
from ardiff_edu.noise import NoiseSchedule
from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, load_pipeline, real_clips
from ardiff_edu.train import PRESETS, build_dit, dit_loss, encode_latents, learning_rate, load_clips, train
from ardiff_edu.utils import seed_all

seed_all(0)
torch.set_num_threads(1)     # the smoke model is tiny; one thread also keeps the notebook's numbers reproducible
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

# %% [markdown]
# ## 1. The run: a configuration, latents and three generators
#
# A run is defined by a `TrainConfig`. We take the `balls-smoke` preset (64 clips of 8 frames, a one-block DiT of
# width 32, 40 steps: it proves the loop, not the model) with the learning-rate schedule of the `balls` preset, a
# cosine decay after a linear warm-up, so that the loop below has to get the learning rate right too.
#
# The DiT trains on **latents**: stage 1 (notebook 05) trains the frame tokenizer; its EMA weights encode every
# training clip once, and every channel is standardised with the mean and std of all training latents. The package
# does both stages; we run stage 1 with it and let `encode_latents` write the latents into the run directory.

# %%
cfg = replace(PRESETS["balls-smoke"], lr_schedule="cosine", warmup=10)
print({k: getattr(cfg, k) for k in ("num_clips", "num_frames", "width", "depth", "steps", "batch_size", "lr",
                                    "lr_schedule", "warmup", "weight_decay", "grad_clip", "ema_decay", "timesteps",
                                    "seed")})
tmp = Path(tempfile.mkdtemp())
run = tmp / "run"
train(cfg, run, stage="tokenizer", progress=False)                      # stage 1 (notebook 05), 20 steps
clips, labels, _ = load_clips(cfg)                                      # uint8 (N, F, H, W, 3); no labels
pool = encode_latents(cfg, run, clips, "cpu")                           # cached in run/latents.pt
latents = pool["latents"]
print("clips", tuple(clips.shape), "-> latents", tuple(latents.shape), "| labels:", labels)
assert latents.shape[:2] == (cfg.num_clips, cfg.num_frames) and labels is None
assert abs(float(latents.mean())) < 1e-4 and abs(float(latents.std()) - 1) < 1e-2   # standardised per channel

# %% [markdown]
# Every random number of the loop comes from one of **three generators**, made by
# `ardiff_edu.checkpoint.make_generators(seed + 1)`, one per source of randomness:
#
# * `data`: which clips form the batch (and, for class-conditional data, which labels are dropped for
#   classifier-free guidance: one uniform draw per clip, right after the indices);
# * `time`: the per-frame timesteps;
# * `noise`: the Gaussian noise.
#
# Separate generators mean that no stream depends on how many numbers another one drew: changing the timestep
# sampler changes the timesteps and nothing else. The initial weights come from torch's global generator, seeded
# with `seed` right before the model is built.

# %%
def draw_batch(gens, latents, cfg):
    """One batch: clip indices from `data`, FoPP timesteps from `time`, noise from `noise` (in this order)."""
    idx = torch.randint(len(latents), (cfg.batch_size,), generator=gens["data"])
    t = sample_timesteps(cfg.timesteps, cfg.batch_size, cfg.num_frames, cfg.num_timesteps, generator=gens["time"])
    z0 = latents[idx]                                                  # (B, F, L, C)
    eps = torch.randn(z0.shape, generator=gens["noise"])
    return z0, t, eps


z0, t, eps = draw_batch(ckpt.make_generators(cfg.seed + 1), latents, cfg)
print("FoPP timesteps of the first batch, one row per clip:\n", t.numpy())
assert (t[:, 1:] >= t[:, :-1]).all()                                   # non-decreasing: earlier frames are cleaner

# %% [markdown]
# ## 2. One training step
#
# **Noise every frame to its own level.** `z_t = √ᾱ_t · z0 + √(1 − ᾱ_t) · ε` with one `t` per frame (notebook 01):
# gather `ᾱ` at `t (B, F)` from the float64 table and broadcast it over the tokens and channels.
#
# **Predict and compare, per frame.** The DiT predicts the clean latents `z0` (x0-prediction, the official choice).
# The squared error is averaged over the `L` tokens and `C` channels of each frame: a **per-frame loss** `(B, F)`.
# Its mean is the loss we minimise; its mean over the batch, one number per frame index, is what the training log
# records as `per_frame`.

# %%
def per_frame_loss(model, z0, t, eps, schedule):
    """The loss of every frame of every clip, (B, F)."""
    abar = schedule.alphas_cumprod[t]                                  # (B, F), float64: one level per frame
    a, b = abar.sqrt().float()[..., None, None], (1 - abar).sqrt().float()[..., None, None]
    zt = a * z0 + b * eps                                              # (B, F, L, C)
    pred = model(zt, t)                                                # the DiT's estimate of z0
    return ((pred - z0) ** 2).mean(dim=(2, 3))                         # mean over tokens and channels


schedule = NoiseSchedule(cfg.num_timesteps)
torch.manual_seed(0)
fresh = build_dit(cfg, latents.shape[2])
pf = per_frame_loss(fresh, z0, t, eps, schedule)
print("per-frame loss of a fresh DiT, first clip:", np.round(pf[0].detach().numpy(), 3))
assert pf.shape == (cfg.batch_size, cfg.num_frames)
assert torch.equal(pf, dit_loss(fresh, z0, t, eps, schedule))          # the package's loss, bit for bit
assert torch.allclose(pf, (z0 ** 2).mean(dim=(2, 3)))                  # a fresh DiT outputs 0 (adaLN-Zero)

# %% [markdown]
# **Update.** `loss.backward()` fills the gradients; then three more things happen in every step:
#
# * **gradient clipping**: if the norm of all gradients together exceeds `grad_clip` (1.0), scale them down to it.
#   One bad batch can then move the weights only so far;
# * **AdamW** (`torch.optim.AdamW`, weight decay 1e-4) with the learning rate of this step: a linear **warm-up**
#   from `lr / warmup` to `lr`, then a **cosine decay** to 0 at the last step (or constant, the official choice);
# * an **EMA** (exponential moving average) of the weights, which is what sampling uses:
#   `ema ← d·ema + (1 − d)·model`, written `ema.lerp_(model, 1 − d)`.
#
# The EMA decay has a **warm-up** too (the one of the diffusers library, used by the official code):
# `d_n = min((1 + n) / (10 + n), decay)` at update `n`. A fixed decay of 0.999 would keep 0.999ⁿ of the random
# initial weights, still 37 % after 1000 steps; with the warm-up the first update takes 90 % of the model, and the
# average only lengthens as training goes on, until it reaches its horizon of about `1 / (1 − decay)` steps.

# %%
def lr_at(step, cfg):
    """The learning rate of update `step` (0-based): linear warm-up, then constant or a cosine decay to 0."""
    lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else cfg.lr
    if cfg.lr_schedule == "cosine" and cfg.steps > cfg.warmup:
        progress = min(max(0.0, (step - cfg.warmup) / (cfg.steps - cfg.warmup)), 1.0)
        lr *= 0.5 * (1 + math.cos(math.pi * progress))
    return lr


def clip_gradients(parameters, max_norm):
    """Scale all gradients together so that their joint norm is at most `max_norm`; return the norm before."""
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.stack([g.norm() for g in grads]).norm()              # the norm of all gradients as one vector
    factor = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(factor)
    return total


@torch.no_grad()
def ema_step(ema, model, step, decay):
    d = min((1 + step) / (10 + step), decay)                           # the warm-up
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm, 1 - d)                                            # pe + (1 - d)(pm - pe) = d pe + (1 - d) pm


balls = PRESETS["balls"]
for c in (cfg, balls, replace(balls, lr_schedule="constant", warmup=0)):
    assert all(lr_at(s, c) == learning_rate(c.lr, s, c.steps, c.lr_schedule, c.warmup) for s in range(0, c.steps, 7))
n = np.array([0, 1, 10, 100, 1000, 10000])
print("EMA decay d_n at update n:", {int(k): round(float(min((1 + k) / (10 + k), cfg.ema_decay)), 4) for k in n})

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.0))
steps = np.arange(balls.steps)
axes[0].plot(steps, [lr_at(s, balls) for s in steps], label=f"balls preset: {balls.lr_schedule}, "
             f"warm-up {balls.warmup}")
axes[0].plot(steps, [balls.lr] * len(steps), "--", label="constant (the official schedule)")
axes[0].set(xlabel="training step", ylabel="learning rate", title="learning rate of the balls preset")
axes[0].ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
axes[0].legend(fontsize=FONT)
n = np.arange(0, 100_001)
for decay in (0.999, 0.9999):
    axes[1].plot(n + 1, 1 / (1 - np.minimum((1 + n) / (10 + n), decay)), label=f"decay {decay}")
axes[1].set(xscale="log", yscale="log", xlabel="update n + 1", ylabel="horizon 1 / (1 − d_n), in steps",
            title="how many steps the EMA averages over")
axes[1].legend(fontsize=FONT)
for ax in axes:
    ax.tick_params(labelsize=FONT)
fig.tight_layout()
plt.show()

# %% [markdown]
# > **Paper vs code.** The official training code keeps the learning rate **constant**, without warm-up, at 1e-4 or
# > 2e-4 depending on the data set, and averages the weights with an EMA decay of **0.9999**. Our `balls` preset
# > trains a model hundreds of times smaller for tens of thousands of steps on two CPU cores: it uses a higher
# > learning rate (printed below), a linear warm-up and a cosine decay to 0, and an EMA decay of **0.999**, whose
# > horizon of about 1000 steps is short enough to follow a run that short (0.9999 would average over 10 000 steps,
# > a third of the run, weights from the steep start included). `--lr-schedule constant --warmup 0 --ema-decay 0.9999`
# > gives the official settings; the `ablation` preset keeps the constant learning rate.
# > `tests/test_train.py::test_learning_rate_schedules` pins the schedules; the cell below asserts the preset.

# %%
print({k: getattr(balls, k) for k in ("lr", "lr_schedule", "warmup", "steps", "ema_decay", "batch_size")})
assert balls.lr_schedule == "cosine" and balls.warmup > 0 and balls.ema_decay == 0.999

# %% [markdown]
# ## 3. The loop, and the package's loop
#
# The step in order, then the loop: seed torch's global generator and build the model, copy it for the EMA, make
# the optimizer and the generators, then draw a batch and take a step, `cfg.steps` times.

# %%
def train_step(model, ema, opt, batch, step, cfg, schedule):
    z0, t, eps = batch
    for group in opt.param_groups:
        group["lr"] = lr_at(step, cfg)
    opt.zero_grad(set_to_none=True)
    pf = per_frame_loss(model, z0, t, eps, schedule)                   # (B, F)
    loss = pf.mean()
    loss.backward()
    norm = clip_gradients(model.parameters(), cfg.grad_clip)
    opt.step()
    ema_step(ema, model, step, cfg.ema_decay)
    return loss.item(), norm.item()


torch.manual_seed(cfg.seed)                                            # the initial weights
model = build_dit(cfg, latents.shape[2])
ema = copy.deepcopy(model).requires_grad_(False)
opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
gens = ckpt.make_generators(cfg.seed + 1)                              # data, time, noise
model.train()
history = [train_step(model, ema, opt, draw_batch(gens, latents, cfg), step, cfg, schedule)
           for step in range(cfg.steps)]
print("loss at steps 1, 10, 20, 40:", [round(history[i][0], 4) for i in (0, 9, 19, 39)])

# %% [markdown]
# Now the package, on the same configuration and run directory (it finds the tokenizer and the encoded latents
# there). `train` returns the model and its EMA:

# %%
res = train(cfg, run, stage="dit", progress=False)
theirs, mine = res["model"].state_dict(), model.state_dict()
same = [torch.equal(mine[k], theirs[k]) for k in theirs]
same_ema = [torch.equal(ema.state_dict()[k], res["ema"].state_dict()[k]) for k in theirs]
print(f"{len(theirs)} tensors: weights bit-identical {all(same)}, EMA weights bit-identical {all(same_ema)}")
assert res["step"] == cfg.steps and all(same) and all(same_ema)
log = ckpt.read_log(run / "dit.jsonl")                                 # one record per step (log_every = 1)
assert [r["loss"] for r in log] == [round(loss, 6) for loss, _ in history]
assert [r["lr"] for r in log] == [lr_at(s, cfg) for s in range(cfg.steps)]
assert [r["grad_norm"] for r in log] == [round(norm, 4) for _, norm in history]
print("the log's losses, learning rates and gradient norms are ours too; the log's keys:", sorted(log[0]))

# %% [markdown]
# Every weight and every EMA weight is equal to the last bit, so the loop above *is* the package's loop for this
# configuration. What `train` adds around it is engineering (checkpoints, the log, resuming a stopped run, gradient
# accumulation, bf16 autocast, several processes sharing a batch); appendix A1 shows the files and the resume.
#
# ## 4. What the per-frame loss means
#
# The log's `per_frame` curves of every AR-Diffusion run share one shape: the loss **rises with the frame index**.
# It does not mean the model is worse at later frames. Under FoPP the timesteps are non-decreasing along the clip,
# so later frames are **noisier on average**, and a noisier frame's clean latents are harder to guess. The exact
# distribution of every frame's timestep (notebook 02) gives the averages:

# %%
F = 16
mean_t = exact_marginals("fopp", F, 1000) @ np.arange(1000)
print("FoPP, F = 16: mean training timestep of frames 0, 5, 10, 15:", mean_t[[0, 5, 10, 15]].round(1))
assert np.all(np.diff(mean_t) > 0)                                     # later frames are noisier on average

# %% [markdown]
# To see both effects apart, we evaluate the shipped model (its EMA weights) on **held-out** clips, which it never
# trained on: 20 clips of 16 frames, encoded with its tokenizer, with a fixed noise draw.
#
# * With **every frame at the same timestep** `t`, one line per frame index: the loss grows with `t` for every frame,
#   but at the same `t` a later frame is *not* worse (if anything better: it sees more clean-ish context).
# * With timesteps drawn **like in training** (FoPP), the per-frame loss rises along the clip, as in the log; with
#   independent timesteps (every frame uniform on its own) it does not.

# %%
pipe = load_pipeline(DEFAULT_CHECKPOINT)
held_out, _ = real_clips(pipe, 20, F, seed=0)
z_held = pipe.encode_uint8(held_out)                                   # (20, 16, L, C)
eps_held = torch.randn(z_held.shape, generator=torch.Generator().manual_seed(0))
levels = [1, 100, 250, 400, 550, 700, 850, 999]
with torch.no_grad():
    by_t = np.array([per_frame_loss(pipe.model, z_held, torch.full((20, F), t), eps_held, pipe.noise_schedule)
                     .mean(0).numpy() for t in levels])                # (levels, F)
    drawn = {kind: per_frame_loss(pipe.model, z_held,
                                  sample_timesteps(kind, 20, F, 1000, torch.Generator().manual_seed(1)),
                                  eps_held, pipe.noise_schedule).mean(0).numpy()
             for kind in ("fopp", "independent")}

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
cmap, norm = plt.get_cmap("viridis"), Normalize(0, F - 1)
for f in range(F):
    axes[0].plot(levels, by_t[:, f], color=cmap(norm(f)), lw=1.2)
axes[0].set(yscale="log", xlabel="timestep t (every frame at the same t)", ylabel="held-out loss of one frame",
            title="same t for every frame: later frames are not worse")
cbar = fig.colorbar(ScalarMappable(norm, cmap), ax=axes[0])
cbar.set_label("frame index", fontsize=FONT)
for kind, style in (("fopp", "o-"), ("independent", "s--")):
    axes[1].plot(range(F), drawn[kind], style, ms=3, label=f"timesteps drawn like {kind}")
axes[1].set(xlabel="frame index", ylabel="held-out loss of one frame",
            title="timesteps as in training: FoPP's rise is its noise")
axes[1].legend(fontsize=FONT)
integer_ticks(axes[1])
for ax in axes:
    ax.tick_params(labelsize=FONT)
fig.tight_layout()
plt.show()

early, late = by_t[:, : F // 2].mean(), by_t[:, F // 2:].mean()
print(f"same t, averaged over t: frames 0-7 {early:.3f}, frames 8-15 {late:.3f}")
print("FoPP timesteps, frames 0 / 15:", drawn["fopp"][[0, -1]].round(3), "| independent:",
      drawn["independent"][[0, -1]].round(3))
assert np.all(np.diff(by_t.mean(axis=1)) > 0)                          # noisier is harder, for every frame together
assert late <= early                                                   # at the same t, later frames are no worse
assert drawn["fopp"][-1] > 2 * drawn["fopp"][0]                        # under FoPP the loss rises along the clip

# %% [markdown]
# > **Beyond the paper (a weight on the low noise levels).** The left panel also shows how little the low noise
# > levels add to the plain loss: near `t = 0` a frame's error is a small fraction of its error at `t = 999`. Yet
# > the last, low-noise steps of the sampler are the ones that place a ball to a fraction of a pixel.
# > `train --snr-weight γ` (`losses.snr_weight`; default 0, off; neither the official code nor our presets use it)
# > multiplies each frame's loss by `1 + min(SNR_t, γ)`, with `SNR_t = ᾱ_t / (1 − ᾱ_t)`: the plain loss plus the
# > Min-SNR-γ loss of Hang et al. (2023). High noise keeps its weight; the levels below about `t = 250` (where
# > `SNR_t > 5`) get `1 + γ` times as much. Fine-tuning `balls-independent.pt` with it (γ = 5 and 50, an experiment in
# > `data/samples/README.md`) is measured there.
# > `tests/test_train.py::test_snr_weight_multiplies_each_frames_loss_and_reaches_the_training_step` pins it; the
# > cell below builds the weight and checks the package's loss with it.

# %%
gamma = 5.0
snr = schedule.alphas_cumprod / (1 - schedule.alphas_cumprod)         # float64, one value per timestep
weight = (1 + snr.clamp(max=gamma)).float()                           # $1 + \min(\mathrm{SNR}_t, \gamma)$
print("weight at t = 1, 100, 250, 500, 750, 999:", weight[[1, 100, 250, 500, 750, 999]].numpy().round(3))
assert torch.equal(weight[t], snr_weight(t, schedule, gamma))         # the package's weight, bit for bit
torch.testing.assert_close(dit_loss(fresh, z0, t, eps, schedule, snr_gamma=gamma), pf * weight[t])
assert by_t[0].mean() < 0.2 * by_t[-1].mean()                          # t = 1 adds little to the plain loss
assert weight[1] == 1 + gamma and weight[999] < 1.001                  # the low levels weigh 6 times, the top ones once

# %% [markdown]
# ## 5. The shipped checkpoint's curves
#
# `data/checkpoints/balls.pt` carries its configuration, the commands that made it and a thinned copy of its
# training log. Its numbers are printed here, not written into the text: the file can be replaced by a longer run.

# %%
c, meta = pipe.config, pipe.meta
n_params = sum(p.numel() for p in pipe.model.parameters())
print(f"DiT: width {c.width}, depth {c.depth}, {n_params / 1e6:.2f} M parameters | {c.num_clips} clips of "
      f"{c.num_frames} frames | batch {c.batch_size}, lr {c.lr} ({c.lr_schedule}, warm-up {c.warmup}), "
      f"EMA {c.ema_decay}, timesteps {c.timesteps}")
print(f"trained for {meta['steps']} steps (tokenizer: {meta['tokenizer_steps']}), seed {meta['seed']}, "
      f"final loss {meta['final_loss']}")
for line in meta["commands"]:
    print(" ", line.split("  ", 1)[1])

# %%
fig = plot_log(pipe.log, smooth=10)
fig.set_size_inches(11, 3.4)
fig.tight_layout()
plt.show()
first, last = pipe.log[0], pipe.log[-1]
pf_end = np.mean([r["per_frame"] for r in pipe.log[-20:]], axis=0)
print(f"loss {first['loss']:.3f} at step {first['step']} -> {last['loss']:.3f} at step {last['step']}")
print("per-frame loss over the last records, frames 0, 5, 10, 15:", pf_end[[0, 5, 10, 15]].round(3))
assert last["loss"] < first["loss"] and pf_end[-1] > pf_end[0]

# %% [markdown]
# The per-frame curves are ordered by frame index over the whole run, as section 4 explains: the same model,
# asked about noisier frames. The commands above reproduce the run on your machine.
#
# ## Summary
#
# * A training step: FoPP timesteps `(B, F)`, every frame noised to its own level, the DiT's estimate of `z0`, the
#   squared error per frame, backward, clipping, AdamW with the step's learning rate, the EMA with its warm-up.
# * Three generators (data, time, noise) and a seed before the model is built make a run a pure function of its
#   configuration: our loop and `ardiff_edu.train.train` end with the same bits.
# * The per-frame loss rises along the clip because FoPP makes later frames noisier on average; at equal noise the
#   later frames are no harder.

# %% [markdown]
# ## Exercises
#
# Each exercise has a checker from `ardiff_edu.exercises.nb07` that answers in one line: right, or what is wrong and
# where. The worked solution follows in a collapsed cell (click to expand it); try first.
#
# ### Exercise 1
#
# Write `mean_timestep(kind, num_frames, num_timesteps)`: the average training timestep of every frame index under
# a timestep sampler of `ardiff_edu.fopp` (estimate it from `sample_timesteps` with many clips, or compute it exactly
# from `exact_marginals`). Then retrain the smoke model with `timesteps="independent"` instead of FoPP (same seed,
# same tokenizer) and compare the two runs' per-frame loss over their last steps. Does the rise along the clip
# follow the mean timestep?

# %%
from ardiff_edu.exercises.nb07 import check_accumulated_grads, check_ema_initial_weight, check_mean_timestep  # noqa: E402,E501


def mean_timestep(kind, num_frames, num_timesteps):
    """E[t_f] for every frame index f: a float array (num_frames,)."""
    raise NotImplementedError("replace this line with your code")


check_mean_timestep(mean_timestep)

# %% tags=["solution"] jupyter={"source_hidden": true}
def mean_timestep(kind, num_frames, num_timesteps):
    t = sample_timesteps(kind, 20000, num_frames, num_timesteps, generator=torch.Generator().manual_seed(0))
    return t.double().mean(dim=0).numpy()                              # average over the clips, per frame


indep = tmp / "independent"
indep.mkdir()
for name in ("tokenizer.pt", "latents.pt"):                            # the same tokenizer and latents
    shutil.copy(run / name, indep / name)
train(replace(cfg, timesteps="independent"), indep, stage="dit", progress=False)
curves = {name: np.mean([r["per_frame"] for r in ckpt.read_log(d / "dit.jsonl")[-10:]], axis=0)
          for name, d in (("fopp", run), ("independent", indep))}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.0))
for kind in curves:
    axes[0].plot(mean_timestep(kind, cfg.num_frames, 1000), "o-", ms=3, label=kind)
    axes[1].plot(curves[kind], "o-", ms=3, label=kind)
axes[0].set(xlabel="frame index", ylabel="mean training timestep", title="where the noise is")
axes[1].set(xlabel="frame index", ylabel="training loss (last 10 steps)", title="smoke runs: per-frame loss")
for ax in axes:
    ax.legend(fontsize=FONT)
    integer_ticks(ax)
fig.tight_layout()
plt.show()
rise = {k: round(float(v[-1] - v[0]), 3) for k, v in curves.items()}
print("loss of the last frame minus the first, last 10 steps:", rise)
assert rise["fopp"] > rise["independent"]
result = check_mean_timestep(mean_timestep)
print(result)
assert result

# %% [markdown]
# ### Exercise 2
#
# A batch that does not fit in memory is split into `parts` **micro-batches**; each one's backward pass adds its
# gradient to `p.grad`, and the optimizer steps once (`train`'s `grad_accum`). Write
# `accumulated_grads(model, z0, t, eps, schedule, parts)` so that the gradients it leaves equal those of one
# backward pass on the mean per-frame loss of the whole batch. (Hint: what is each micro-batch's loss a mean over?)
# Then train the smoke model with `grad_accum=2` and compare its weights with the run above: equal to the last bit?

# %%
def accumulated_grads(model, z0, t, eps, schedule, parts):
    """Backward over `parts` micro-batches of the clips; leave the full batch's gradient in every p.grad."""
    raise NotImplementedError("replace this line with your code")


check_accumulated_grads(accumulated_grads)

# %% tags=["solution"] jupyter={"source_hidden": true}
def accumulated_grads(model, z0, t, eps, schedule, parts):
    for idx in torch.arange(len(z0)).chunk(parts):                     # each part: a mean over its own clips,
        loss = per_frame_loss(model, z0[idx], t[idx], eps[idx], schedule).mean() / parts   # so divide by parts
        loss.backward()                                                # gradients add up in p.grad


accum = tmp / "accum"
accum.mkdir()
for name in ("tokenizer.pt", "latents.pt"):
    shutil.copy(run / name, accum / name)
res2 = train(replace(cfg, grad_accum=2), accum, stage="dit", progress=False)
diff = max(float((a - b).abs().max()) for a, b in zip(res2["model"].state_dict().values(), theirs.values()))
print("grad_accum=2 vs one pass, max |weight difference| < 1e-4:", diff < 1e-4)
assert diff < 1e-4        # the same steps up to float rounding (the sums are taken in another order, so the
                          # last bits may differ: accumulation is exact in arithmetic, not in floating point)
result = check_accumulated_grads(accumulated_grads)
print(result)
assert result

# %% [markdown]
# ### Exercise 3
#
# The EMA starts as a copy of the random initial weights. Write `ema_initial_weight(n, decay)`: the share of the
# initial weights left in the EMA after `n` updates of `ema_step` (warm-up included). How many updates until it is
# below 1 % with decay 0.999, and with 0.9999? Compare with a fixed decay without the warm-up.

# %%
def ema_initial_weight(n, decay):
    """The weight of the initial model in the EMA after n updates (a float in [0, 1])."""
    raise NotImplementedError("replace this line with your code")


check_ema_initial_weight(ema_initial_weight)

# %% tags=["solution"] jupyter={"source_hidden": true}
def ema_initial_weight(n, decay):
    k = np.arange(n)
    return float(np.prod(np.minimum((1 + k) / (10 + k), decay)))       # every update keeps a share d_k of it


for decay in (0.999, 0.9999):
    below = next(n for n in range(1, 200_000) if ema_initial_weight(n, decay) < 0.01)
    print(f"decay {decay}: below 1 % after {below} updates with the warm-up, "
          f"{int(np.ceil(np.log(0.01) / np.log(decay)))} with a fixed decay")
assert ema_initial_weight(1, 0.999) == 0.1                             # the first update keeps 10 % of the start
result = check_ema_initial_weight(ema_initial_weight)
print(result)
assert result

# %%
shutil.rmtree(tmp)                                                     # the runs were only for this notebook
