# %% [markdown]
# # 03 · The AD scheduler: one staircase of timesteps
#
# AR-Diffusion trains a video model whose frames carry **their own** noise levels (notebooks 01–02). At inference
# it uses that freedom with the *asynchronous diffusion* (AD) scheduler: frame 0 starts denoising first, and every
# later frame follows a fixed number of steps behind. This notebook builds that schedule by hand, checks it against
# `ardiff_edu.schedules`, counts what it costs, finds a bug in the official long-video code, and shows that the
# schedules of five other systems are the same object with other knobs.
#
# Vocabulary: `T` training timesteps (1000) · `S` sampling (DDIM) steps · `F` frames · `s` AR step (how many
# sampling steps a frame stays behind its predecessor) · `window` frames per network call.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

from ardiff_edu.explorer import TimestepExplorer
from ardiff_edu.figures import draw_schedule, frame_timesteps
from ardiff_edu.ad import ad_nfe, ad_schedule, ddim_timesteps, smallest_safe_s, step_template
from ardiff_edu.staircases import staircase
from ardiff_edu.utils import seed_all

seed_all(0)
plt.rcParams.update({"figure.dpi": 70, "font.size": 8})

# %% [markdown]
# ## 1. Step indices and the template
#
# The sampler is DDIM with `S` steps, using LDM's "uniform" timesteps `{0, c, 2c, …} + 1` with `c = T // S`.
# Instead of a timestep, each frame carries a **step index** `k`: how many DDIM steps it has received
# (`0` = untouched noise, `S` = finished). A *template* turns a step index into the timestep the network is told:
# `template[0] = T − 1` (pure noise) and `template[k] = ddim[S − k]`, i.e. the DDIM steps from the noisy end.

# %%
print("DDIM steps, S=50:", ddim_timesteps(50)[:4], "...", ddim_timesteps(50)[-2:])
print("template,   S=50:", step_template(50)[:4], "...", step_template(50)[-2:])
print("template,   S=5 :", step_template(5))
assert ddim_timesteps(50).tolist() == list(range(1, 1000, 20))
assert step_template(5).tolist() == [999, 801, 601, 401, 201, 1]

# %% [markdown]
# ## 2. The rule, from scratch
#
# Each **iteration** is one network call. It computes a new row of step indices from the previous row, frame by
# frame, left to right (this is `generate_timestep_matrix` in the official `fifoddim.py`):
#
# * frame 0, or a frame whose predecessor is already finished, advances one step;
# * every other frame stays exactly `s` steps behind its predecessor: `k_new[f] = k_new[f−1] − s`;
# * indices are clamped to `[0, S]`, and we repeat until every frame is finished.
#
# A frame is *updated* in an iteration when its index changed. Here is the rule as a plain loop:

# %%
def my_ad_matrix(F, S, s):
    """Step indices [iterations, F] of the AD rule; row i is the state after iteration i."""
    k = [0] * F
    rows = []
    while min(k) < S:
        new = [0] * F
        for f in range(F):
            if f == 0 or k[f - 1] == S:
                new[f] = k[f] + 1          # head frame, or predecessor finished: one step
            else:
                new[f] = new[f - 1] - s    # otherwise: exactly s steps behind the predecessor
            new[f] = min(max(new[f], 0), S)
        rows.append(new)
        k = new
    return np.array(rows)


for s in (0, 1, 2, 5):
    assert np.array_equal(my_ad_matrix(4, 5, s), ad_schedule(4, 5, s).step_index)
    assert np.array_equal(my_ad_matrix(7, 6, s), ad_schedule(7, 6, s).step_index)
print("my_ad_matrix == ardiff_edu.ad.ad_schedule for s in (0, 1, 2, 5)")

# %% [markdown]
# The package's `Schedule` keeps the step indices, the update mask and the model timesteps (`template[k]`).
# Printed in model timesteps, with `*` marking the frames updated in each iteration, `F = 4`, `S = 5`:

# %%
for s in (0, 1, 2):
    sched = ad_schedule(4, 5, s)
    print(f"s = {s}: {sched.num_iterations} iterations")
    print(sched.to_text(show_window=False), end="\n\n")

# %% [markdown]
# `s = 0` is ordinary synchronous diffusion: all frames share the timestep. `s = S` is fully auto-regressive:
# frame `f + 1` starts only when frame `f` is finished. In between, a staircase: earlier frames are always
# cleaner than later ones (the non-decreasing constraint of training, now at inference).

# %%
fig, axes = plt.subplots(1, 4, figsize=(9, 3.2))
for ax, s in zip(axes, (0, 1, 2, 5)):
    draw_schedule(ax, ad_schedule(4, 5, s), title=f"s = {s}: {ad_schedule(4, 5, s).nfe} calls")
fig.tight_layout()
plt.show()

