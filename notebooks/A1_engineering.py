# %% [markdown]
# # A1 · Engineering: atomic files, exact resume, the run directory, the command line, data layouts
#
# None of this is AR-Diffusion; all of it decides whether a training run of several hours survives a crash and can
# be continued, and whether the data reach the model as intended. This appendix shows, each on a real run or a real
# file:
#
# 1. **atomic writes**: a file is either the old one or the complete new one, never half of one;
# 2. **checkpoints and bit-identical resume**: stop a run, continue it, and get the bits of a run that never stopped;
# 3. **the run directory**: its files and the training log, and what a resume does to the log;
# 4. **exit codes** of `python -m ardiff_edu`;
# 5. **the paper's data sets**: the four published folder layouts, their readers, and `python -m ardiff_edu prepare`,
#    all shown on tiny fake trees.

# %%
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu.__main__ import main as ardiff_main
from ardiff_edu.data import CachedClips, find_items, make_example_tree
from ardiff_edu.train import PRESETS, train
from ardiff_edu.utils import atomic_open, seed_all
from ardiff_edu.video import show_grid

seed_all(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})
home = Path.cwd()
work = Path(tempfile.mkdtemp())
os.chdir(work)       # relative paths from here on: printed paths do not depend on the temporary folder's name

# %% [markdown]
# ## 1. Atomic writes
#
# A process can die at any moment: a killed job, a full disk, a power cut. If it was overwriting a checkpoint in
# place, the file on disk is now half old, half new, and neither loads. `ardiff_edu.utils.atomic_open(path)` writes
# into a **temporary file in the same folder** and, only once everything is written and flushed to disk, renames it
# onto `path` with `os.replace`, which POSIX makes atomic: any reader sees the old file or the new one. If the block
# fails, the temporary file is deleted and the old file stays. Every file the package writes (checkpoints, latents,
# exported models, caches, videos) goes through it.

# %%
target = Path("state.json")
target.write_text(json.dumps({"step": 20}))
with atomic_open(target, "w") as f:
    f.write(json.dumps({"step": 40}))
    during = sorted(p.name for p in Path(".").iterdir())               # while writing: a hidden temporary file
print("while writing:", ["<temporary file>" if n.startswith(".state.tmp.") else n for n in during])
print("after:", target.read_text(), "| files:", sorted(p.name for p in Path(".").iterdir()))
assert len(during) == 2 and target.read_text() == '{"step": 40}'

try:
    with atomic_open(target, "w") as f:
        f.write('{"step": 6')                                          # half of a record...
        raise OSError("No space left on device (simulated)")          # ...then the disk is full
except OSError as err:
    print("the write failed:", err)
print("after the failure:", target.read_text(), "| files:", sorted(p.name for p in Path(".").iterdir()))
assert target.read_text() == '{"step": 40}' and sorted(p.name for p in Path(".").iterdir()) == ["state.json"]

# %% [markdown]
# ## 2. Checkpoints and bit-identical resume
#
# Every `ckpt_every` steps, and at the end, `train` writes `<stage>.pt` atomically. A run checkpoint holds the
# model, its EMA, the optimizer (AdamW's moment estimates), the step, the configuration, the number of processes and
# the **states of the three random generators** (data, timesteps, noise; notebook 07). `resume=True` (`--resume` on
# the command line) restores all of it, so the resumed run draws exactly the clips, timesteps and noise that the
# uninterrupted run drew.
#
# Here: the `balls-smoke` preset (a few seconds per stage), 40 steps in one go, and the same run stopped after 20
# steps and resumed to 40.

# %%
smoke = PRESETS["balls-smoke"]
train(smoke, "live", stage="tokenizer", progress=False)
train(smoke, "live", stage="dit", progress=False)                      # 40 steps in one go
Path("stopped").mkdir()
shutil.copy("live/tokenizer.pt", "stopped/tokenizer.pt")                # the same tokenizer
train(replace(smoke, steps=20), "stopped", stage="dit", progress=False)
print("stopped at step", ckpt.load_file("stopped/dit.pt")["step"])
train(smoke, "stopped", stage="dit", resume=True, progress=False)      # continue to the preset's 40 steps
a, b = ckpt.load_file("live/dit.pt"), ckpt.load_file("stopped/dit.pt")
same = {part: all(torch.equal(a[part][k], b[part][k]) for k in a[part]) for part in ("model", "ema")}
same["optimizer"] = all(torch.equal(x, y) for s, t in zip(a["optimizer"]["state"].values(),
                                                           b["optimizer"]["state"].values())
                        for x, y in zip(s.values(), t.values()))
