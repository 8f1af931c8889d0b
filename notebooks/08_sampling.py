# %% [markdown]
# # 08 · Sampling: DDIM over the AD staircase
#
# Notebook 03 built the *schedule*: which frame gets which timestep in each network call. This notebook runs it.
# The sampler is plain DDIM (η = 0), applied **per frame**: every frame of the window carries its own step index, so
# every frame gets its own DDIM coefficients. We derive that step, check that untouched frames are left exactly
# alone, then sample from the shipped checkpoint: synchronous vs asynchronous, a sweep over the AR step `s`, a video
# four times longer than the training clips, video prediction from given frames, and a toy ball-tracking metric on
# real vs generated clips.
#
# Vocabulary: `T` training timesteps (1000) · `S` sampling steps · `F` frames · `s` AR step · `window` frames per
# network call (the training length, 16). To stay fast on a CPU we use `S = 20` sampling steps here (the paper: 50).

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu.data import bouncing_balls, to_float, to_uint8
from ardiff_edu.metrics import ball_stats, compare
from ardiff_edu.sample import DEFAULT_CHECKPOINT, ddim_coefficients, ddim_sample, ddim_step, generate, make_schedule
from ardiff_edu.schedules import ad_nfe, ad_schedule, ddim_timesteps, smallest_safe_s, step_template
from ardiff_edu.train import load_checkpoint
from ardiff_edu.utils import seed_all
from ardiff_edu.video import animate, show_grid

seed_all(0)
torch.set_num_threads(1)    # the model is small: one thread is as fast, and never fights other processes for the cores
plt.rcParams.update({"figure.dpi": 60, "font.size": 8})

# %% [markdown]
# ## 1. One DDIM step per frame
#
# DDIM with `S` steps visits the LDM "uniform" timesteps `ddim = {0, c, 2c, …} + 1` (`c = T // S`) from the noisy
# end. A frame with step index `k` (`k` steps done) is evaluated at `template[k]`, with `template[0] = T − 1` for
# untouched noise (notebook 03). The official sampler (derived from LDM's) indexes its coefficients by the **DDIM
# index** `j = S − k` and *extends* both arrays by one entry:
#
# * `alphas      = [ᾱ[ddim[0]], …, ᾱ[ddim[S−1]], ᾱ[T−1]]` — the level the frame is at,
# * `alphas_prev = [ᾱ[0], ᾱ[ddim[0]], …, ᾱ[ddim[S−2]], ᾱ[T−1]]` — the level one step later.
#
# One step, given the network's clean-latent prediction `x̂0`:
# `ε̂ = (x − √a·x̂0) / √(1 − a)` and `x_new = √a_prev·x̂0 + √(1 − a_prev)·ε̂`, with `a = alphas[j]`,
# `a_prev = alphas_prev[j]`. We build the arrays from scratch and compare them with the package.

# %%
pipe = load_checkpoint(DEFAULT_CHECKPOINT)
abar = pipe.noise_schedule.alphas_cumprod                  # float64, T = 1000
S = 5
ddim = torch.as_tensor(ddim_timesteps(S))
alphas = torch.cat([abar[ddim], abar[-1:]])                # index j = S - k
alphas_prev = torch.cat([abar[:1], abar[ddim[:-1]], abar[-1:]])
template = step_template(S)
print(" k  template[k]  j   a=alphas[j]  a_prev=alphas_prev[j]")
for k in range(S + 1):
    j = S - k
    print(f"{k:2d}  {template[k]:11d}  {j}  {alphas[j]:11.6f}  {alphas_prev[j]:12.6f}")

coef = ddim_coefficients(template, abar)                   # the package, indexed by k
assert torch.equal(coef["a"], alphas.flip(0)) and torch.equal(coef["a_prev"], alphas_prev.flip(0))
assert all(alphas[S - k] == abar[template[k]] for k in range(S + 1))   # a frame at index k is at template[k]

# %% [markdown]
# Now the step itself, from scratch, against `ddim_step` for every step index. For `k = 0` (DDIM index `S`) the
# extra entries make `a = a_prev = ᾱ[T−1]`, and then `x_new = √a·x̂0 + (x − √a·x̂0) = x`: **an untouched frame is
# left exactly unchanged, whatever the network predicts for it.** The package writes the step as
# `x_new = c_x·x + c_x0·x̂0`; for `k = 0` the coefficients are exactly `1` and `0` in floating point.