# %% [markdown]
# The claims above, as checks on many sizes:

# %%
for F, S in [(4, 5), (16, 50), (9, 7)]:
    for s in range(S + 1):
        sched = ad_schedule(F, S, s)
        k = sched.step_index
        assert np.all(np.diff(k, axis=1) <= 0)                         # earlier frames are never noisier
        prev = np.vstack([np.zeros((1, F), int), k[:-1]])
        assert np.all((k - prev)[sched.update_mask] == 1)              # an update is exactly one DDIM step
        running = (k > 0) & (k < S)
        both = running[:, 1:] & running[:, :-1]
        assert np.all((k[:, :-1] - k[:, 1:])[both] == s)               # neighbours in progress: exactly s apart
        assert np.all(sched.updates_per_frame == S)                    # every frame gets exactly S updates
    assert np.all(ad_schedule(F, S, 0).step_index == ad_schedule(F, S, 0).step_index[:, :1])   # s=0: synchronous
    assert np.all(ad_schedule(F, S, S).update_mask.sum(axis=1) == 1)                           # s=S: one at a time
print("staircase properties hold")

# %% [markdown]
# > **Paper vs code.** The paper's update rule is only known second-hand (via notes on the SkyReels-V2 report):
# > `t_i ← t_i + 1` if `i = 1` or `t_{i−1} = 0`, else `min(t_{i−1} + s, T)`. It counts *remaining* steps and, as
# > quoted, does not even run in the right direction. We implement the official code's rule above (step indices that
# > count *done* steps, a frame exactly `s` behind its predecessor, or one step per iteration once the predecessor
# > is finished); `tests/test_ad.py` pins it with the worked examples of the reference notes.

# %% [markdown]
# ## 3. What it costs: network calls vs `s`
#
# Frame `f` starts at iteration `f·s` and needs `S` iterations, so the last frame finishes after
# **`S + (F − 1)·s`** iterations (`S` for `s = 0`). Every iteration is one network call over the window (two with
# classifier-free guidance). For the paper's 16 frames and 50 steps:

# %%
F, S = 16, 50
print(f"{'s':>3} {'NFE':>5}  formula")
for s in (0, 5, 10, 25, 50):
    nfe = ad_schedule(F, S, s).nfe
    print(f"{s:>3} {nfe:>5}  {S} + {F - 1}*{s}")
    assert nfe == S + (F - 1) * s
assert [ad_schedule(16, 50, s).nfe for s in (0, 5, 10, 25, 50)] == [50, 125, 200, 425, 800]

# %%
s_values = np.arange(0, S + 1)
fig, ax = plt.subplots(figsize=(4, 2.4))
ax.plot(s_values, [ad_schedule(F, S, int(s)).nfe for s in s_values], "o", markersize=3)
ax.plot(s_values, S + (F - 1) * s_values, "-", linewidth=1, label="S + (F-1)·s")
ax.set_xlabel("AR step s")
ax.set_ylabel("network calls (NFE)")
ax.set_title("F = 16, S = 50")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# `s = 0` is 16× cheaper than frame-by-frame generation (`s = S`), but gives later frames no clean context to
# lean on. The paper's scripts use `s = 5` for 16 frames; notebook 08 looks at what `s` does to the samples.

# %% [markdown]
# ## 4. Long videos: the sliding window
#
# The network was trained on `window = 16` frames. For a longer video the official sampler feeds it 16 frames at a
# time: the window slides right by one frame whenever **the frame just past it starts**, and the oldest frame
# leaves. Here `F = 6`, `window = 4`, `S = 5`, `s = 2`:

# %%
long = ad_schedule(6, 5, 2, window=4)
print(long.to_text())
assert [tuple(w) for w in long.windows[[7, 8, 10]].tolist()] == [(0, 4), (1, 5), (2, 6)]
assert np.all(long.updates_per_frame == 5)

# %% [markdown]
# A frame leaves the window `window·s` iterations after it started, and it needs `S` iterations to finish. So the
# window is only safe when **`s · window ≥ S`**. Frame 0 above started at iteration 0, finished at iteration 4 and
# left at iteration 8: safe (`2 · 4 = 8 ≥ 5`). With `s = 1` it would leave at iteration 4, one step short.
#
# The official code has no guard for this. `ardiff_edu` refuses by default, and says what would work:

# %% tags=["raises-exception"]
ad_schedule(6, 5, 1, window=4)

# %% [markdown]
# ### The silent drop, reproduced
#
# `overflow="drop"` reproduces what the official sampler does: the staircase is computed as if nothing happened,
# but updates to frames outside the window are never computed. They are marked `!` (and red crosses in the plots):