same["generators"] = all(torch.equal(a["generators"][k], b["generators"][k]) for k in ckpt.GENERATORS)
print("step", b["step"], "| bit-identical:", same)
assert b["step"] == 40 and all(same.values())

# %%
print("a run checkpoint holds:", sorted(a))
print("format:", a["format"], "| stage:", a["stage"], "| step:", a["step"], "| processes:", a["world_size"])
print("generator states saved:", list(a["generators"]), "| optimizer state of", len(a["optimizer"]["state"]),
      "parameter tensors")
assert a["format"] == ckpt.RUN_FORMAT and set(a["generators"]) == set(ckpt.GENERATORS)

# %% [markdown]
# A resumed run may change what does not shape its state (more steps, another learning rate or schedule, another
# device, `ckpt_every`, `log_every`), but not the data, the model or the seed: those are fixed by
# `ardiff_edu.train.FIXED_ON_RESUME`, and a resume that changes one is refused with a message naming it.

# %% tags=["raises-exception"]
train(replace(smoke, width=64, steps=60), "stopped", stage="dit", resume=True, progress=False)

# %% [markdown]
# ## 3. The run directory and the log
#
# `python -m ardiff_edu train --preset balls-smoke --stage all --out runs/smoke` runs both stages into one
# directory. We call the command's `main` function in this process, with the same arguments:

# %%
with redirect_stdout(io.StringIO()) as out:
    code = ardiff_main(["train", "--preset", "balls-smoke", "--stage", "all", "--out", "runs/smoke",
                        "--no-progress"])
print("exit code", code, "| printed one line per stage:", [line.split(":")[0] for line in out.getvalue().splitlines()])
files = sorted(p.name for p in Path("runs/smoke").iterdir())
print("files:", files)
assert code == 0 and files == ["commands.txt", "dit.jsonl", "dit.pt", "latents.pt", "tokenizer.jsonl", "tokenizer.pt"]
print("commands.txt, without its time stamp:", Path("runs/smoke/commands.txt").read_text().split("  ", 1)[1].strip())

# %% [markdown]
# | file | what | written |
# |---|---|---|
# | `tokenizer.pt`, `dit.pt` | run checkpoints: weights, EMA, optimizer, step, generators | atomically, every `ckpt_every` steps |
# | `dit-step006000.pt`, ... | copies of the run checkpoint kept with `--keep-every N` (for quality against steps) | every `N` steps |
# | `tokenizer.jsonl`, `dit.jsonl` | the training log: one JSON record every `log_every` steps | appended |
# | `latents.pt` | every training clip encoded by the frozen tokenizer, standardised per channel | once, atomically |
# | `commands.txt` | every command run on the directory, with its UTC time | appended by the command line |
#
# `python -m ardiff_edu train --export runs/smoke --to smoke.pt` turns a run into the small file that `sample` and
# the notebooks load (EMA weights in fp16, the configuration, the latent statistics, a thinned log, the commands).
# The log's records:

# %%
log = ckpt.read_log("runs/smoke/dit.jsonl")
rec = log[-1]
print(len(log), "records; keys:", sorted(rec))
print("last record:", {k: (len(v) if isinstance(v, list) else type(v).__name__) for k, v in rec.items()},
      "(per_frame: one loss per frame index)")
assert [r["step"] for r in log] == list(range(1, smoke.steps + 1)) and len(rec["per_frame"]) == smoke.num_frames

# %% [markdown]
# A crash after the last checkpoint leaves log records of steps that the checkpoint does not contain. A resume
# drops them first (`ckpt.truncate_log`), so the log never holds two records of one step. We fake such a crash: a
# run with checkpoints every 10 steps, stopped at step 25, with its step-20 checkpoint put back, as if the process
# had died before writing the next one.

