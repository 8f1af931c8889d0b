# %% [markdown]
# # 03 · The AD scheduler: one staircase of timesteps
#
# AR-Diffusion trains a video model whose frames carry **their own** noise levels (notebooks 01–02). At inference
# it uses that freedom with the *asynchronous diffusion* (AD) scheduler: frame 0 starts denoising first, and every
# later frame follows a fixed number of steps behind. This notebook builds that schedule by hand, checks it against
# `ardiff_edu.ad`, counts what it costs, finds a bug in the official long-video code, adds given frames (video
# prediction), and shows with `ardiff_edu.staircases` that the schedules of five other systems are the same object
# with other knobs. Three exercises close it: the cost of the pyramid schedule, the AD rule for one row, and the
# smallest safe `s` for a sliding window.
#
# Where we describe the official code, the paths are those of `iva-mzsun/AR-Diffusion` at commit `7a37b94`; the
# scheduler is `generate_timestep_matrix` in `src/ardiff/modules/fifoddim.py`.
#
# Vocabulary: `T` training timesteps (1000) · `S` sampling (DDIM) steps · `F` frames · `s` AR step (how many
# sampling steps a frame stays behind its predecessor) · `window` frames per network call.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

from ardiff_edu.explorer import TimestepExplorer
from ardiff_edu.figures import draw_schedule, frame_timesteps, integer_ticks
from ardiff_edu.ad import ad_nfe, ad_schedule, ddim_timesteps, smallest_safe_s, step_template
from ardiff_edu.staircases import staircase
from ardiff_edu.utils import seed_all

seed_all(0)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

# %% [markdown]
# ## 1. Step indices and the template
#
# The sampler is DDIM with `S` steps, using LDM's "uniform" timesteps `{0, c, 2c, …} + 1` with `c = T // S`
# (`make_ddim_timesteps` in `src/ardiff/modules/utils.py`).
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
fig, axes = plt.subplots(1, 4, figsize=(10, 3.6))
for i, (ax, s) in enumerate(zip(axes, (0, 1, 2, 5))):
    draw_schedule(ax, ad_schedule(4, 5, s), title=f"s = {s}: {ad_schedule(4, 5, s).nfe} calls", colorbar=i == 3)
    if i:
        ax.set_ylabel("")
fig.suptitle("F = 4 frames, S = 5 steps: from synchronous (s = 0) to frame by frame (s = S)", fontsize=11)
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
# > **Paper vs code.** Of the paper we can read only the title and the abstract, which describe the idea (earlier
# > frames clearer than later ones) but not the update rule. We implement the official code's rule above
# > (`generate_timestep_matrix` in `src/ardiff/modules/fifoddim.py`): step indices count *done* steps, a frame stays
# > exactly `s` behind its predecessor, and once the predecessor is finished it advances one step per iteration.
# > `tests/test_ad.py::test_paper_vs_code_we_follow_the_code_rule` and the golden staircases in `tests/test_ad.py`
# > pin it.

# %% [markdown]
# ## 3. What it costs: network calls vs `s`
#
# Frame `f` starts at iteration `f·s` and needs `S` iterations, so the last frame finishes after
# **`S + (F − 1)·s`** iterations (`S` for `s = 0`). Every iteration is one network call over the window (two with
# classifier-free guidance). For the official 16 frames and 50 steps:

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
fig, ax = plt.subplots(figsize=(5.5, 3.0))
ax.plot(s_values, [ad_schedule(F, S, int(s)).nfe for s in s_values], "o", markersize=3, label="ad_schedule(...).nfe")
ax.plot(s_values, S + (F - 1) * s_values, "-", linewidth=1, label="S + (F-1)·s")
ax.set_xlabel("AR step s")
ax.set_ylabel("network calls (NFE)")
ax.set_title("network calls vs s: the schedule and the formula (F = 16, S = 50)", fontsize=10)
integer_ticks(ax)
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# `s = 0` is 16× cheaper than frame-by-frame generation (`s = S`), but gives later frames no clean context to
# lean on. The official inference scripts use `s = 5` for 16 frames (the last argument of
# `shell_scripts/stage2_ardiff_scripts/*/infer_base_script.sh` in the README's example); notebook 08 looks at what
# `s` does to the samples.

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
# > **Paper vs code.** The official sampler has no guard for this: with `s · window < S` it slides the window anyway,
# > and the remaining updates of the frames that left are never computed (`sample` in `fifoddim.py` only runs
# > the network on `valid_interval`). `ad_schedule` refuses by default and names the smallest safe `s`
# > (`tests/test_ad.py::test_unsafe_long_video_raises_with_smallest_safe_s`); `overflow="drop"` reproduces the
# > official behaviour (`tests/test_ad.py::test_drop_reproduces_the_official_silent_skip`) and `overflow="wait"`
# > is a fix (below).
#
# The refusal says what would work:

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
# At the official scale (`S = 50`, `window = 16`, 128 frames) the safe AR step is `s ≥ ceil(50 / 16) = 4`. The
# official 128-frame scripts use `s = 5` or more, so released results are not affected, but nothing stops a user from
# picking
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
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
for i, (ax, sched, name) in enumerate(zip(axes, (dropped, waited, long),
                                          ("s=1, drop (official)", "s=1, wait (fix)", "s=2 (safe)"))):
    draw_schedule(ax, sched, title=f"{name}\nNFE {sched.nfe}", colorbar=i == 2)
    if i:
        ax.set_ylabel("")
