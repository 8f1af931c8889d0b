"""Toy metrics for bouncing-ball videos: track the coloured blobs and measure how ball-like their motion is.

    python -m ardiff_edu evaluate --s 0 5        # real vs generated, with sanity rows, printed and written

This is **not FVD** (no pretrained network, no Fréchet distance): it is a hand-written tracker whose numbers mean
something physical on our procedural data:

1. **detect** — a pixel is foreground when its brightest channel is ``>= fg_threshold`` (the background is black);
   8-connected components of at least ``min_area`` pixels are blobs (``scipy.ndimage.label``), each with an
   intensity-weighted centroid, an area, a mean colour and a bounding box. A component that covers more than
   ``max_area_frac`` of the frame is **not a ball** (a disc that large would have no room to bounce; our balls cover
   at most ~5 % of a frame, three merged ones under 20 %): it is dropped and counted in ``big_frac``. Without this
   rule a frame of uniform noise, whose bright pixels form one frame-filling component, scored as one perfectly
   tracked "ball";
2. **match** — blobs of consecutive frames are paired by a minimum-cost assignment on centroid distance
   (``scipy.optimize.linear_sum_assignment``), a pair counting only if it moved at most ``max_jump`` pixels;
3. **measure** — from detections and matches:

   ============================  =======================================================================================
   ``count_mean``                blobs per frame (overlapping balls merge into one blob)
   ``count_const_frac``          fraction of clips whose blob count never changes and is not 0 (a black clip keeps
                                 no balls)
   ``empty_frac``                fraction of frames with no blob at all
   ``match_frac``                ``2·matches / (blobs in frame t + blobs in frame t+1)``, pooled over frame pairs
   ``accel_mean/median``         ``|c(t+1) − 2c(t) + c(t−1)|`` in px/frame² along 3-frame tracks whose blobs stay
                                 ``wall_margin`` px away from the walls (constant velocity → ≈ 0; bounces excluded)
   ``colour_drift_mean/median``  distance between the mean colours (RGB 0–255, brightness-normalised) of matched
                                 blobs
   ``speed_median``              median distance a matched blob moves per frame (px/frame; real balls: 1–2)
   ``fg_frac``, ``area_mean``    foreground pixel fraction and mean blob area in pixels
   ``big_frac``                  fraction of frames with a component too large to be a ball (see 1.)
   ============================  =======================================================================================

Real clips score ``match_frac`` ≈ 1, ``accel_median`` well below 1 and ``colour_drift_median`` ≈ 0. Every statistic
is computed from per-clip records (:func:`clip_records`) by :func:`aggregate`, which also takes bootstrap weights over
clips, so confidence intervals cost no second tracking pass. For video prediction, :func:`position_errors` compares
tracked blobs with the simulator's true ball positions, and :func:`extrapolate_balls` / :func:`copy_last_frame` are
the baselines a model must beat.
"""

from __future__ import annotations

import math

import numpy as np

from ardiff_edu.data.synthetic import reflect, render_discs
from ardiff_edu.utils import check_float, check_int

__all__ = ["DEFAULTS", "KEYS", "detect_blobs", "blob_counts", "count_shares", "clip_records", "aggregate",
           "ball_stats", "format_table", "shuffle_frames", "uniform_noise", "black_frames", "frozen_first_frame",
           "compare", "position_errors", "copy_last_frame", "extrapolate_balls"]

#: The protocol's thresholds (every one can be overridden in :func:`ball_stats`).
DEFAULTS = {"fg_threshold": 100, "min_area": 3, "max_jump": 4.0, "wall_margin": 2, "max_area_frac": 0.25}
#: The keys of :func:`ball_stats`'s values, in printing order.
KEYS = ("count_mean", "count_const_frac", "empty_frac", "match_frac", "accel_mean", "accel_median",
        "colour_drift_mean", "colour_drift_median", "speed_median", "fg_frac", "area_mean", "big_frac")
#: A tracked ball further than this from its true position counts as lost (px): one diameter of the largest ball.
LOST_PX = 8.0


def _check_videos(videos) -> np.ndarray:
    videos = np.asarray(videos)
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3 or 0 in videos.shape:
        raise ValueError(f"videos must be a non-empty uint8 array (N, F, H, W, 3), got {videos.dtype} "
                         f"{videos.shape}")
    return videos