# %%
shutil.copytree("runs/smoke", "crash", ignore=shutil.ignore_patterns("dit.*"))
short = replace(smoke, ckpt_every=10, steps=20)
train(short, "crash", stage="dit", progress=False)
shutil.copy("crash/dit.pt", "dit_step20.pt")
train(replace(short, steps=25), "crash", stage="dit", resume=True, progress=False)
shutil.copy("dit_step20.pt", "crash/dit.pt")                           # the "crash": back to the step-20 checkpoint
before = [r["step"] for r in ckpt.read_log("crash/dit.jsonl")]
train(replace(short, steps=30), "crash", stage="dit", resume=True, progress=False)
after = [r["step"] for r in ckpt.read_log("crash/dit.jsonl")]
print("log steps before the resume:", before[-7:], "| after:", after[-12:])
assert before[-1] == 25 and after == list(range(1, 31))                # steps 21-25 were dropped, then redone

# %% [markdown]
# A loss or gradient that turns NaN or infinite stops the run with a `FloatingPointError` naming the step and the
# last good checkpoint; nothing is saved after the bad step, so `--resume` (with a lower `--lr`) continues from good
# weights. `tests/test_train.py::test_nan_loss_stops_and_keeps_last_good_checkpoint` checks both.
#
# ## 4. Exit codes of the command line
#
# `python -m ardiff_edu COMMAND ...` follows the usual convention: **0** success; **2** a usage error (unknown
# command, a missing or malformed option; `argparse` prints the usage); **1** anything else that went wrong
# (a bad value, a run that exists, a file that is not a checkpoint), with one `error:` line on stderr that names the
# value and the accepted range. Scripts and CI can rely on it.

# %%
def run_cli(args):
    """(exit code, the error line on stderr) of `python -m ardiff_edu ARGS`, called in this process."""
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        try:
            code = ardiff_main(args)
        except SystemExit as stop:                                     # argparse exits with 2 on usage errors
            code = stop.code
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line or "unknown" in line]
    return code, (errors or lines or [""])[0]


cases = {"unknown command": ["frobnicate"],
         "option with a bad value": ["train", "--preset", "balls-smoke", "--steps", "many"],
         "run exists, no --resume": ["train", "--preset", "balls-smoke", "--stage", "dit", "--out", "runs/smoke"],
         "bad output suffix": ["sample", "--out", "video.avi", "--num-frames", "8"],
         "not a checkpoint": ["sample", "--checkpoint", "state.json", "--out", "x.npy"]}
codes = {}
for what, args in cases.items():
    codes[what], message = run_cli(args)
    message = message.split("; expected one of")[0].split(" (torch.load failed")[0]      # the gist of each message
    print(f"{what:<24} exit {codes[what]}: {message}")
assert list(codes.values()) == [2, 2, 1, 1, 1]

# %% [markdown]
# The same from a shell, in a fresh process:

# %%
proc = subprocess.run([sys.executable, "-m", "ardiff_edu", "prepare", "--dataset", "ucf101"], capture_output=True,
                      text=True, env={**os.environ, "PYTHONPATH": str(home.parent)})
print("exit code", proc.returncode, "|", proc.stderr.strip().splitlines()[-1])
assert proc.returncode == 2

# %% [markdown]
# ## 5. The paper's data sets: layouts, readers and the clip cache
#
# The paper trains on UCF-101, Sky-Timelapse, Taichi-HD and FaceForensics. They are tens of GB and are not downloaded
# here; the package reads each one in its **published folder layout** and caches preprocessed clips with
#
# ```
# python -m ardiff_edu prepare --dataset ucf101 --root ~/data/UCF-101 --out data/cache/ucf64 \
#        --size 64 --num-frames 16 --stride 128 --split train
# ```
#
# To show the layouts, `make_example_tree` writes a tiny fake copy of each one, filled with procedural clips
# (notebook 04) and encoded as real .avi / .mp4 / .jpg / .png files.

# %%
roots = {d: make_example_tree(d, Path("datasets") / d, videos_per_split=2, num_frames=20, size=40)
         for d in ("ucf101", "sky", "taichi", "faces")}
for d, root in roots.items():
    files = sorted(p.relative_to("datasets").as_posix() for p in Path("datasets", d).rglob("*") if p.is_file())
    print(f"{d}: {len(files)} files, --root {root.as_posix()}, e.g.")
    print("\n".join("    " + f for f in files[:2] + files[-2:]))

