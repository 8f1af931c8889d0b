"""Bouncing balls: the default dataset, with its ground truth (positions, velocities, colours) for evaluation.

Coordinates: a frame covers the square ``[0, size] x [0, size]``; pixel ``(row i, col j)`` has its centre at
``(x, y) = (j + 0.5, i + 0.5)``. Ball positions are ``(x, y)`` in these pixel units.
"""

from __future__ import annotations

import math

import numpy as np

from ardiff_edu.utils import check_int

#: Saturated colours that stay distinguishable on black, also after a lossy autoencoder.
PALETTE = np.array(
    [
        [255, 40, 40],  # red
        [40, 220, 40],  # green
        [60, 90, 255],  # blue
        [255, 230, 40],  # yellow
        [255, 40, 255],  # magenta
        [40, 230, 255],  # cyan
        [255, 140, 20],  # orange
        [245, 245, 245],  # white
    ],
    dtype=np.uint8,
)
PALETTE_NAMES = ("red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white")


# ----------------------------------------------------------------------------------------------------------------
# argument helpers shared by the generators


def int_range(name: str, value, low: int, high: int | None = None) -> tuple[int, int]:
    """An int or an inclusive ``(lo, hi)`` pair of ints, checked against ``[low, high]``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a (low, high) pair, got {value!r}")
        lo, hi = check_int(f"{name}[0]", value[0], low, high), check_int(f"{name}[1]", value[1], low, high)
        if lo > hi:
            raise ValueError(f"{name} must satisfy low <= high, got {value!r}")
        return lo, hi
    v = check_int(name, value, low, high)
    return v, v


def float_range(name: str, value, low: float, high: float) -> tuple[float, float]:
    """A number or a ``(lo, hi)`` pair of numbers within ``[low, high]``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(pair) == 2 and all(isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
                                for v in pair)
    if not ok or not (low <= pair[0] <= pair[1] <= high) or any(math.isnan(float(v)) for v in pair):
        raise ValueError(f"{name} must be a number or a (low, high) pair with {low} <= low <= high <= {high}, "
                         f"got {value!r}")
    return float(pair[0]), float(pair[1])


# ----------------------------------------------------------------------------------------------------------------
# bouncing balls