def _detect(videos, fg_threshold, min_area, max_area_frac):
    """Blobs per clip and frame, the foreground fraction per clip ``(N,)`` and the frames with a too-large component
    ``(N, F)`` bool."""
    from scipy import ndimage

    videos = _check_videos(videos)
    fg_threshold = check_int("fg_threshold", fg_threshold, 1, 255)
    min_area = check_int("min_area", min_area, 1)
    max_area_frac = check_float("max_area_frac", max_area_frac, 0.0, 1.0, low_open=True)
    N, F, H, W, _ = videos.shape
    frames = videos.reshape(N * F, H, W, 3)
    bright = frames.max(axis=-1)
    fg = bright >= fg_threshold
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True                                   # 8-connected inside a frame, never across frames
    labels, n = ndimage.label(fg, structure=structure)
    blobs = [[[] for _ in range(F)] for _ in range(N)]
    big = np.zeros((N, F), bool)
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
        for j, sl in enumerate(ndimage.find_objects(labels)):
            frame_idx = sl[0].start
            if area[j] > max_area_frac * H * W:           # frame-filling: not a ball
                big[frame_idx // F, frame_idx % F] = True
                continue
            if area[j] < min_area:
                continue
            blobs[frame_idx // F][frame_idx % F].append({
                "centroid": np.array([cx[j], cy[j]]), "area": float(area[j]), "colour": colour[j],
                "bbox": (sl[2].start, sl[1].start, sl[2].stop - 1, sl[1].stop - 1)})
    return blobs, fg.reshape(N, -1).mean(axis=1), big


def detect_blobs(videos, fg_threshold: int = DEFAULTS["fg_threshold"], min_area: int = DEFAULTS["min_area"],
                 max_area_frac: float = DEFAULTS["max_area_frac"]):
    """Blobs of every frame: a list (over clips) of lists (over frames) of dicts with ``centroid`` ``(x, y)`` in
    pixels (pixel centres at ``+0.5``, as in :mod:`ardiff_edu.data`), ``area``, ``colour`` (mean chromaticity: RGB
    scaled so that the brightest channel is 255, so edge pixels blended with black keep the ball's colour) and ``bbox``
    ``(x0, y0, x1, y1)`` inclusive; plus the foreground fraction over all pixels. Components larger than
    ``max_area_frac`` of the frame are not balls and are left out."""
    blobs, fg, _ = _detect(videos, fg_threshold, min_area, max_area_frac)
    return blobs, float(fg.mean())


def _counts(blobs) -> np.ndarray:
    return np.array([[len(frame) for frame in clip] for clip in blobs], dtype=np.int64)


def blob_counts(videos, fg_threshold: int = DEFAULTS["fg_threshold"], min_area: int = DEFAULTS["min_area"],
                max_area_frac: float = DEFAULTS["max_area_frac"]) -> np.ndarray:
    """The number of balls the tracker finds in every frame, ``(N, F)`` int64 (0: an empty frame); the detection of
    :func:`detect_blobs` without the tracking of :func:`clip_records`."""
    return _counts(detect_blobs(videos, fg_threshold, min_area, max_area_frac)[0])


def count_shares(counts, most: int = 4) -> np.ndarray:
    """The share of frames with 0, 1, ..., ``most - 1`` and ``most`` or more balls, ``(most + 1,)``: the histogram of
    :func:`blob_counts` (the data's clips have 1-3 balls, so 0 and ``most`` or more never happen there)."""
    counts = np.asarray(counts).ravel()
    return np.bincount(np.minimum(counts, check_int("most", most, 1)), minlength=most + 1) / len(counts)


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


def _check_jump(max_jump) -> float:
    if isinstance(max_jump, bool) or not isinstance(max_jump, (int, float)) or not 0 < max_jump < math.inf:
        raise ValueError(f"max_jump must be a positive number of pixels, got {max_jump!r}")
    return float(max_jump)