# %% [markdown]
# The four readers (`ardiff_edu.data.layouts`, behind `find_items`) turn a layout into a list of videos (a video
# file or a folder of frames) with labels:
#
# * **UCF-101**: `<root>/<Class>/v_<Class>_gXX_cYY.avi`; labels and the train/test split come from the official
#   `ucfTrainTestlist/` files (`classInd.txt`, `trainlist0N.txt`, `testlist0N.txt`, three folds);
# * **Sky-Timelapse**: `sky_train/` and `sky_test/`, one folder of frames per video, with an extra nesting level in the
#   training split as published;
# * **Taichi-HD**: `train/` and `test/` holding .mp4 videos or folders of .png frames;
# * **FaceForensics**: .mp4 videos in `train/` and `test/`, or directly in the root (then there is no test split).

# %%
for d, root in roots.items():
    for split in ("train", "test"):
        items, names = find_items(d, root, split)
        kinds = sorted({"frames" if i.is_frames else i.path.suffix for i in items})
        print(f"{d:>7} {split:<5}: {len(items):2d} videos ({', '.join(kinds)})"
              + (f", labels {sorted({i.label for i in items})}" if names else ""))
train_items, names = find_items("ucf101", roots["ucf101"], "train")
test_items, _ = find_items("ucf101", roots["ucf101"], "test")
assert {i.path for i in train_items}.isdisjoint({i.path for i in test_items})   # the official splits never overlap
print("UCF-101 classes of the fake tree:", names)

# %% [markdown]
# `prepare` decodes every video, resizes its short side and crops the centre square, cuts clips of `--num-frames`
# frames every `--stride` frames and writes memory-mappable uint8 shards plus `index.json` (labels, source file and
# start frame of every clip). It builds everything in a temporary folder that is renamed into place at the very end.
# Unreadable files are reported by name and skipped (`--on-error skip`, the default) or stop the run
# (`--on-error fail`).

# %%
(roots["faces"] / "train" / "broken.mp4").write_bytes(b"not a video" * 10)
for d, root in roots.items():
    with redirect_stdout(io.StringIO()) as out, redirect_stderr(io.StringIO()) as err:
        code = ardiff_main(["prepare", "--dataset", d, "--root", str(root), "--out", f"cache/{d}", "--size", "32",
                            "--num-frames", "8", "--stride", "4", "--no-progress"])
    print(f"{d:>7}: exit {code}, {out.getvalue().strip().split(' to ')[0]}")
    assert code == 0
print("the unreadable file is reported on stderr by name:", "broken.mp4" in err.getvalue())
assert "broken.mp4" in err.getvalue()

# %%
caches = {d: CachedClips(Path("cache") / d) for d in roots}
for d, ds in caches.items():
    info = ds.info
    print(f"{d:>7}: {len(ds):3d} clips from {len(info['videos'])} videos, skipped {[s['path'] for s in info['skipped']]}")
    assert len(ds) == len(info["videos"]) * 4                           # 20 frames -> clip starts 0, 4, 8, 12
clip, label = caches["ucf101"][0]
print("an item:", tuple(clip.shape), clip.dtype, "label", int(label), caches["ucf101"].class_names[int(label)])
assert clip.shape == (8, 3, 32, 32) and -1 <= clip.min() <= clip.max() <= 1
show_grid([caches[d].uint8(0) for d in caches], row_titles=list(caches), title="the first cached clip of each data set")
plt.show()

# %% [markdown]
# With `--on-error fail` the same broken file stops the run with exit code 1, and nothing is left behind:

# %%
code, message = run_cli(["prepare", "--dataset", "faces", "--root", str(roots["faces"]), "--out", "cache/strict",
                         "--size", "32", "--num-frames", "8", "--on-error", "fail", "--no-progress"])
print("exit code", code, "| the error names the file:", "broken.mp4" in message)
assert code == 1 and "broken.mp4" in message and not Path("cache/strict").exists()
assert sorted(p.name for p in Path("cache").iterdir()) == sorted(roots)   # no temporary folders remain

