"""Readers for the paper's four benchmark layouts: where the videos are, their labels, and decoding them.

Published layouts understood here (``root`` is what ``--root`` points at):

* **UCF-101**: ``<root>/<Class>/v_<Class>_gXX_cYY.avi`` and the official split files in
  ``<root>/ucfTrainTestlist/`` or ``<root>/../ucfTrainTestlist/`` (``classInd.txt``, ``trainlist0N.txt``,
  ``testlist0N.txt``, N = fold 1-3). Labels are ``classInd`` indices minus one (0-based).
* **Sky-Timelapse**: ``<root>/sky_train/`` and ``<root>/sky_test/``, one folder of frame images per video,
  possibly one extra nesting level (``sky_train/<video>/<video>_1/<frame>.jpg``, as published).
* **Taichi-HD**: ``<root>/train/`` and ``<root>/test/`` holding ``.mp4`` videos or folders of ``.png`` frames.
* **FaceForensics**: ``.mp4`` videos in ``<root>/train/`` and ``<root>/test/``, or directly in ``<root>`` (flat; then
  there is no test split).

:mod:`ardiff_edu.data.cache` turns them into uint8 clip shards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ardiff_edu.utils import check_choice, check_int

DATASETS = ("ucf101", "sky", "taichi", "faces")
SPLITS = ("train", "test", "all")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")


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
    from ardiff_edu.video import iter_frames

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