def clip_records(videos, fg_threshold: int = DEFAULTS["fg_threshold"], min_area: int = DEFAULTS["min_area"],
                 max_jump: float = DEFAULTS["max_jump"], wall_margin: int = DEFAULTS["wall_margin"],
                 max_area_frac: float = DEFAULTS["max_area_frac"]) -> dict:
    """Track every clip once and keep what :func:`aggregate` needs, per clip: blob counts ``(N, F)``, matched and
    total blob ends ``(N,)``, foreground fraction, frames with a too-large component, and the lists of
    accelerations, colour drifts, speeds and areas as flat arrays with the index of their clip (``*_clip``)."""
    videos = _check_videos(videos)
    max_jump = _check_jump(max_jump)
    wall_margin = check_int("wall_margin", wall_margin, 0)
    N, F, H, W, _ = videos.shape
    blobs, fg, big = _detect(videos, fg_threshold, min_area, max_area_frac)
    matched, total = np.zeros(N), np.zeros(N)
    lists = {"accel": ([], []), "drift": ([], []), "speed": ([], []), "area": ([], [])}

    def put(name, n, values):
        lists[name][0].extend(values)
        lists[name][1].extend([n] * len(values))

    for n, clip in enumerate(blobs):
        put("area", n, [b["area"] for frame in clip for b in frame])
        pairs = [_match(clip[t], clip[t + 1], max_jump) for t in range(F - 1)]
        for t, pt in enumerate(pairs):
            matched[n] += 2 * len(pt)
            total[n] += len(clip[t]) + len(clip[t + 1])
            put("drift", n, [float(np.linalg.norm(clip[t][i]["colour"] - clip[t + 1][j]["colour"])) for i, j in pt])
            put("speed", n, [float(np.linalg.norm(clip[t][i]["centroid"] - clip[t + 1][j]["centroid"]))
                             for i, j in pt])
        for t in range(1, F - 1):
            forward = dict(pairs[t])                       # blob index at t -> at t+1
            for i, j in pairs[t - 1]:                      # i at t-1 -> j at t
                if j not in forward:
                    continue
                track = (clip[t - 1][i], clip[t][j], clip[t + 1][forward[j]])
                if any(_near_wall(b, W, H, wall_margin) for b in track):
                    continue
                c0, c1, c2 = (b["centroid"] for b in track)
                put("accel", n, [float(np.linalg.norm(c2 - 2 * c1 + c0))])
    records = {"counts": _counts(blobs), "matched": matched,
               "total": total, "fg": fg, "big": big.mean(axis=1)}
    for name, (values, clips) in lists.items():
        records[name] = np.asarray(values, dtype=np.float64)
        records[name + "_clip"] = np.asarray(clips, dtype=np.int64)
    protocol = {"clips": N, "frames": F, "height": H, "width": W, "fg_threshold": fg_threshold, "min_area": min_area,
                "connectivity": 8, "max_jump": max_jump, "wall_margin": wall_margin,
                "max_area_frac": float(max_area_frac), "accel_tracks": len(records["accel"]),
                "matched_pairs": len(records["drift"])}
    return {"records": records, "protocol": protocol}


def _weighted_mean(values, clip, w):
    """Mean of ``values`` with each value weighted by its clip's weight; ``w`` is ``(B, N)`` -> ``(B,)``."""
    if len(values) == 0:
        return np.full(len(w), np.nan)
    vw = w[:, clip]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (vw * values).sum(1) / vw.sum(1)


