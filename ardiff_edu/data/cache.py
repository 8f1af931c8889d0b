"""The ``prepare`` command and the uint8 clip cache it writes (appendix notebook A1).

    python -m ardiff_edu prepare --dataset ucf101 --root /data/UCF-101 --out data/cache/ucf101

Preprocessing as in the paper: resize the short side (bicubic, anti-aliased), centre-crop a square, cut clips of
``num_frames`` consecutive frames starting every ``stride`` frames (the official scripts: stride 1 for Sky, 16 for
faces, 64 for Taichi, 128 for UCF-101).

The cache is a folder with uint8 shards ``clips_00000.npy`` ``(n, F, size, size, 3)`` (memory-mappable) and
``index.json`` (settings, shard sizes, per-clip labels, source file and start frame, skipped files). It is built in a
temporary folder next to ``--out`` and renamed into place at the end, so an interrupted run leaves nothing
half-written behind. :class:`CachedClips` reads it back.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from ardiff_edu.data.layouts import DATASETS, SPLITS, DataError, find_items, iter_item
from ardiff_edu.data.real import resize_center_crop
from ardiff_edu.utils import atomic_write_bytes, check_choice, check_int
from ardiff_edu.video import to_float, write_video

CACHE_FORMAT = "ardiff-edu-clips"
CACHE_VERSION = 1


def clip_starts(length: int, num_frames: int, stride: int) -> list[int]:
    """Start frames of the clips cut from a video of ``length`` frames: ``0, stride, ...`` while a clip fits."""
    return list(range(0, length - num_frames + 1, stride)) if length >= num_frames else []


def stream_clips(frames, size: int, num_frames: int, stride: int, chunk: int = 64):
    """Cut clips from a stream of frames -> ``(starts, clips, length)``; ``clips`` uint8 ``(n, F, size, size, 3)``.

    ``frames`` is any iterable of uint8 ``(H, W, 3)`` frames (an array ``(F, H, W, 3)`` or a decoder). Only frames
    that some clip can use (index ``j`` with ``j % stride < num_frames``) are kept, resized and centre-cropped in
    chunks as they arrive, so memory grows with the output, not with the source video's resolution or length.
    """
    kept_index, kept, pending = [], [], []
    length, shape = 0, None
    for j, frame in enumerate(frames):
        length = j + 1
        if j % stride >= num_frames:
            continue
        shape = frame.shape if shape is None else shape
        if frame.shape != shape:
            raise DataError(f"frame {j} has shape {frame.shape}, the first frame has {shape}")
        kept_index.append(j)
        pending.append(frame)
        if len(pending) == chunk:
            kept.append(resize_center_crop(np.stack(pending), size))
            pending = []
    if pending:
        kept.append(resize_center_crop(np.stack(pending), size))
    starts = clip_starts(length, num_frames, stride)
    if not starts:
        return [], np.zeros((0, num_frames, size, size, 3), np.uint8), length
    where = np.searchsorted(np.asarray(kept_index), np.asarray(starts)[:, None] + np.arange(num_frames))
    return starts, np.concatenate(kept)[where], length


def video_clips(frames, size: int, num_frames: int, stride: int):
    """Cut ``(starts, clips)`` from one video (array or iterable of frames); see :func:`stream_clips`."""
    starts, clips, _ = stream_clips(frames, size, num_frames, stride)
    return starts, clips


# ----------------------------------------------------------------------------------------------------------------
# the cache


def prepare(dataset: str, root, out, size: int = 64, num_frames: int = 16, stride: int = 16, split: str = "train",
            fold: int = 1, on_error: str = "skip", shard_size: int = 1024, max_videos: int | None = None,
            overwrite: bool = False, progress: bool = True) -> Path:
    """Build the uint8 clip cache of a benchmark in ``out`` (see the module docstring); returns ``out``.

    ``on_error="skip"`` reports unreadable videos by name (on stderr and in ``index.json``) and goes on;
    ``"fail"`` stops with a ``DataError`` naming the file, leaving no output folder.
    """
    from tqdm.auto import tqdm

    check_choice("dataset", dataset, DATASETS)
    check_choice("on_error", on_error, ("skip", "fail"))
    size = check_int("size", size, 8, 1024)
    num_frames = check_int("num_frames", num_frames, 1)
    stride = check_int("stride", stride, 1)
    shard_size = check_int("shard_size", shard_size, 1)
    if max_videos is not None:
        max_videos = check_int("max_videos", max_videos, 1)
    root, out = Path(root), Path(out)
    if out.exists() and not (out.is_dir() and not any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"output {str(out)!r} already exists and is not empty (pass overwrite=True / "
                              f"--overwrite to replace it)")
    items, class_names = find_items(dataset, root, split, fold)
    items = items[:max_videos] if max_videos else items
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp."))
    try:
        index = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "dataset": dataset, "split": split,
                 "fold": fold if dataset == "ucf101" else None, "size": size, "num_frames": num_frames,
                 "stride": stride, "root": str(root.resolve()), "class_names": list(class_names or []) or None,
                 "shards": [], "labels": [], "clip_video": [], "clip_start": [], "videos": [], "skipped": [],
                 "too_short": []}
        buffer: list[np.ndarray] = []

        def write_shard(arr):
            name = f"clips_{len(index['shards']):05d}.npy"
            with open(tmp / name, "wb") as fh:
                np.save(fh, arr)
            index["shards"].append({"file": name, "num_clips": int(len(arr))})

        def flush(final=False):  # every shard holds shard_size clips, the last one possibly fewer
            pending = sum(len(b) for b in buffer)
            if pending == 0 or (pending < shard_size and not final):
                return
            arr = np.concatenate(buffer)
            buffer.clear()
            full = len(arr) // shard_size * shard_size
            for c in range(0, full, shard_size):
                write_shard(arr[c:c + shard_size])
            if full < len(arr):
                if final:
                    write_shard(arr[full:])
                else:
                    buffer.append(arr[full:])

        bar = tqdm(items, desc=f"prepare {dataset}/{split}", unit="video", disable=not progress, file=sys.stderr)
        for item in bar:
            rel = os.path.relpath(item.path, root)
            try:  # decoding streams: only the frames the clips use are kept (resized)
                starts, clips, length = stream_clips(iter_item(item), size, num_frames, stride)
            except DataError as err:
                if on_error == "fail":
                    raise DataError(f"unreadable video {rel!r} (on_error='fail'): {err}") from err
                index["skipped"].append({"path": rel, "error": str(err)})
                print(f"skipping unreadable video {rel!r}: {err}", file=sys.stderr)
                continue
            if not starts:
                index["too_short"].append({"path": rel, "frames": int(length)})
                continue
            vid = len(index["videos"])
            index["videos"].append(rel)
            index["labels"] += [int(item.label)] * len(starts)
            index["clip_video"] += [vid] * len(starts)
            index["clip_start"] += [int(s) for s in starts]
            buffer.append(clips)
            flush()
        bar.close()
        flush(final=True)
        index["num_clips"] = len(index["clip_start"])
        if index["num_clips"] == 0:
            raise DataError(f"no clips of {num_frames} frames from the {len(items)} videos in {str(root)!r} "
                            f"({len(index['skipped'])} unreadable, {len(index['too_short'])} too short)")
        if class_names is None:
            index["labels"] = None
        atomic_write_bytes(tmp / "index.json", json.dumps(index, indent=1).encode())
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old."))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


class CachedClips(torch.utils.data.Dataset):
    """A cache written by :func:`prepare`: item ``i`` is float32 ``(F, 3, H, W)`` in ``[-1, 1]``, or
    ``(clip, label)`` when the data set has labels (UCF-101). Shards are opened with ``np.load(mmap_mode="r")``,
    so nothing is read until an item is used."""

    def __init__(self, path):
        path = Path(path)
        index_file = path / "index.json"
        if not index_file.is_file():
            raise FileNotFoundError(f"no clip cache at {str(path)!r}: expected {str(index_file)!r} "
                                    f"(written by python -m ardiff_edu prepare)")
        info = json.loads(index_file.read_text())
        if info.get("format") != CACHE_FORMAT or info.get("version") != CACHE_VERSION:
            raise DataError(f"{str(index_file)!r} is not an {CACHE_FORMAT} v{CACHE_VERSION} index")
        self.path, self.info = path, info
        self.shards = []
        for shard in info["shards"]:
            arr = np.load(path / shard["file"], mmap_mode="r")
            expected = (shard["num_clips"], info["num_frames"], info["size"], info["size"], 3)
            if arr.shape != expected or arr.dtype != np.uint8:
                raise DataError(f"shard {str(path / shard['file'])!r} has shape {arr.shape} and dtype {arr.dtype}; "
                                f"index.json expects uint8 {expected}")
            self.shards.append(arr)
        self.offsets = np.cumsum([0] + [len(a) for a in self.shards])
        if self.offsets[-1] != info["num_clips"]:
            raise DataError(f"{str(index_file)!r} lists {info['num_clips']} clips, the shards hold {self.offsets[-1]}")
        self.labels = None if info.get("labels") is None else np.asarray(info["labels"], np.int64)
        self.class_names = info.get("class_names")

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def uint8(self, i: int) -> np.ndarray:
        """Clip ``i`` as stored: uint8 ``(F, H, W, 3)`` (a view into the memory map)."""
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"clip index {i} out of range for {n} clips")
        i %= n
        s = int(np.searchsorted(self.offsets, i, side="right") - 1)
        return self.shards[s][i - self.offsets[s]]

    def __getitem__(self, i):
        clip = to_float(np.array(self.uint8(i)))
        if self.labels is None:
            return clip
        return clip, torch.tensor(int(self.labels[int(i)]), dtype=torch.long)

    def load_all(self) -> np.ndarray:
        """Every clip in memory as uint8 ``(N, F, H, W, 3)``."""
        return np.concatenate([np.asarray(a) for a in self.shards])


# ----------------------------------------------------------------------------------------------------------------
# command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ardiff_edu prepare",
                                description="Cache a benchmark data set as memory-mappable uint8 clip shards.")
    p.add_argument("--dataset", required=True, choices=DATASETS)
    p.add_argument("--root", required=True, help="folder holding the data set in its published layout")
    p.add_argument("--out", required=True, help="output folder (created; must not exist or be empty)")
    p.add_argument("--size", type=int, default=64, help="side of the square frames (default 64)")
    p.add_argument("--num-frames", type=int, default=16, help="frames per clip (default 16)")
    p.add_argument("--stride", type=int, default=16, help="frames between clip starts (default 16)")
    p.add_argument("--split", default="train", choices=SPLITS)
    p.add_argument("--fold", type=int, default=1, help="UCF-101 split list 1-3 (default 1)")
    p.add_argument("--on-error", default="skip", choices=("skip", "fail"),
                   help="unreadable videos: skip them (reported by name) or stop (default skip)")
    p.add_argument("--shard-size", type=int, default=1024, help="clips per .npy shard (default 1024)")
    p.add_argument("--max-videos", type=int, default=None, help="only the first N videos (quick tries)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    """``python -m ardiff_edu prepare ...``; returns 0 on success, 1 with a one-line error on stderr otherwise."""
    args = build_parser().parse_args(argv)
    try:
        out = prepare(args.dataset, args.root, args.out, size=args.size, num_frames=args.num_frames,
                      stride=args.stride, split=args.split, fold=args.fold, on_error=args.on_error,
                      shard_size=args.shard_size, max_videos=args.max_videos, overwrite=args.overwrite,
                      progress=not args.no_progress)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"prepare: error: {err}", file=sys.stderr)
        return 1
    info = json.loads((out / "index.json").read_text())
    print(f"wrote {info['num_clips']} clips of {info['num_frames']}x{info['size']}x{info['size']} from "
          f"{len(info['videos'])} videos to {out} ({len(info['skipped'])} skipped, "
          f"{len(info['too_short'])} too short)")
    return 0


# ----------------------------------------------------------------------------------------------------------------
# tiny example trees (for tests and the notebook): the published layouts, filled with procedural clips


def make_example_tree(dataset: str, root, videos_per_split: int = 2, num_frames: int = 20, size: int = 40,
                      seed: int = 0) -> Path:
    """Write a tiny data set in ``dataset``'s published layout under ``root``, with real encoded files (.avi/.mp4
    via :func:`ardiff_edu.video.write_video`, .jpg/.png frames via imageio); returns the path to pass as ``--root``.

    UCF-101 gets one folder per class of :data:`UCF_CLASSES` (CamelCase) with groups g01 (test) and g02.. (train)
    plus ``ucfTrainTestlist/`` beside the video folder; Sky gets ``sky_train/<v>/<v>_1/*.jpg`` (the extra nesting
    level) and ``sky_test/<v>/*.jpg``; Taichi gets ``train/*.mp4`` and ``test/<v>/*.png``; faces gets
    ``{train,test}/*.mp4``.
    """
    import imageio.v3 as iio

    from ardiff_edu.data.procedural import faces, sky_timelapse
    from ardiff_edu.data.stick_figures import UCF_CLASSES, taichi, ucf_actions

    check_choice("dataset", dataset, DATASETS)
    k = check_int("videos_per_split", videos_per_split, 1, 20)
    root = Path(root)
    if dataset == "ucf101":
        names = ["".join(w.capitalize() for w in c.split("_")) for c in UCF_CLASSES]
        clips, labels, _ = ucf_actions(len(names) * (k + 1), num_frames, size, seed)
        videos = root / "UCF-101"
        lists = root / "ucfTrainTestlist"
        lists.mkdir(parents=True, exist_ok=True)
        (lists / "classInd.txt").write_text("".join(f"{i + 1} {n}\n" for i, n in enumerate(names)))
        train, test = [], []
        group = {c: 0 for c in range(len(names))}
        for clip, lab in zip(clips, labels):
            group[int(lab)] += 1
            g = group[int(lab)]
            rel = f"{names[lab]}/v_{names[lab]}_g{g:02d}_c01.avi"
            write_video(videos / rel, clip)
            (test if g == 1 else train).append(rel)
        for fold in (1, 2, 3):
            (lists / f"trainlist0{fold}.txt").write_text(
                "".join(f"{r} {names.index(r.split('/')[0]) + 1}\n" for r in train))
            (lists / f"testlist0{fold}.txt").write_text("".join(f"{r}\n" for r in test))
        return videos
    maker = {"sky": sky_timelapse, "taichi": taichi, "faces": faces}[dataset]
    clips = maker(2 * k, num_frames, size, seed)
    for i, clip in enumerate(clips):
        split, v = ("train", i) if i < k else ("test", i - k)
        if dataset == "sky":
            folder = root / f"sky_{split}" / f"video{v:03d}"
            folder = folder / f"video{v:03d}_1" if split == "train" else folder
            folder.mkdir(parents=True, exist_ok=True)
            for j, frame in enumerate(clip):
                iio.imwrite(folder / f"video{v:03d}_1_frames_{j + 1:05d}.jpg", frame, quality=95)
        elif dataset == "taichi" and split == "test":
            folder = root / split / f"clip{v:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            for j, frame in enumerate(clip):
                iio.imwrite(folder / f"{j:07d}.png", frame)
        else:
            write_video(root / split / f"{dataset}{v:03d}.mp4", clip, fps=25)
    return root
