"""Toy metrics for bouncing-ball videos: track the coloured blobs and measure how ball-like their motion is.

    python -m ardiff_edu evaluate --s 0 5        # real vs generated, with sanity rows, printed and written

This is **not FVD** (no pretrained network, no Fréchet distance): it is a hand-written tracker whose numbers mean
something physical on our procedural data:

1. **detect** — a pixel is foreground when its brightest channel is ``>= fg_threshold`` (the background is black);
   8-connected components of at least ``min_area`` pixels are blobs (``scipy.ndimage.label``), each with an
   intensity-weighted centroid, an area, a mean colour and a bounding box;
2. **match** — blobs of consecutive frames are paired by a minimum-cost assignment on centroid distance
   (``scipy.optimize.linear_sum_assignment``), a pair counting only if it moved at most ``max_jump`` pixels;
3. **measure** — from detections and matches:

   ============================  ========================================================================================
   ``count_mean``                blobs per frame (overlapping balls merge into one blob)
   ``count_const_frac``          fraction of clips whose blob count never changes
   ``empty_frac``                fraction of frames with no blob at all
   ``match_frac``                ``2·matches / (blobs in frame t + blobs in frame t+1)``, pooled over frame pairs
   ``accel_mean/median``         ``|c(t+1) − 2c(t) + c(t−1)|`` in px/frame² along 3-frame tracks whose blobs stay
                                 ``wall_margin`` px away from the walls (constant velocity → ≈ 0; bounces excluded)
   ``colour_drift_mean/median``  distance between the mean colours (RGB 0–255, brightness-normalised) of matched
                                 blobs
   ``fg_frac``, ``area_mean``    foreground pixel fraction and mean blob area in pixels
   ============================  ========================================================================================

Real clips score ``match_frac`` ≈ 1, ``accel_median`` well below 1 and ``colour_drift_median`` ≈ 0.
"""

from __future__ import annotations

import math

import numpy as np

from ardiff_edu.utils import check_int

__all__ = ["DEFAULTS", "KEYS", "detect_blobs", "ball_stats", "format_table", "shuffle_frames", "uniform_noise",
           "compare"]

#: The protocol's thresholds (every one can be overridden in :func:`ball_stats`).
DEFAULTS = {"fg_threshold": 100, "min_area": 3, "max_jump": 4.0, "wall_margin": 2}
#: The keys of :func:`ball_stats`'s values, in printing order.
KEYS = ("count_mean", "count_const_frac", "empty_frac", "match_frac", "accel_mean", "accel_median",
        "colour_drift_mean", "colour_drift_median", "fg_frac", "area_mean")


def _check_videos(videos) -> np.ndarray:
    videos = np.asarray(videos)
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3 or 0 in videos.shape:
        raise ValueError(f"videos must be a non-empty uint8 array (N, F, H, W, 3), got {videos.dtype} "
                         f"{videos.shape}")
    return videos