# %%
def my_step(x, x0_hat, j):
    a, a_prev = alphas[j], alphas_prev[j]
    eps_hat = (x - a.sqrt() * x0_hat) / (1 - a).sqrt()
    return a_prev.sqrt() * x0_hat + (1 - a_prev).sqrt() * eps_hat


g = torch.Generator().manual_seed(0)
x = torch.randn(2, 1, 16, 8, dtype=torch.float64, generator=g)
x0_hat = torch.randn(2, 1, 16, 8, dtype=torch.float64, generator=g)
for k in range(S + 1):
    assert torch.allclose(my_step(x, x0_hat, S - k), ddim_step(x, x0_hat, torch.tensor([k]), coef), atol=1e-12)
assert torch.allclose(my_step(x, x0_hat, S), x, atol=1e-12)              # k = 0: the identity
assert coef["c_x"][0] == 1.0 and coef["c_x0"][0] == 0.0                   # ... exactly, in the package
drift = float(coef["c_x"][S] + coef["c_x0"][S])
print(f"untouched frame: c_x = {float(coef['c_x'][0])}, c_x0 = {float(coef['c_x0'][0])}")
print(f"finished frame fed x0_hat = x: x_new = {drift:.7f} x per iteration ({drift ** 100:.4f} after 100)")
assert abs(drift - 1.0000212) < 1e-7

# %% [markdown]
# Which frames are updated is decided by the schedule's `update_mask`, not by the coefficients: in every iteration
# the sampler computes the step for the whole window and then keeps the old value wherever the mask is False,
# `x = where(update_mask, x_new, x)`. Frames outside the window are never fed to the network at all.
#
# > **Paper vs code.** The official sampler applies its keep-mask to the *network output* (`out = where(mask, out,
# > x)`) and then runs the DDIM step on every frame of the window. That is the identity for untouched frames (above),
# > but a finished frame (`k = S`) is multiplied by 1.0000212 in every later iteration it spends in the window. We
# > apply the mask to the *result* (`keep="exact"`, the default): unscheduled frames stay bit-for-bit unchanged.
# > `keep="official"` reproduces the drift; `tests/test_sample.py` pins both.

# %%
F, S = 6, 4
sched = ad_schedule(F, S, 2)
noise = torch.randn(1, F, pipe.model.num_tokens, pipe.model.token_dim, generator=torch.Generator().manual_seed(1))
exact = ddim_sample(pipe.model, sched, noise, pipe.noise_schedule)
official = ddim_sample(pipe.model, sched, noise, pipe.noise_schedule, keep="official")
waits = (sched.step_index == S).sum(axis=0) - 1                # iterations each frame sits finished in the window
print("iterations each frame spends finished in the window:", waits.tolist())
print("max |official - exact| per frame:", [f"{d:.1e}" for d in (official - exact).abs().amax(dim=(0, 2, 3)).tolist()])
# frame 0 sees only itself (causal attention): official = exact * drift^(iterations spent finished)
assert torch.allclose(official[:, 0].double(), exact[:, 0].double() * drift ** int(waits[0]), atol=1e-6)
assert 0 < (official - exact)[:, 1:].abs().max() < 1e-2      # later frames attend to the drifted ones: small changes

# %% [markdown]
# ## 2. Synchronous vs asynchronous, with the shipped checkpoint
#
# `generate` draws all the starting noise up front from `seed`, builds the AD schedule, runs `ddim_sample` over it
# and decodes the latents with the tokenizer. `s = 0` is ordinary (synchronous) video diffusion: `S` network calls,
# all frames at the same level. With `s = 2` frame `f + 1` trails frame `f` by two steps: `S + (F − 1)·s` calls.
# First, on a tiny case, `generate` is exactly those three steps:

# %%
L, C = pipe.model.num_tokens, pipe.model.token_dim


def by_hand(num_videos, num_frames, s, num_steps, seed, callback=None):
    noise = torch.randn((num_videos, num_frames, L, C), generator=torch.Generator().manual_seed(seed))
    sched = ad_schedule(num_frames, num_steps, s, window=pipe.num_frames)
    latents = ddim_sample(pipe.model, sched, noise, pipe.noise_schedule, callback=callback)
    return to_uint8(pipe.decode_video(latents))