fig.suptitle("F = 6, window = 4, S = 5: green = window, red × = update dropped", fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown]
# The cost of waiting at the official scale, 128 frames, `window = 16`, `S = 50`:

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
# ## 5. Given frames: continuing a video
#
# To *predict* a video from its first `K` frames, those frames are given: they are clean from the start and must
# never change. `ad_schedule(..., prefix_frames=K)` makes them part of the schedule: their step index is `S`
# (finished) from the first row on and they are never updated. Nothing else changes in the rule: frame `K`'s
# predecessor is finished, so frame `K` advances from the first iteration on, and the generated frames form the
# ordinary staircase of `F − K` frames. The given frames are fed as context with the label of a finished frame,
# `template[S]` (here `1`). Two given frames, four to generate, `S = 5`, `s = 2`:

# %%
pred = ad_schedule(6, 5, 2, prefix_frames=2)
print(pred.to_text(show_window=False))
print("updates per frame:", pred.updates_per_frame.tolist(), "| NFE:", pred.formula)
assert not pred.update_mask[:, :2].any() and (pred.step_index[:, :2] == 5).all()      # given: finished, untouched
assert np.array_equal(pred.step_index[:, 2:], ad_schedule(4, 5, 2).step_index)         # the rest: a 4-frame staircase
assert pred.nfe == 5 + (6 - 2 - 1) * 2 == ad_nfe(6, 5, 2, prefix_frames=2)

# %% [markdown]
# With a sliding window the given frames fill the front of the first window and slide out as new frames start; the
# guard is the same `s · window ≥ S`. Ten frames, two of them given, `window = 4`:

# %%
pred_long = ad_schedule(10, 5, 2, window=4, prefix_frames=2)
print(pred_long.to_text(rows=[0, 3, 4, 6, 14, 18]))
assert not pred_long.skipped_mask.any() and (pred_long.updates_per_frame[2:] == 5).all()
assert [tuple(w) for w in pred_long.windows[[0, 4, 14]].tolist()] == [(0, 4), (1, 5), (6, 10)]

# %% [markdown]
# > **Paper vs code.** The paper's text we can read says nothing about given frames. The official sampler accepts a
# > `mask` and clean latents `x0` (`sample` in `src/ardiff/modules/fifoddim.py`; no script of the repository uses
# > them): before every call it overwrites the masked frames with the given latents and labels them `t = 1`, but it
# > builds the timestep matrix as if every frame were generated, so the first generated frame still waits `K · s`
# > iterations behind frames that need no denoising. We put the given frames into the schedule, as SkyReels-V2 does
# > with `num_pre_ready`: the staircase starts at frame `K`, `S + (F−K−1)·s` calls instead of `S + (F−1)·s`
# > (`tests/test_ad.py::test_given_frames_start_finished_and_the_rule_starts_after_them`); the sampler writes them
# > once and labels them `template[S]`
# > (`tests/test_ddim.py::test_given_frames_stay_fixed_are_labelled_finished_and_the_rest_is_recovered`).

# %%
masked = ad_schedule(6, 5, 2)              # what the official mask path runs: the given frames still on the staircase
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.8))
draw_schedule(axes[0], pred, title=f"ours: 2 given frames finished from\nthe start, NFE {pred.nfe}", colorbar=False)
draw_schedule(axes[1], masked, title=f"official mask path: the staircase still\nruns over them, NFE {masked.nfe}")
axes[1].set_ylabel("")
fig.suptitle("predicting 4 frames from 2 given ones (S = 5, s = 2)", fontsize=11)
fig.tight_layout()
plt.show()
assert masked.nfe - pred.nfe == 2 * 2                    # K·s calls saved

# %% [markdown]
# ## 6. One staircase, many names
#
# Every asynchronous video sampler fills the same `step_index[iteration, frame]` matrix; they differ only in the
# knobs:
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
fig, axes = plt.subplots(1, 6, figsize=(14, 4.0))
for i, (ax, (name, sched)) in enumerate(zip(axes, peers.items())):
    draw_schedule(ax, sched, title=f"{name}\nNFE {sched.nfe}", colorbar=i == 5)
    if i:
        ax.set_ylabel("")
fig.suptitle(f"six kinds, one staircase: F = {F} frames, S = {S} steps each (dark = clean)", fontsize=11)
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
# ## 7. Play with it
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
# * Given frames (`prefix_frames=K`) are finished from the start; the staircase runs over the other `F − K` frames.
# * Diffusion Forcing, SkyReels-V2, FIFO-Diffusion, CausVid and Self-Forcing fill the same matrix.
#
# ## Exercises
#
# Each exercise has a checker from `ardiff_edu.exercises.nb03` that answers in one line: right, or what is wrong and
# where. The worked solution follows in a collapsed cell; try first.
#
# ### Exercise 1
#
# Derive the cost of Diffusion Forcing's pyramid. In `staircases.pyramid(F, S, u)` frame `f` starts `int(f·u)`
# iterations after frame 0 and then advances one step per iteration. Write `pyramid_nfe(F, S, u)`, the number of
# network calls, as a formula, without building the schedule (the checker tries fractional `u` too). Then plot it
# against `u` for `F = 16`, `S = 50` next to AR-Diffusion's `S + (F−1)·s`: where do they agree?