def detect_blobs(videos, fg_threshold: int = DEFAULTS["fg_threshold"], min_area: int = DEFAULTS["min_area"]):
    """Blobs of every frame: a list (over clips) of lists (over frames) of dicts with ``centroid`` ``(x, y)`` in
    pixels (pixel centres at ``+0.5``, as in :mod:`ardiff_edu.data`), ``area``, ``colour`` (mean chromaticity: RGB
    scaled so that the brightest channel is 255, so edge pixels blended with black keep the ball's colour) and ``bbox``
    ``(x0, y0, x1, y1)`` inclusive; plus the foreground fraction over all pixels."""
    from scipy import ndimage

    videos = _check_videos(videos)
    fg_threshold = check_int("fg_threshold", fg_threshold, 1, 255)
    min_area = check_int("min_area", min_area, 1)
    N, F, H, W, _ = videos.shape
    frames = videos.reshape(N * F, H, W, 3)
    bright = frames.max(axis=-1)
    fg = bright >= fg_threshold
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True                                   # 8-connected inside a frame, never across frames
    labels, n = ndimage.label(fg, structure=structure)
    blobs = [[[] for _ in range(F)] for _ in range(N)]
    if n:
        index = np.arange(1, n + 1)
        weight = bright.astype(np.float64)
        area = ndimage.sum_labels(np.ones_like(weight), labels, index)
        wsum = ndimage.sum_labels(weight, labels, index)
        yy, xx = np.meshgrid(np.arange(H) + 0.5, np.arange(W) + 0.5, indexing="ij")
        cx = ndimage.sum_labels(weight * xx[None], labels, index) / wsum
        cy = ndimage.sum_labels(weight * yy[None], labels, index) / wsum
        # colour = mean chromaticity, each pixel scaled so its brightest channel is 255: anti-aliased edge pixels
        # (a blend with the black background) then have the colour of the ball's core
        chroma = frames.astype(np.float64) * (255.0 / np.maximum(bright, 1)[..., None])
        colour = np.stack([ndimage.mean(chroma[..., c], labels, index) for c in range(3)], -1)
        slices = ndimage.find_objects(labels)
        for j, sl in enumerate(slices):
            if area[j] < min_area:
                continue
            frame_idx = sl[0].start
            blobs[frame_idx // F][frame_idx % F].append({
                "centroid": np.array([cx[j], cy[j]]), "area": float(area[j]), "colour": colour[j],
                "bbox": (sl[2].start, sl[1].start, sl[2].stop - 1, sl[1].stop - 1)})
    return blobs, float(fg.mean())


def _match(a: list, b: list, max_jump: float) -> list[tuple[int, int]]:
    """Minimum-total-distance pairs ``(i, j)`` between blob lists ``a`` and ``b`` that moved ``<= max_jump``."""
    from scipy.optimize import linear_sum_assignment

    if not a or not b:
        return []
    ca = np.stack([x["centroid"] for x in a])
    cb = np.stack([x["centroid"] for x in b])
    dist = np.linalg.norm(ca[:, None] - cb[None], axis=-1)
    rows, cols = linear_sum_assignment(dist)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if dist[i, j] <= max_jump]


def _near_wall(blob, size_x: int, size_y: int, margin: int) -> bool:
    x0, y0, x1, y1 = blob["bbox"]
    return x0 < margin or y0 < margin or x1 > size_x - 1 - margin or y1 > size_y - 1 - margin


def _stat(values, fn) -> float:
    return float(fn(values)) if len(values) else float("nan")


def ball_stats(videos, fg_threshold: int = DEFAULTS["fg_threshold"], min_area: int = DEFAULTS["min_area"],
               max_jump: float = DEFAULTS["max_jump"], wall_margin: int = DEFAULTS["wall_margin"]):
    """Track coloured blobs in uint8 videos ``(N, F, H, W, 3)``; return ``(values, protocol)``.

    ``values`` holds the statistics of :data:`KEYS` (floats; ``nan`` where nothing was measurable, e.g. no 3-frame
    track away from the walls). ``protocol`` records what was measured: clip count and shape, thresholds, method.
    See the module docstring for the definitions.
    """
    videos = _check_videos(videos)
    if isinstance(max_jump, bool) or not isinstance(max_jump, (int, float)) or not 0 < max_jump < math.inf:
        raise ValueError(f"max_jump must be a positive number of pixels, got {max_jump!r}")
    wall_margin = check_int("wall_margin", wall_margin, 0)
    N, F, H, W, _ = videos.shape
    blobs, fg_frac = detect_blobs(videos, fg_threshold, min_area)
    counts = np.array([[len(frame) for frame in clip] for clip in blobs])              # (N, F)
    matched = total = 0
    drifts, accels, areas = [], [], []
    for clip in blobs:
        areas += [b["area"] for frame in clip for b in frame]
        pairs = [_match(clip[t], clip[t + 1], max_jump) for t in range(F - 1)]
        for t, pt in enumerate(pairs):
            matched += 2 * len(pt)
            total += len(clip[t]) + len(clip[t + 1])
            drifts += [float(np.linalg.norm(clip[t][i]["colour"] - clip[t + 1][j]["colour"])) for i, j in pt]
        for t in range(1, F - 1):
            forward = dict(pairs[t])                       # blob index at t -> at t+1
            for i, j in pairs[t - 1]:                      # i at t-1 -> j at t
                if j not in forward:
                    continue
                track = (clip[t - 1][i], clip[t][j], clip[t + 1][forward[j]])
                if any(_near_wall(b, W, H, wall_margin) for b in track):
                    continue
                c0, c1, c2 = (b["centroid"] for b in track)
                accels.append(float(np.linalg.norm(c2 - 2 * c1 + c0)))
    values = {
        "count_mean": float(counts.mean()),
        "count_const_frac": float(np.mean([len(set(row)) == 1 for row in counts.tolist()])),
        "empty_frac": float((counts == 0).mean()),
        "match_frac": matched / total if total else float("nan"),
        "accel_mean": _stat(accels, np.mean),
        "accel_median": _stat(accels, np.median),
        "colour_drift_mean": _stat(drifts, np.mean),
        "colour_drift_median": _stat(drifts, np.median),
        "fg_frac": fg_frac,
        "area_mean": _stat(areas, np.mean),
    }
    protocol = {
        "metric": "ball_stats: connected-component ball tracker (a toy statistic, not FVD)",
        "clips": N, "frames": F, "height": H, "width": W,
        "fg_threshold": fg_threshold, "min_area": min_area, "connectivity": 8, "max_jump": float(max_jump),
        "wall_margin": wall_margin, "centroid": "intensity-weighted (brightest channel)",
        "matching": "minimum-cost assignment on centroid distance between consecutive frames",
        "accel_tracks": len(accels), "matched_pairs": len(drifts),
    }
    return values, protocol