assert np.array_equal(by_hand(1, 4, 1, 3, seed=5), generate(pipe, 1, 4, s=1, num_steps=3, seed=5))
meta = pipe.meta
print(f"checkpoint: {DEFAULT_CHECKPOINT.name}, DiT trained for {meta.get('steps')} steps "
      f"(width {pipe.config.width}, depth {pipe.config.depth}, {L} tokens x {C} channels per frame, "
      f"trained on {pipe.num_frames}-frame clips)")

# %% [markdown]
# Now 16 frames with `S = 20`, from the same noise. For `s = 2` we also keep the latent state after a few iterations
# (the `callback`), to look at the staircase *during* sampling.

# %%
S, F = 20, 16
sync = generate(pipe, 4, F, s=0, num_steps=S, seed=0)
snaps, keep_at = {}, [5, 15, 25, 35, 49]
asyn = by_hand(4, F, 2, S, seed=0, callback=lambda i, x: snaps.update({i: x[:1].clone()}) if i in keep_at else None)
print("network calls: s=0", ad_nfe(F, S, 0), "| s=2", ad_nfe(F, S, 2))
assert sync.shape == asyn.shape == (4, F, 32, 32, 3) and sync.dtype == np.uint8
assert (ad_nfe(F, S, 0), ad_nfe(F, S, 2)) == (S, S + (F - 1) * 2)
show_grid([sync[0], sync[1], asyn[0], asyn[1]], row_titles=["s=0", "s=0", "s=2", "s=2"],
          title=f"same noise, S={S}: synchronous (top) vs asynchronous (bottom)")
plt.show()

# %% tags=["nbval-ignore-output"]
animate([sync[0], sync[1], asyn[0], asyn[1]], fps=8, scale=3, fmt="mp4")

# %% [markdown]
# The decoded state of the first `s = 2` video after some iterations: early frames are already clean while later
# ones are still noise; each row is one row of notebook 03's staircase.

# %%
sched = ad_schedule(F, S, 2)
rows = [to_uint8(pipe.decode_video(snaps[i]))[0] for i in keep_at]
show_grid(rows, row_titles=[f"after it {i}" for i in keep_at], title="s=2: the state during sampling")
plt.show()
print("step index after it 25:", sched.step_index[25].tolist())
assert keep_at[-1] == sched.num_iterations - 1 and sched.step_index[25, 0] == S and sched.step_index[25, -1] == 0

# %% [markdown]
# ## 3. The AR step `s`: cost and what it changes
#
# The cost grows linearly in `s`: `NFE = S + (F − 1)·s`. We sample four 16-frame clips for several `s` and track the
# balls with
# the toy metric of section 6 (`match` = fraction of blobs that continue into the next frame, `acc` = median
# centroid acceleration away from the walls in px/frame², ≈ 0 for real constant-velocity balls) and the mean
# absolute change between consecutive frames.

# %%
print("  s   NFE   match   acc   |frame change|")
for s in (0, 1, 2, 5):
    videos = generate(pipe, 4, F, s=s, num_steps=S, seed=1)
    values, _ = ball_stats(videos)
    change = np.abs(np.diff(videos.astype(np.int16), axis=1)).mean()
    print(f"{s:3d}  {ad_nfe(F, S, s):4d}  {values['match_frac']:6.2f}  {values['accel_median']:5.2f}  {change:8.1f}")
    assert ad_nfe(F, S, s) == S + (F - 1) * s
print(f"s=S (fully auto-regressive) would cost {ad_nfe(F, S, S)} calls")

# %% [markdown]
# ## 4. Longer than the training clips: the sliding window
#
# The DiT was trained on 16-frame clips, so it sees at most 16 frames per call. For a longer video the window slides
# right by one frame whenever the frame just past it starts (notes §3.4). A frame that leaves the window must already
# be finished, which needs `s · window ≥ S`. The official code does not check this and silently skips the missing
# steps; `ad_schedule` (and so `generate`) refuses by default and names the smallest safe `s`:

# %% tags=["raises-exception"]
generate(pipe, 1, 64, s=1, num_steps=20)    # s * window = 16 < S = 20

# %% [markdown]
# Either take `s ≥ ⌈S / window⌉ = 2`, or `overflow="wait"`: hold new frames back until the oldest frame in the window
# is finished (more calls, never a skipped step). We take `s = 2`: 64 frames in `20 + 63·2 = 146` calls of 16 frames.

# %%
print("S=20, window 16: smallest safe s =", smallest_safe_s(20, 16), "| NFE s=2:", ad_nfe(64, 20, 2, 16),
      "| NFE s=1 with overflow='wait':", ad_nfe(64, 20, 1, 16, overflow="wait"))