# %%
from ardiff_edu.exercises.nb03 import check_next_row, check_pyramid_nfe, check_smallest_safe_s  # noqa: E402


def pyramid_nfe(F, S, u):
    """Network calls of the pyramid schedule: F frames, S steps, frame f starting int(f*u) iterations after frame 0."""
    raise NotImplementedError("replace this line with your code")


check_pyramid_nfe(pyramid_nfe)

# %% tags=["solution"] jupyter={"source_hidden": true}
def pyramid_nfe(F, S, u):
    return S + int((F - 1) * u)            # the last frame starts int((F-1)·u) iterations in, then needs S of them


us = np.arange(0, 4.01, 0.25)
fig, ax = plt.subplots(figsize=(6, 3.0))
ax.plot(us, [pyramid_nfe(16, 50, u) for u in us], "o-", markersize=4, label="pyramid, scale u")
ax.plot(us[us % 1 == 0], [ad_nfe(16, 50, int(u)) for u in us[us % 1 == 0]], "s", markersize=9, mfc="none",
        label="AR-Diffusion, s = u")
ax.set(xlabel="lag between neighbouring frames (u or s)", ylabel="network calls (NFE)",
       title="pyramid vs AR-Diffusion: network calls for F = 16, S = 50", xticks=np.arange(0, 4.5, 0.5))
ax.legend()
fig.tight_layout()
plt.show()
assert all(pyramid_nfe(16, 50, u) == ad_nfe(16, 50, int(u)) for u in (0, 1, 2, 3, 4))    # integer u: the same
result = check_pyramid_nfe(pyramid_nfe)
print(result)
assert result

# %% [markdown]
# ### Exercise 2
#
# Write the AD rule for one row. `next_row(prev, S, s)` gets the step indices after one iteration (a list of `F`
# ints, `0` = noise, `S` = finished) and returns those after the next one. The checker runs it from
# `[S]·K + [0]·(F−K)` (with and without given frames) until every frame is finished and compares every row with
# `ad_schedule(F, S, s, prefix_frames=K)`. Then run it for `F = 6`, `S = 5`, `s = 2` with two given frames and print
# the rows: did the given frames need any special case in your rule?

# %%
def next_row(prev, S, s):
    """The step indices after the next iteration of the AD rule, from those after the previous one."""
    raise NotImplementedError("replace this line with your code")


check_next_row(next_row)

# %% tags=["solution"] jupyter={"source_hidden": true}
def next_row(prev, S, s):
    new = []
    for f, k in enumerate(prev):
        if f == 0 or prev[f - 1] == S:
            cand = k + 1                       # the head, or the predecessor is finished: one step
        else:
            cand = new[f - 1] - s              # exactly s behind the predecessor's *new* index
        new.append(min(max(cand, 0), S))
    return new


row, rows = [5, 5, 0, 0, 0, 0], []
while min(row) < 5:
    row = next_row(row, 5, 2)
    rows.append(row)
print("\n".join(f"it{i}: {r}" for i, r in enumerate(rows)))
assert rows == pred.step_index.tolist()          # the given frames needed no special case
result = check_next_row(next_row)
print(result)
assert result

# %% [markdown]
# ### Exercise 3
#
# Find the smallest safe `s` for a sliding window by experiment. Write `safe_s(F, S, window)`: the smallest AR step
# for which `ad_schedule(F, S, s, window, overflow="drop")` drops no update (`skipped_mask` all False). Then compare
# your answers with `ceil(S / window)` on a few settings, including a video that fits in one window: when does the
# formula hold?

# %%
def safe_s(F, S, window):
    """The smallest s in [0, S] whose sliding window drops no update."""
    raise NotImplementedError("replace this line with your code")


check_smallest_safe_s(safe_s)

# %% tags=["solution"] jupyter={"source_hidden": true}
def safe_s(F, S, window):
    for s in range(S + 1):
        if not ad_schedule(F, S, s, window, overflow="drop").skipped_mask.any():
            return s


print(f"{'F':>4} {'S':>3} {'window':>6} {'safe_s':>7} {'ceil(S/window)':>15}")
for F_, S_, W_ in ((128, 50, 16), (40, 12, 5), (30, 12, 4), (8, 7, 8)):
    print(f"{F_:>4} {S_:>3} {W_:>6} {safe_s(F_, S_, W_):>7} {math.ceil(S_ / W_):>15}")
# the formula holds whenever frames leave the window; a video that fits in one window is safe for every s
assert safe_s(128, 50, 16) == smallest_safe_s(50, 16) == 4 and safe_s(8, 7, 8) == 0
result = check_smallest_safe_s(safe_s)
print(result)
assert result