def reflect(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fold the unconstrained coordinate ``p`` into ``[lo, hi]`` by mirror reflections (a triangle wave).

    Returns ``(position, sign)``: ``sign`` is +1 while moving as the free motion, -1 after an odd number of bounces.
    """
    length = np.maximum(hi - lo, 1e-9)
    u = np.mod(p - lo, 2.0 * length)
    forward = u <= length
    return np.where(forward, lo + u, lo + 2.0 * length - u), np.where(forward, 1.0, -1.0)


def bouncing_balls(
    num_clips: int,
    num_frames: int = 16,
    size: int = 32,
    num_balls=(1, 3),
    radius=(3.0, 4.0),
    speed=(1.0, 2.0),
    seed: int = 0,
    return_state: bool = False,
):
    """Clips of anti-aliased coloured discs on black, moving at constant velocity and bouncing off the walls.

    Returns uint8 ``(num_clips, num_frames, size, size, 3)``. Each clip has between ``num_balls[0]`` and
    ``num_balls[1]`` balls (inclusive) of distinct colours from :data:`PALETTE`; radius and speed (pixels per frame)
    are drawn uniformly from their ranges and the direction uniformly on the circle. Balls do not collide with each
    other (they pass over one another; later balls are drawn on top). Deterministic for a given ``seed``.

    With ``return_state=True`` it returns ``(clips, state)``, where ``state`` holds the ground truth, ``B`` being
    ``num_balls[1]``:

    * ``positions`` float32 ``(N, F, B, 2)``: ball centres ``(x, y)`` in pixels (NaN for absent balls),
    * ``velocities`` float32 ``(N, F, B, 2)``: velocity at each frame (a component flips sign at a bounce),
    * ``radii`` float32 ``(N, B)`` (0 when absent), ``present`` bool ``(N, B)``,
    * ``colour_index`` int64 ``(N, B)`` into :data:`PALETTE` (-1 when absent), ``colours`` uint8 ``(N, B, 3)``.
    """
    n = check_int("num_clips", num_clips, 0)
    f = check_int("num_frames", num_frames, 1)
    size = check_int("size", size, 4)
    lo_b, hi_b = int_range("num_balls", num_balls, 1, len(PALETTE))
    r_lo, r_hi = float_range("radius", radius, 0.5, size / 2 - 0.5)
    s_lo, s_hi = float_range("speed", speed, 0.0, float(size))
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    b = hi_b

    # Every random draw happens here, in a fixed order, so that a seed pins the whole data set.
    count = rng.integers(lo_b, hi_b + 1, size=n)
    colour_index = np.argsort(rng.random((n, len(PALETTE))), axis=1)[:, :b]
    radii = rng.uniform(r_lo, r_hi, size=(n, b))
    start = rng.random((n, b, 2))
    speeds = rng.uniform(s_lo, s_hi, size=(n, b))
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(n, b))

    present = np.arange(b)[None, :] < count[:, None]
    lo = radii[..., None]  # (n, b, 1): the centre stays in [r, size - r] so the whole disc is inside
    hi = size - radii[..., None]
    p0 = lo + start * (hi - lo)
    v0 = np.stack([np.cos(angles), np.sin(angles)], axis=-1) * speeds[..., None]  # (n, b, 2)
    t = np.arange(f, dtype=np.float64)[None, :, None, None]
    pos, sign = reflect(p0[:, None] + v0[:, None] * t, lo[:, None], hi[:, None])  # (n, f, b, 2)
    vel = v0[:, None] * sign

    clips = render_discs(pos, radii, PALETTE[colour_index], present, size)
    if not return_state:
        return clips
    nan = np.float32(np.nan)
    state = {
        "positions": np.where(present[:, None, :, None], pos, nan).astype(np.float32),
        "velocities": np.where(present[:, None, :, None], vel, nan).astype(np.float32),
        "radii": np.where(present, radii, 0.0).astype(np.float32),
        "colour_index": np.where(present, colour_index, -1).astype(np.int64),
        "colours": np.where(present[..., None], PALETTE[colour_index], 0).astype(np.uint8),
        "present": present,
    }
    return clips, state


def render_discs(pos, radii, colours, present, size: int, chunk: int = 2048) -> np.ndarray:
    """Draw anti-aliased discs: ``pos`` (N, F, B, 2), ``radii`` (N, B), ``colours`` (N, B, 3) -> uint8 (N, F, S, S, 3).

    Only a small patch around each disc is evaluated (coverage = ``clip(r + 0.5 - distance, 0, 1)`` at pixel
    centres), and discs are composited in order with "over" blending, all vectorised over clips and frames.
    """
    n, f, b, _ = pos.shape
    out = np.zeros((n, f, size, size, 3), dtype=np.uint8)
    if n == 0:
        return out
    patch = min(size, int(math.ceil(2 * float(np.max(radii)) + 3)))
    offs = np.arange(patch)
    flat = out.reshape(-1, 3)  # one integer index per pixel; each disc blends into its patch in place
    for c0 in range(0, n, chunk):
        sl = slice(c0, min(n, c0 + chunk))
        m = sl.stop - sl.start
        base = (np.arange(c0 * f, (c0 + m) * f, dtype=np.int64) * size * size).reshape(m, f)[..., None, None]
        for k in range(b):
            if not present[sl, k].any():
                continue
            p = pos[sl, :, k].astype(np.float32)  # (m, f, 2)
            r = radii[sl, k].astype(np.float32)[:, None]  # (m, 1)
            # the patch starts just before the disc and is shifted to lie inside the frame (the disc always does)
            x0 = np.clip(np.floor(p[..., 0] - r - 1.0), 0, size - patch).astype(np.int64)  # (m, f)
            y0 = np.clip(np.floor(p[..., 1] - r - 1.0), 0, size - patch).astype(np.int64)
            cols = x0[..., None] + offs  # (m, f, patch)
            rows = y0[..., None] + offs
            dx = (cols + 0.5 - p[..., 0:1]).astype(np.float32)
            dy = (rows + 0.5 - p[..., 1:2]).astype(np.float32)
            dist = np.sqrt(dy[..., :, None] ** 2 + dx[..., None, :] ** 2)  # (m, f, patch, patch)
            alpha = np.minimum(np.maximum(r[..., None, None] + 0.5 - dist, 0.0), 1.0)
            alpha *= present[sl, k][:, None, None, None]
            lin = base + rows[..., :, None] * size + cols[..., None, :]  # (m, f, patch, patch)
            hit = alpha > 0  # only pixels the disc touches
            lin, a = lin[hit], alpha[hit][:, None]
            colour = colours[sl, k].astype(np.float32)[np.nonzero(hit)[0]]
            flat[lin] = np.rint(flat[lin] * (1.0 - a) + colour * a).astype(np.uint8)  # a convex blend: in [0, 255]
    return out