long = generate(pipe, 1, 64, s=2, num_steps=S, seed=3)
sched = ad_schedule(64, S, 2, window=16)
print(f"64 frames, S={S}, s=2: {sched.nfe} calls of {sched.window_size} frames; every frame got "
      f"{int(sched.updates_per_frame.min())} updates")
assert long.shape == (1, 64, 32, 32, 3) and sched.nfe == S + 63 * 2 and (sched.updates_per_frame == S).all()
show_grid([long[0, :32], long[0, 32:]], row_titles=["frames 0-31", "frames 32-63"],
          max_frames=32, scale=0.35)
plt.show()

# %% tags=["nbval-ignore-output"]
animate([long[0]], fps=12, scale=3, fmt="mp4")

# %% [markdown]
# ## 5. Video prediction from given frames
#
# Give the first `p` frames as clean latents, labelled `t = 1` like a finished frame, and never update them. We also
# **shift** the schedule: the generated frames run the ordinary staircase with the first generated frame as the
# head, so no call is spent on the given frames, and with a sliding window every call sees `p` clean frames of
# context (first the given ones, later the most recently finished ones) plus `window − p` working frames.
#
# > **Paper vs code.** The official sampler has an (unused) `mask`/`x0` path that overwrites the masked frames with
# > the given latents at `t = 1` but keeps the unshifted staircase, so the first calls are spent "denoising" frames
# > that are already given. `make_schedule(..., prefix_frames=p)` drops those calls; `tests/test_sample.py` pins the
# > shift.

# %%
print(make_schedule(6, 4, 2, prefix_frames=2).to_text())
assert make_schedule(6, 4, 2, prefix_frames=2).nfe == ad_nfe(4, 4, 2) == 4 + 3 * 2

# %%
real = bouncing_balls(2, num_frames=F, seed=123)
p = 4
pred = generate(pipe, 2, F, s=2, num_steps=S, prefix_frames=real[:, :p], seed=4)
recon = to_uint8(pipe.decode_video(pipe.encode_video(to_float(real[:, :p]))))     # what the tokenizer makes of them
err_given = np.abs(pred[:, :p].astype(int) - recon.astype(int)).max()
err_future = np.abs(pred[:, p:].astype(int) - real[:, p:].astype(int)).mean()
print(f"given frames: max |pred - tokenizer reconstruction| = {err_given} / 255")
print(f"predicted frames: mean |pred - ground truth| = {err_future:.1f} / 255")
assert err_given <= 1                                    # the given frames come back (decoded), unchanged
show_grid([real[0], pred[0], real[1], pred[1]], row_titles=["real", f"pred (p={p})", "real", f"pred (p={p})"],
          title=f"video prediction: the first {p} frames given, {F - p} generated with s=2")
plt.show()

# %% [markdown]
# ## 6. A toy metric: real vs generated
#
# FVD needs a pretrained video network; we have none offline, and on bouncing balls we can do something more direct.
# `ball_stats` finds the coloured blobs in every frame (connected components of the non-black pixels), links them
# between consecutive frames and measures counts, acceleration away from walls, colour stability and how many blobs
# continue into the next frame. It is **not** FVD and its numbers are comparable only under the same protocol
# (thresholds, clip count and length), which it returns alongside the values.

# %%
real = bouncing_balls(8, num_frames=F, seed=7)
rows = compare(real, np.concatenate([sync, asyn]), names=("real", "generated"))
values, protocol = ball_stats(real)
print("protocol:", {k: protocol[k] for k in ("clips", "frames", "fg_threshold", "min_area", "max_jump", "wall_margin")})
assert rows["real"]["match_frac"] > 0.9 and rows["real"]["accel_median"] < 0.5      # real balls: tracked, smooth
assert not rows["generated"]["match_frac"] >= rows["real"]["match_frac"]     # (nan: no blobs at all)

# %% [markdown]
# Real clips are tracked almost perfectly and move at constant velocity between bounces. How close the generated
# clips come depends on how long the DiT was trained: the CPU probe found that a few hundred steps learn what a
# frame looks like (blobs of the right size and colours on black) but not how balls move, and estimated 10–20k
# steps for coherent motion. `data/samples/README.md` has the numbers of the shipped checkpoint at 16 and 64 frames,
# with the commands that produced them.