def shuffle_frames(videos, seed: int = 0) -> np.ndarray:
    """The same clips with their frames in a random order (per clip): right appearance, broken motion."""
    videos = _check_videos(videos)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    order = np.argsort(rng.random(videos.shape[:2]), axis=1)
    return np.take_along_axis(videos, order[:, :, None, None, None], axis=1)


def uniform_noise(shape, seed: int = 0) -> np.ndarray:
    """Uniform uint8 pixel noise of ``shape`` ``(N, F, H, W, 3)``."""
    return np.random.default_rng(check_int("seed", seed, 0)).integers(0, 256, size=shape, dtype=np.uint8)


def format_table(rows: dict, keys=KEYS, digits: int = 2) -> str:
    """``{name: values}`` (values from :func:`ball_stats`) -> an aligned text table, one row per set."""
    short = {"count_mean": "count", "count_const_frac": "const", "empty_frac": "empty", "match_frac": "match",
             "accel_mean": "acc_mean", "accel_median": "acc_med", "colour_drift_mean": "col_mean",
             "colour_drift_median": "col_med", "fg_frac": "fg", "area_mean": "area"}
    name_w = max([len("set")] + [len(str(n)) for n in rows])
    heads = [short.get(k, k) for k in keys]
    widths = [max(len(h), 7) for h in heads]
    lines = [f"{'set':<{name_w}}  " + "  ".join(f"{h:>{w}}" for h, w in zip(heads, widths))]
    for name, values in rows.items():
        cells = []
        for k, w in zip(keys, widths):
            v = values[k]
            text = "nan" if v != v else format(v, f".{3 if k == 'fg_frac' else digits}f")
            cells.append(f"{text:>{w}}")
        lines.append(f"{str(name):<{name_w}}  " + "  ".join(cells))
    return "\n".join(lines)


def compare(real, generated, names=("real", "generated"), keys=KEYS, **protocol) -> dict:
    """Score two sets of uint8 videos with :func:`ball_stats` (same ``protocol`` thresholds) and print them side by
    side, one row per statistic; returns ``{name: values}``."""
    rows = {names[0]: ball_stats(real, **protocol)[0], names[1]: ball_stats(generated, **protocol)[0]}
    width = max(len(k) for k in keys)
    cols = [max(len(n), 9) for n in names]
    lines = [f"{'':<{width}}  " + "  ".join(f"{n:>{w}}" for n, w in zip(names, cols))]
    for k in keys:
        cells = [f"{rows[n][k]:>{w}.{3 if k == 'fg_frac' else 2}f}" for n, w in zip(names, cols)]
        lines.append(f"{k:<{width}}  " + "  ".join(cells))
    print("\n".join(lines))
    return rows