# %%
dropped = ad_schedule(6, 5, 1, window=4, overflow="drop")
print(dropped.to_text())
print("updates per frame:", dropped.updates_per_frame.tolist(), "of", dropped.num_steps)
assert np.argwhere(dropped.skipped_mask).tolist() == [[4, 0], [5, 1]]
assert dropped.updates_per_frame.tolist() == [4, 4, 5, 5, 5, 5]

# %% [markdown]
# At the paper's scale (`S = 50`, `window = 16`, 128 frames) the safe AR step is `s ≥ ceil(50 / 16) = 4`. The
# scripts use `s ∈ {5, 10, 25, 50}`, so the released numbers are fine, but nothing stops a user from picking
# `s = 3` or `s = 1`. How unfinished would the frames be? (`frame_timesteps` gives the noise level a frame sits at
# after an iteration, `-1` = clean.)

# %%
print(f"smallest safe s for S=50, window=16: {smallest_safe_s(50, 16)}")
for s in (1, 3, 4):
    sched = ad_schedule(128, 50, s, window=16, overflow="drop")
    level = frame_timesteps(sched, sched.num_iterations - 1)[0]
    print(f"s = {s}: frame 0 got {sched.updates_per_frame[0]} of 50 updates, "
          f"ends at noise level t = {'clean' if level < 0 else level}")
assert frame_timesteps(ad_schedule(128, 50, 1, window=16, overflow="drop"), 0)[0] == 961
assert frame_timesteps(ad_schedule(128, 50, 1, window=16, overflow="drop"), 177 - 1)[0] == 661
assert frame_timesteps(ad_schedule(128, 50, 3, window=16, overflow="drop"), 431 - 1)[0] == 21
assert ad_schedule(128, 50, 4, window=16).nfe == 50 + 127 * 4

# %% [markdown]
# `s = 0` is worse still: all frames advance together, but only the window is computed, so frames that enter the
# window late are never denoised at all:

# %%
sync = ad_schedule(6, 5, 0, window=4, overflow="drop")
print(sync.to_text())
print("updates per frame:", sync.updates_per_frame.tolist())
assert sync.updates_per_frame.tolist() == [0, 1, 5, 5, 5, 4]

# %% [markdown]
# ### A fix: wait for the oldest frame
#
# `overflow="wait"` holds a frame that would start outside the window back (it stays pure noise) until the oldest
# frame in the window is finished; then the window slides. No update is ever dropped, and every frame gets exactly
# `S` updates. The price is network calls: groups of `window` frames now wait for each other, so frame `f` starts
# at iteration `(f // window)·S + (f % window)·s`. For safe settings it is identical to the official schedule.

# %%
waited = ad_schedule(6, 5, 1, window=4, overflow="wait")
print(waited.to_text())
assert np.all(waited.updates_per_frame == 5) and not waited.skipped_mask.any()
assert waited.nfe == ad_nfe(6, 5, 1, window=4, overflow="wait") == 11

# %%
fig, axes = plt.subplots(1, 3, figsize=(8, 3.4))
for ax, sched, name in zip(axes, (dropped, waited, long), ("s=1, drop (official)", "s=1, wait (fix)", "s=2 (safe)")):
    draw_schedule(ax, sched, title=f"{name}: NFE {sched.nfe}")
fig.tight_layout()
plt.show()

# %% [markdown]
# The cost of waiting at the paper's scale, 128 frames, `window = 16`, `S = 50`:

# %%
print(f"{'s':>3} {'drop: NFE':>10} {'wait: NFE':>10} {'frames unfinished (drop)':>25}")
for s in (1, 2, 3, 4, 5):
    drop = ad_schedule(128, 50, s, window=16, overflow="drop")
    wait = ad_schedule(128, 50, s, window=16, overflow="wait")
    assert wait.nfe == ad_nfe(128, 50, s, window=16, overflow="wait") >= drop.nfe
    assert np.all(wait.updates_per_frame == 50)
    print(f"{s:>3} {drop.nfe:>10} {wait.nfe:>10} {int((drop.updates_per_frame < 50).sum()):>25}")

# %% [markdown]
# From `s = 4` on, the policies agree. Below it, "wait" costs more calls than the broken schedule (2.3× at `s = 1`),
# yet fewer than the smallest safe `s`: it turns the long video into groups of 16 frames, each a staircase with
# a small `s`, every frame finished. Whether those samples look as good is a question for notebook 08.

# %%
assert ad_schedule(128, 50, 1, window=16, overflow="wait").nfe < ad_schedule(128, 50, 4, window=16).nfe