def _weighted_median(values, clip, w):
    """The median of the multiset in which each value appears ``w[b, clip]`` times (``np.median`` for weights 1)."""
    out = np.full(len(w), np.nan)
    if len(values) == 0:
        return out
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(w[:, clip[order]], axis=1)           # (n,), (B, n)
    n = cum[:, -1]
    ok = n > 0
    lo = (cum < ((n + 1) // 2)[:, None]).sum(1)                             # 0-based index of element (n+1)//2
    hi = (cum < (n // 2 + 1)[:, None]).sum(1)                               # and of element n//2 + 1
    out[ok] = (v[np.minimum(lo, len(v) - 1)][ok] + v[np.minimum(hi, len(v) - 1)][ok]) / 2
    return out


def aggregate(records: dict, weights=None) -> dict:
    """The statistics of :data:`KEYS` from :func:`clip_records`'s ``records``: floats, or with ``weights`` (``(B, N)``
    bootstrap counts over clips) arrays ``(B,)``, one value per resample."""
    r = records
    single = weights is None
    w = np.ones((1, len(r["matched"]))) if single else np.asarray(weights, dtype=np.float64)
    ws = w.sum(1)
    per_clip = lambda x: (w * x).sum(1) / ws                               # noqa: E731
    counts = r["counts"]
    with np.errstate(invalid="ignore", divide="ignore"):
        match = np.where((w @ r["total"]) > 0, (w @ r["matched"]) / (w @ r["total"]), np.nan)
    values = {
        "count_mean": per_clip(counts.mean(1)),
        "count_const_frac": per_clip((counts == counts[:, :1]).all(1) & (counts[:, 0] > 0)),
        "empty_frac": per_clip((counts == 0).mean(1)),
        "match_frac": match,
        "accel_mean": _weighted_mean(r["accel"], r["accel_clip"], w),
        "accel_median": _weighted_median(r["accel"], r["accel_clip"], w),
        "colour_drift_mean": _weighted_mean(r["drift"], r["drift_clip"], w),
        "colour_drift_median": _weighted_median(r["drift"], r["drift_clip"], w),
        "speed_median": _weighted_median(r["speed"], r["speed_clip"], w),
        "fg_frac": per_clip(r["fg"]),
        "area_mean": _weighted_mean(r["area"], r["area_clip"], w),
        "big_frac": per_clip(r["big"]),
    }
    return {k: float(v[0]) for k, v in values.items()} if single else values


def ball_stats(videos, fg_threshold: int = DEFAULTS["fg_threshold"], min_area: int = DEFAULTS["min_area"],
               max_jump: float = DEFAULTS["max_jump"], wall_margin: int = DEFAULTS["wall_margin"],
               max_area_frac: float = DEFAULTS["max_area_frac"]):
    """Track coloured blobs in uint8 videos ``(N, F, H, W, 3)``; return ``(values, protocol)``.

    ``values`` holds the statistics of :data:`KEYS` (floats; ``nan`` where nothing was measurable, e.g. no 3-frame
    track away from the walls). ``protocol`` records what was measured: clip count and shape, thresholds, method.
    See the module docstring for the definitions.
    """
    got = clip_records(videos, fg_threshold, min_area, max_jump, wall_margin, max_area_frac)
    protocol = {"metric": "ball_stats: connected-component ball tracker (a toy statistic, not FVD)",
                **got["protocol"], "centroid": "intensity-weighted (brightest channel)",
                "matching": "minimum-cost assignment on centroid distance between consecutive frames"}
    return aggregate(got["records"]), protocol


# ----------------------------------------------------------------------------------------------------------------
# sanity sets: clips that must score worse than real ones, each for a known reason
# ----------------------------------------------------------------------------------------------------------------
def shuffle_frames(videos, seed: int = 0) -> np.ndarray:
    """The same clips with their frames in a random order (per clip): right appearance, broken motion."""
    videos = _check_videos(videos)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    order = np.argsort(rng.random(videos.shape[:2]), axis=1)
    return np.take_along_axis(videos, order[:, :, None, None, None], axis=1)


def uniform_noise(shape, seed: int = 0) -> np.ndarray:
    """Uniform uint8 pixel noise of ``shape`` ``(N, F, H, W, 3)``."""
    return np.random.default_rng(check_int("seed", seed, 0)).integers(0, 256, size=shape, dtype=np.uint8)


def black_frames(shape) -> np.ndarray:
    """All-black uint8 videos of ``shape`` ``(N, F, H, W, 3)``: nothing to track at all."""
    return np.zeros(shape, np.uint8)


def frozen_first_frame(videos) -> np.ndarray:
    """Every frame replaced by the clip's first frame: perfect balls that never move."""
    videos = _check_videos(videos)
    return np.ascontiguousarray(np.broadcast_to(videos[:, :1], videos.shape))


def format_table(rows: dict, keys=KEYS, digits: int = 2) -> str:
    """``{name: values}`` (values from :func:`ball_stats`) -> an aligned text table, one row per set."""
    short = {"count_mean": "count", "count_const_frac": "const", "empty_frac": "empty", "match_frac": "match",
             "accel_mean": "acc_mean", "accel_median": "acc_med", "colour_drift_mean": "col_mean",
             "colour_drift_median": "col_med", "speed_median": "speed", "fg_frac": "fg", "area_mean": "area",
             "big_frac": "big"}
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


# ----------------------------------------------------------------------------------------------------------------
# video prediction against the simulator's ground truth
# ----------------------------------------------------------------------------------------------------------------
def position_errors(videos, positions, present, lost_px: float = LOST_PX, **protocol) -> np.ndarray:
    """Tracked ball-position error per clip and frame ``(N, F)`` in pixels.

    ``positions`` ``(N, F, B, 2)`` and ``present`` ``(N, B)`` are the simulator's state
    (``bouncing_balls(..., return_state=True)``). In every frame the true balls are paired with the detected blobs by
    a minimum-cost assignment on distance; a ball's error is its distance to its blob, capped at ``lost_px``, and a
    ball without a blob (a missing or merged one) counts as ``lost_px``. The frame's error is the mean over its balls.
    Overlapping balls merge into one blob, so even the simulator's own frames have a small error (the floor).
    """
    from scipy.optimize import linear_sum_assignment

    videos = _check_videos(videos)
    lost_px = check_float("lost_px", lost_px, 0.0, low_open=True)
    positions, present = np.asarray(positions, np.float64), np.asarray(present, bool)
    N, F = videos.shape[:2]
    if positions.shape[:2] != (N, F) or positions.shape[-1] != 2 or present.shape != (N, positions.shape[2]):
        raise ValueError(f"positions must be (N={N}, F={F}, B, 2) and present (N, B), got {positions.shape} and "
                         f"{present.shape}")
    blobs, _ = detect_blobs(videos, **protocol)
    err = np.zeros((N, F))
    for n in range(N):
        truth = positions[n][:, present[n]]                                  # (F, b, 2)
        for f in range(F):
            cost = np.full(truth.shape[1], lost_px)
            if blobs[n][f] and truth.shape[1]:
                found = np.stack([b["centroid"] for b in blobs[n][f]])
                dist = np.minimum(np.linalg.norm(truth[f][:, None] - found[None], axis=-1), lost_px)
                rows, cols = linear_sum_assignment(dist)
                cost[rows] = dist[rows, cols]
            err[n, f] = cost.mean() if len(cost) else 0.0
    return err


def copy_last_frame(given, num_frames: int) -> np.ndarray:
    """The baseline "nothing moves": the given frames, then the last one repeated up to ``num_frames``."""
    given = _check_videos(given)
    K = given.shape[1]
    num_frames = check_int("num_frames", num_frames, K)
    return np.concatenate([given, np.repeat(given[:, -1:], num_frames - K, axis=1)], axis=1)


def extrapolate_balls(given, num_frames: int, max_jump: float = DEFAULTS["max_jump"], **protocol) -> np.ndarray:
    """The baseline "a tracker with physics": track the blobs of the last two given frames, move each at its measured
    constant velocity (0 if it was not matched), reflect it at the walls, and draw it as a disc of its colour and of
    the radius of its area. Returns the given frames followed by the drawn ones, uint8 ``(N, num_frames, H, W, 3)``.
    Needs at least two given frames."""
    given = _check_videos(given)
    N, K, H, W, _ = given.shape
    check_int("given frames", K, 2)
    num_frames = check_int("num_frames", num_frames, K)
    blobs, _ = detect_blobs(given[:, -2:], **protocol)
    B = max([len(b[1]) for b in blobs] + [1])
    pos = np.zeros((N, num_frames - K, B, 2))
    radii, colours, present = np.zeros((N, B)), np.zeros((N, B, 3)), np.zeros((N, B), bool)
    steps = np.arange(1, num_frames - K + 1, dtype=np.float64)[:, None]
    for n, (before, last) in enumerate(blobs):
        velocity = {j: last[j]["centroid"] - before[i]["centroid"] for i, j in _match(before, last, max_jump)}
        for j, blob in enumerate(last):
            r = math.sqrt(blob["area"] / math.pi)
            lo, hi = np.array([r, r]), np.array([W - r, H - r])
            free = blob["centroid"] + steps * velocity.get(j, np.zeros(2))
            pos[n, :, j] = reflect(free, lo, hi)[0]
            radii[n, j], colours[n, j], present[n, j] = r, np.clip(blob["colour"], 0, 255), True
    drawn = render_discs(pos, radii, colours.astype(np.uint8), present, H) if H == W else None
    if drawn is None:
        raise ValueError(f"extrapolate_balls draws square frames only, got {H}x{W}")
    return np.concatenate([given, drawn], axis=1)