# %% [markdown]
# > **Paper vs code.** The paper trains at 256×256 and cuts clips with a different stride per data set
# > (Sky-Timelapse 1, FaceForensics 16, Taichi-HD 64, UCF-101 128 frames). `prepare` defaults to 64×64 and a stride
# > of 16; pass `--size` and `--stride` to match the paper. The preprocessing itself (bicubic short-side resize,
# > centre crop, consecutive frames) is the paper's.
# > `tests/test_prepare.py::test_prepare_defaults_are_64_pixels_and_stride_16_not_the_papers` pins the defaults.

# %% [markdown]
# ## Exercises
#
# Each exercise has a checker from `ardiff_edu.exercises.nbA1` that answers in one line: right, or what is wrong.
# The worked solution follows in a collapsed cell (click to expand it); try first.
#
# ### Exercise 1
#
# Write `write_atomically(path, chunks)`: write the text chunks (an iterable of `str`) to `path` so that a failure
# halfway (an exception while iterating over `chunks`) leaves `path` as it was and no temporary file behind, and
# re-raises the error. Use only `tempfile` and `os` (not `atomic_open`). Then make it fail halfway yourself and look
# at the folder.

# %%
from ardiff_edu.exercises.nbA1 import check_atomic_writer, check_class_folder_reader  # noqa: E402


def write_atomically(path, chunks):
    """Write the concatenated text chunks to path: all of them, or nothing."""
    raise NotImplementedError("replace this line with your code")


check_atomic_writer(write_atomically)

# %% tags=["solution"] jupyter={"source_hidden": true}
def write_atomically(path, chunks):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")   # same folder: same file system
    try:
        with os.fdopen(fd, "w") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())                                       # on disk before the rename
        os.replace(tmp, path)                                          # atomic: old file or new file
    except BaseException:
        os.unlink(tmp)                                                 # nothing left behind
        raise


def failing():
    yield "half of a "
    raise OSError("simulated crash")


Path("ex1").mkdir()
write_atomically("ex1/notes.txt", ["old ", "text"])
try:
    write_atomically("ex1/notes.txt", failing())
except OSError as err:
    print("failed as it should:", err)
print("files:", sorted(p.name for p in Path("ex1").iterdir()), "| content:", Path("ex1/notes.txt").read_text())
assert Path("ex1/notes.txt").read_text() == "old text"
result = check_atomic_writer(write_atomically)
print(result)
assert result

# %% [markdown]
# ### Exercise 2
#
# Many home-made data sets use the simplest layout: one folder per class, `<root>/<Class>/<video>`, and no split
# files. Write `class_folder_items(root)` returning `(items, class_names)` like the package's readers: the class
# names are the folder names, sorted; the items are `VideoItem(path, label)` (from `ardiff_edu.data`) for every video
# file (suffixes in `ardiff_edu.data.layouts.VIDEO_EXTS`, in any case), label = the class's index, class by class and
# in natural order inside a class (`v_2` before `v_10`). Try it on the fake UCF-101 tree: do you get its labels?

# %%
def class_folder_items(root):
    """(items, class_names) of a <root>/<Class>/<video> tree."""
    raise NotImplementedError("replace this line with your code")


check_class_folder_reader(class_folder_items)

# %% tags=["solution"] jupyter={"source_hidden": true}
import re  # noqa: E402

from ardiff_edu.data import VideoItem  # noqa: E402
from ardiff_edu.data.layouts import VIDEO_EXTS  # noqa: E402


def natural(path):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def class_folder_items(root):
    names = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    items = [VideoItem(p, label) for label, name in enumerate(names)
             for p in sorted((Path(root) / name).iterdir(), key=natural)
             if p.is_file() and p.suffix.lower() in VIDEO_EXTS]
    return items, names


mine, my_names = class_folder_items(roots["ucf101"])
official, official_names = find_items("ucf101", roots["ucf101"], "all")
print(f"{len(mine)} videos, classes {my_names}")
print("UCF-101's own order is classInd.txt's:", official_names)
assert {i.path for i in mine} == {i.path for i in official}            # the same videos...
assert sorted(my_names) == sorted(official_names)                      # ...and classes, numbered differently
result = check_class_folder_reader(class_folder_items)
print(result)
assert result

# %%
os.chdir(home)
shutil.rmtree(work)
print("done")