# %% [markdown]
# ## 5. One staircase, many names
#
# Every asynchronous video sampler fills the same `step_index[iteration, frame]` matrix; they differ only in the
# knobs (the field notes' concordance):
#
# | kind | system | knob | NFE for `F` frames |
# | --- | --- | --- | --- |
# | `full_sequence` | standard video diffusion; Diffusion Forcing "full sequence" | – | `S` |
# | `ar_diffusion` | AR-Diffusion | `s`, `window` | `S + (F−1)·s` |
# | `pyramid` | Diffusion Forcing (pyramid) | `uncertainty_scale` u (may be fractional) | `S + floor((F−1)·u)` |
# | `skyreels` | SkyReels-V2 diffusion forcing | `causal_block_size` b, `ar_step` | `S + (F/b − 1)·ar_step` |
# | `fifo` | FIFO-Diffusion (diagonal queue of `S` frames) | `num_partitions` n | `n·(S + F − 1)` |
# | `chunked` | CausVid, Self-Forcing (blocks of 3) | `block_size` k | `S·ceil(F/k)` |

# %%
F, S = 8, 8
peers = {
    "full_sequence": staircase("full_sequence", F, S),
    "ar_diffusion": staircase("ar_diffusion", F, S, s=2),
    "pyramid": staircase("pyramid", F, S, uncertainty_scale=1.5),
    "skyreels": staircase("skyreels", F, S, causal_block_size=2, ar_step=4),
    "fifo": staircase("fifo", F, S),
    "chunked": staircase("chunked", F, S, block_size=4),
}
expected_nfe = {"full_sequence": S, "ar_diffusion": S + (F - 1) * 2, "pyramid": S + math.floor((F - 1) * 1.5),
                "skyreels": S + (F // 2 - 1) * 4, "fifo": S + F - 1, "chunked": S * math.ceil(F / 4)}
for name, sched in peers.items():
    print(f"{name:>14}: NFE = {sched.nfe:>3}   params {dict(sched.params)}")
    assert sched.nfe == expected_nfe[name]
    assert np.all(sched.updates_per_frame == S)

# %%
fig, axes = plt.subplots(1, 6, figsize=(11, 3.4))
for ax, (name, sched) in zip(axes, peers.items()):
    draw_schedule(ax, sched, title=f"{name}\nNFE {sched.nfe}")
for ax in axes[1:]:
    ax.set_ylabel("")
fig.tight_layout()
plt.show()

# %% [markdown]
# The special cases make the point: a pyramid with an integer scale *is* AR-Diffusion with `s = u`; SkyReels-V2 with
# blocks of one frame is AR-Diffusion; chunked generation with blocks of one frame is AR-Diffusion with `s = S`;
# FIFO's queue is AR-Diffusion with `s = 1` and a window of `S` frames.

# %%
assert np.array_equal(staircase("pyramid", 8, 8, uncertainty_scale=2).step_index, ad_schedule(8, 8, 2).step_index)
assert np.array_equal(staircase("skyreels", 8, 8, ar_step=3).step_index, ad_schedule(8, 8, 3).step_index)
assert np.array_equal(staircase("chunked", 8, 8, block_size=1).step_index, ad_schedule(8, 8, 8).step_index)
assert np.array_equal(staircase("fifo", 12, 8).windows, ad_schedule(12, 8, 1, window=8).windows)
print("the peers reduce to AR-Diffusion's staircase")

# %% [markdown]
# ## 6. Play with it
#
# `TimestepExplorer` draws the staircase for any kind: the heatmap of model timesteps (dark = clean) with the
# window (green), updates (dots) and skipped updates (red crosses), the NFE, and a small clip whose frames sit at
# their noise level after the chosen iteration. `window = 0` means the whole video. Invalid settings (an unsafe
# `s` for a long video, a block size that does not divide `F`) show a message instead of a plot.
#
# Its initial state, as a static image (widgets do not render on GitHub):

# %%
explorer = TimestepExplorer(num_frames=12, num_steps=10, s=3, window=8, iteration=12)
assert explorer.schedule.nfe == 10 + 11 * 3 and explorer.error is None
display(Image(data=explorer.png()))
display(Image(data=bytes(explorer.frames_image.value)))

# %% [markdown]
# And live (run the notebook in Jupyter; move `s`, switch the kind, press play):

# %% tags=["nbval-ignore-output"]
explorer

# %% [markdown]
# ## Summary
#
# * AD inference is a matrix of per-frame step indices; one row per network call.
# * `s` trades speed (`S + (F−1)·s` calls) against how much clean context later frames get.
# * A sliding window needs `s · window ≥ S`; the official code silently leaves frames unfinished otherwise.
#   `ardiff_edu` raises, can reproduce the bug (`overflow="drop"`), or wait (`overflow="wait"`).
# * Diffusion Forcing, SkyReels-V2, FIFO-Diffusion, CausVid and Self-Forcing fill the same matrix.
#
# **Exercises.** (1) For `F = 128`, `window = 16`, `S = 50`, which `s` minimises NFE without dropping steps?
# (2) Build a SkyReels-V2 schedule with a window and find its smallest safe `ar_step`. (3) Change `my_ad_matrix` so
# that frames advance two steps at a time; which property check fails first?
