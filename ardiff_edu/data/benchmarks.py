"""Readers for the paper's benchmark layouts, the ``prepare`` command and the uint8 clip cache.

Published layouts understood here (``root`` is what ``--root`` points at):

* **UCF-101**: ``<root>/<Class>/v_<Class>_gXX_cYY.avi`` and the official split files in
  ``<root>/ucfTrainTestlist/`` or ``<root>/../ucfTrainTestlist/`` (``classInd.txt``, ``trainlist0N.txt``,
  ``testlist0N.txt``, N = fold 1-3). Labels are ``classInd`` indices minus one (0-based).
* **Sky-Timelapse**: ``<root>/sky_train/`` and ``<root>/sky_test/``, one folder of frame images per video,
  possibly one extra nesting level (``sky_train/<video>/<video>_1/<frame>.jpg``, as published).
* **Taichi-HD**: ``<root>/train/`` and ``<root>/test/`` holding ``.mp4`` videos or folders of ``.png`` frames.
* **FaceForensics**: ``.mp4`` videos in ``<root>/train/`` and ``<root>/test/``, or directly in ``<root>`` (flat; then
  there is no test split).

Preprocessing as in the paper: resize the short side (bicubic, anti-aliased), centre-crop a square, cut clips of
``num_frames`` consecutive frames starting every ``stride`` frames (the paper: stride 1 for Sky, 16 for faces, 64 for
Taichi, 128 for UCF-101).

The cache written by ``python -m ardiff_edu prepare`` is a folder with uint8 shards ``clips_00000.npy``
``(n, F, size, size, 3)`` (memory-mappable) and ``index.json`` (settings, shard sizes, per-clip labels, source file
and start frame, skipped files). It is built in a temporary folder next to ``--out`` and renamed into place at the
end, so an interrupted run leaves nothing half-written behind. :class:`CachedClips` reads it back.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..utils import atomic_write_bytes, check_choice, check_int
from .real import resize_center_crop
from .synthetic import to_float

DATASETS = ("ucf101", "sky", "taichi", "faces")
SPLITS = ("train", "test", "all")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")
CACHE_FORMAT = "ardiff-edu-clips"
CACHE_VERSION = 1


class DataError(ValueError):
    """A data folder that does not have the expected layout, or a file that cannot be used."""


@dataclass(frozen=True)
class VideoItem:
    """One source video: a video file or a folder of frame images, with its class label (-1: unlabelled)."""

    path: Path
    label: int = -1

    @property
    def is_frames(self) -> bool:
        return self.path.is_dir()


def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _require_dir(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{what}: folder {str(path)!r} does not exist")
    if not path.is_dir():
        raise DataError(f"{what}: {str(path)!r} is not a folder")
    return path


def _videos_in(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS), key=_natural_key)


def _has_images(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in IMAGE_EXTS for p in folder.iterdir())


def _frame_folders(folder: Path, depth: int = 2) -> list[Path]:
    """Folders (below ``folder``, at most ``depth`` levels down) that directly hold frame images."""
    found = []
    for sub in sorted((p for p in folder.iterdir() if p.is_dir()), key=_natural_key):
        if _has_images(sub):
            found.append(sub)
        elif depth > 1:
            found += _frame_folders(sub, depth - 1)
    return found


# ----------------------------------------------------------------------------------------------------------------
# layout readers: each returns (items, class_names or None)


def _ucf_lists(root: Path) -> Path | None:
    for cand in (root / "ucfTrainTestlist", root.parent / "ucfTrainTestlist"):
        if (cand / "classInd.txt").is_file():
            return cand
    return None


def ucf101_items(root, split: str = "train", fold: int = 1):
    """UCF-101 videos of one split: ``split`` in train/test (official lists, ``fold`` 1-3) or all (every .avi)."""
    root = _require_dir(Path(root), "UCF-101 root")
    check_choice("split", split, SPLITS)
    fold = check_int("fold", fold, 1, 3)
    layout = "expected UCF-101 layout <root>/<Class>/v_<Class>_gXX_cYY.avi"
    class_dirs = {p.name: p for p in root.iterdir() if p.is_dir() and any(q.suffix.lower() == ".avi"
                                                                          for q in p.iterdir())}
    if not class_dirs:
        raise DataError(f"{layout}; found no class folder with .avi files in {str(root)!r}")
    lists = _ucf_lists(root)
    if lists is None:
        if split != "all":
            raise DataError(f"UCF-101 split {split!r} needs ucfTrainTestlist/classInd.txt in {str(root)!r} or "
                            f"{str(root.parent)!r}; use split='all' to take every video without the official lists")
        names = sorted(class_dirs)
    else:
        names = []
        for line in (lists / "classInd.txt").read_text().splitlines():
            if line.strip():
                idx, name = line.split()
                if int(idx) != len(names) + 1:
                    raise DataError(f"{str(lists / 'classInd.txt')!r}: expected lines '1 Name', '2 Name', ...; "
                                    f"got {line!r}")
                names.append(name)
    lower = {n.lower(): i for i, n in enumerate(names)}
    by_folder = {k.lower(): v for k, v in class_dirs.items()}
    if split == "all":
        items = []
        for name in sorted(class_dirs):
            if name.lower() not in lower:
                raise DataError(f"class folder {str(class_dirs[name])!r} is not listed in classInd.txt")
            items += [VideoItem(p, lower[name.lower()]) for p in sorted(class_dirs[name].glob("*.avi"),
                                                                        key=_natural_key)]
        return items, names
    list_file = lists / f"{split}list0{fold}.txt"
    if not list_file.is_file():
        raise FileNotFoundError(f"UCF-101 split file {str(list_file)!r} does not exist")
    items, missing = [], []
    for line in list_file.read_text().splitlines():
        if not line.strip():
            continue
        rel = line.split()[0]
        cls, fname = rel.split("/")[0], rel.split("/")[-1]
        if cls.lower() not in lower:
            raise DataError(f"{str(list_file)!r}: class {cls!r} of {rel!r} is not in classInd.txt")
        folder = by_folder.get(cls.lower())
        path = None
        if folder is not None:  # the official lists and folders disagree in case (HandStandPushups)
            path = folder / fname
            if not path.is_file():
                match = [p for p in folder.iterdir() if p.name.lower() == fname.lower()]
                path = match[0] if match else None
        if path is None:
            missing.append(rel)
        else:
            items.append(VideoItem(path, lower[cls.lower()]))
    if missing:
        raise DataError(f"{len(missing)} videos listed in {str(list_file)!r} are missing under {str(root)!r}, "
                        f"e.g. {missing[:3]}")
    if not items:
        raise DataError(f"{str(list_file)!r} lists no videos")
    return items, names


def sky_items(root, split: str = "train"):
    """Sky-Timelapse: frame folders under ``sky_train/`` / ``sky_test/`` (one extra nesting level allowed)."""
    root = _require_dir(Path(root), "Sky-Timelapse root")
    check_choice("split", split, SPLITS)
    items = []
    for s in (("train", "test") if split == "all" else (split,)):
        folder = root / f"sky_{s}"
        if not folder.is_dir():
            raise DataError(f"expected Sky-Timelapse layout {str(folder)!r}/<video>/[<clip>/]<frame>.jpg; "
                            f"folder sky_{s}/ not found in {str(root)!r}")
        found = _frame_folders(folder)
        if not found:
            raise DataError(f"no frame folders (with {IMAGE_EXTS} images) in {str(folder)!r}: expected "
                            f"sky_{s}/<video>/<frame>.jpg or sky_{s}/<video>/<clip>/<frame>.jpg")
        items += [VideoItem(p) for p in found]
    return items, None


def _split_folders(root: Path, split: str, name: str, layout: str) -> list[Path]:
    folders = []
    for s in (("train", "test") if split == "all" else (split,)):
        if not (root / s).is_dir():
            raise DataError(f"expected {name} layout {layout}; folder {s}/ not found in {str(root)!r}")
        folders.append(root / s)
    return folders


def taichi_items(root, split: str = "train"):
    """Taichi-HD: ``train/`` / ``test/`` holding .mp4 videos or folders of .png frames."""
    root = _require_dir(Path(root), "Taichi-HD root")
    check_choice("split", split, SPLITS)
    layout = "<root>/{train,test}/<video>.mp4 or <root>/{train,test}/<video>/<frame>.png"
    items = []
    for folder in _split_folders(root, split, "Taichi-HD", layout):
        found = _videos_in(folder) + [p for p in sorted(folder.iterdir(), key=_natural_key)
                                      if p.is_dir() and _has_images(p)]
        if not found:
            raise DataError(f"no videos or frame folders in {str(folder)!r}: expected {layout}")
        items += [VideoItem(p) for p in found]
    return items, None


def faces_items(root, split: str = "train"):
    """FaceForensics: .mp4 videos in ``train/`` / ``test/``, or flat in ``root`` (no test split then)."""
    root = _require_dir(Path(root), "FaceForensics root")
    check_choice("split", split, SPLITS)
    layout = "<root>/{train,test}/<video>.mp4 or <root>/<video>.mp4"
    if not any((root / s).is_dir() for s in ("train", "test")):
        flat = _videos_in(root)
        if not flat:
            raise DataError(f"no videos in {str(root)!r}: expected FaceForensics layout {layout}")
        if split == "test":
            raise DataError(f"{str(root)!r} has a flat layout (videos, no train/ or test/): it has no test split")
        return [VideoItem(p) for p in flat], None
    items = []
    for folder in _split_folders(root, split, "FaceForensics", layout):
        found = _videos_in(folder)
        if not found:
            raise DataError(f"no videos in {str(folder)!r}: expected {layout}")
        items += [VideoItem(p) for p in found]
    return items, None


READERS = {"ucf101": ucf101_items, "sky": sky_items, "taichi": taichi_items, "faces": faces_items}


def find_items(dataset: str, root, split: str = "train", fold: int = 1):
    """``(items, class_names)`` of ``dataset`` (one of :data:`DATASETS`) in ``root``."""
    check_choice("dataset", dataset, DATASETS)
    if dataset == "ucf101":
        return ucf101_items(root, split, fold)
    return READERS[dataset](root, split)


# ----------------------------------------------------------------------------------------------------------------
# decoding and clip cutting


def iter_frames_folder(folder):
    """Yield the frame images of one folder (natural order: 2 before 10) as uint8 ``(H, W, 3)``, one at a time;
    grey and RGBA images become RGB. Raises ``DataError`` naming the image that cannot be used."""
    import imageio.v3 as iio

    folder = Path(folder)
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS), key=_natural_key)
    if not files:
        raise DataError(f"no frame images {IMAGE_EXTS} in {str(folder)!r}")
    first = None
    for p in files:
        try:
            im = np.asarray(iio.imread(p, plugin="pillow"))
        except Exception as err:
            raise DataError(f"cannot decode image {str(p)!r}: {type(err).__name__}: {err}") from err
        if im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=-1)
        if im.ndim != 3 or im.shape[-1] not in (3, 4):
            raise DataError(f"image {str(p)!r} has shape {im.shape}; expected (H, W), (H, W, 3) or (H, W, 4)")
        if im.dtype != np.uint8:
            raise DataError(f"image {str(p)!r} has dtype {im.dtype}; expected 8-bit images")
        first = im.shape[:2] if first is None else first
        if im.shape[:2] != first:
            raise DataError(f"image {str(p)!r} is {im.shape[:2]}, the first frame of {str(folder)!r} is {first}")
        yield np.ascontiguousarray(im[..., :3])


def read_frames_folder(folder) -> np.ndarray:
    """Frame images of one folder (natural order: 2 before 10) -> uint8 ``(F, H, W, 3)``; grey/RGBA become RGB."""
    return np.stack(list(iter_frames_folder(folder)))


def iter_item(item: VideoItem):
    """Yield the frames of one source video (file or frame folder) as uint8 ``(H, W, 3)``, decoding as it goes;
    raises ``DataError`` naming the file if it cannot be decoded (also part-way through)."""
    from ..video import iter_frames

    if item.is_frames:
        yield from iter_frames_folder(item.path)
        return
    try:
        yield from iter_frames(item.path)
    except ValueError as err:
        raise DataError(str(err)) from err


def load_item(item: VideoItem) -> np.ndarray:
    """Decode one source video -> uint8 ``(F, H, W, 3)``; raises ``DataError`` naming the file if it cannot."""
    return np.stack(list(iter_item(item)))


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
        """Every clip in memory as uint8 ``(N, F, H, W, 3)`` (e.g. for :class:`ClipPool`)."""
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

    from ..video import write_video
    from .procedural import UCF_CLASSES, faces, sky_timelapse, taichi, ucf_actions

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
