"""Procedural mini-benchmarks: moving digits and four stand-ins for the paper's data sets.

Each generator returns uint8 ``(N, F, size, size, 3)`` clips, is vectorised with numpy and is deterministic under
``seed``. Each stand-in keeps what makes its real counterpart hard, at a size a CPU can train on:

* :func:`moving_digits`: Moving-MNIST style; glyphs of the DejaVu font bundled with matplotlib (no download).
  Hard part: overlapping digits that must keep their identity.
* :func:`sky_timelapse` (Sky-Timelapse): multi-scale cloud texture drifting and slowly evolving over a sky
  gradient. Hard part: stochastic, non-rigid texture motion with no objects to track.
* :func:`~ardiff_edu.data.stick_figures.taichi` (Taichi-HD): an articulated stick figure (:mod:`.stick_figures`).
* :func:`faces` (FaceForensics): a face with head motion, blinking and a talking mouth. Hard part: small, sparse
  motions (eyes, mouth) on a large static identity that must not drift.
* :func:`~ardiff_edu.data.stick_figures.ucf_actions` (UCF-101): class-conditional stick-figure actions
  (:mod:`.stick_figures`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ardiff_edu.data.synthetic import int_range, reflect
from ardiff_edu.utils import check_int

CHUNK = 128  # clips rendered at once: bounds memory at about CHUNK * F * size^2 * 4 bytes per buffer


def _setup(num_clips, num_frames, size, seed, min_size: int = 16):
    n = check_int("num_clips", num_clips, 0)
    f = check_int("num_frames", num_frames, 1)
    size = check_int("size", size, min_size)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return n, f, size, rng


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)``, each ``(size, size)`` float32 (x along columns, y along rows)."""
    c = np.arange(size, dtype=np.float32) + 0.5
    return np.meshgrid(c, c, indexing="xy")


def _over(img: np.ndarray, alpha: np.ndarray, colour) -> None:
    """In place: ``img (..., H, W, 3) = img * (1 - alpha) + colour * alpha``; ``colour`` broadcasts to ``(..., 3)``."""
    a = alpha[..., None]
    img *= 1.0 - a
    img += np.asarray(colour, np.float32) * a


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def _segment_alpha(xx, yy, a, b, half_width) -> np.ndarray:
    """Anti-aliased coverage of a capsule from ``a`` to ``b`` (each ``(n, f, 2)``) -> ``(n, f, H, W)``."""
    ax, ay = a[..., 0, None, None], a[..., 1, None, None]
    dx, dy = (b[..., 0] - a[..., 0])[..., None, None], (b[..., 1] - a[..., 1])[..., None, None]
    px, py = xx - ax, yy - ay
    t = np.clip((px * dx + py * dy) / np.maximum(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    dist = np.sqrt((px - t * dx) ** 2 + (py - t * dy) ** 2)
    return np.clip(np.asarray(half_width)[..., None, None] + 0.5 - dist, 0.0, 1.0)


def _ellipse_alpha(xx, yy, centre, ax_x, ax_y, angle=None) -> np.ndarray:
    """Anti-aliased coverage of an ellipse, semi-axes ``ax_x, ax_y`` (broadcast to ``(n, f)``) -> ``(n, f, H, W)``."""
    u = xx - centre[..., 0, None, None]
    v = yy - centre[..., 1, None, None]
    if angle is not None:
        c, s = np.cos(angle)[..., None, None], np.sin(angle)[..., None, None]
        u, v = c * u + s * v, -s * u + c * v
    a = np.maximum(np.asarray(ax_x, np.float32), 1e-3)[..., None, None]
    b = np.maximum(np.asarray(ax_y, np.float32), 1e-3)[..., None, None]
    q = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return np.clip(0.5 - (q - 1.0) * np.minimum(a, b), 0.0, 1.0)


# ----------------------------------------------------------------------------------------------------------------
# moving digits


@functools.lru_cache(maxsize=8)
def digit_glyphs(glyph_size: int) -> np.ndarray:
    """The digits 0-9 as float32 ``(10, g, g)`` coverage masks in ``[0, 1]``, from matplotlib's bundled DejaVu Sans
    Bold (rendered with Pillow's FreeType at 4x, then box-filtered down: anti-aliased and deterministic)."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    g = check_int("glyph_size", glyph_size, 4)
    big = 4 * g
    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"),
                              size=int(round(big * 0.95)))
    out = np.zeros((10, g, g), np.float32)
    for d in range(10):
        im = Image.new("L", (big, big), 0)
        draw = ImageDraw.Draw(im)
        left, top, right, bottom = draw.textbbox((0, 0), str(d), font=font)
        draw.text(((big - (right - left)) / 2 - left, (big - (bottom - top)) / 2 - top), str(d), fill=255, font=font)
        out[d] = np.asarray(im, np.float32).reshape(g, 4, g, 4).mean(axis=(1, 3)) / 255.0
    return out


def moving_digits(num_clips: int, num_frames: int = 16, size: int = 32, num_digits=(1, 2), seed: int = 0,
                  return_labels: bool = False):
    """Moving-MNIST-style clips: white digit glyphs bouncing in a black square, overlapping with ``max``.

    Glyph boxes are ``round(size * 28 / 64)`` pixels (the Moving-MNIST ratio); speeds are 3-6 % of ``size`` per
    frame. With ``return_labels`` it returns ``(clips, labels)``, ``labels`` int64 ``(N, num_digits[1])`` with -1
    for absent digits.
    """
    n, f, size, rng = _setup(num_clips, num_frames, size, seed)
    lo_d, hi_d = int_range("num_digits", num_digits, 1, 4)
    g = max(6, int(round(size * 28 / 64)))
    glyphs = digit_glyphs(g)
    count = rng.integers(lo_d, hi_d + 1, size=n)
    labels = rng.integers(0, 10, size=(n, hi_d))
    start = rng.random((n, hi_d, 2)) * (size - g)
    speed = rng.uniform(0.03, 0.06, size=(n, hi_d)) * size
    angle = rng.uniform(0, 2 * np.pi, size=(n, hi_d))
    present = np.arange(hi_d)[None] < count[:, None]
    labels = np.where(present, labels, -1)

    vel = np.stack([np.cos(angle), np.sin(angle)], -1) * speed[..., None]
    t = np.arange(f, dtype=np.float64)[None, :, None, None]
    corner, _ = reflect(start[:, None] + vel[:, None] * t, np.zeros(1), np.full(1, float(size - g)))
    corner = np.rint(corner).astype(np.int64)  # (n, f, d, 2) top-left (x, y), integer as in Moving MNIST

    img = np.zeros((n, f, size, size), np.float32)
    flat = img.reshape(-1)
    base = (np.arange(n * f, dtype=np.int64) * size * size).reshape(n, f)[..., None, None]
    offs = np.arange(g)
    for k in range(hi_d):
        rows = corner[:, :, k, 1, None] + offs  # (n, f, g)
        cols = corner[:, :, k, 0, None] + offs
        lin = base + rows[..., :, None] * size + cols[..., None, :]  # (n, f, g, g)
        glyph = glyphs[np.maximum(labels[:, k], 0)][:, None] * present[:, k, None, None, None]
        flat[lin] = np.maximum(flat[lin], glyph)
    clips = np.repeat(_to_uint8(img)[..., None], 3, axis=-1)
    return (clips, labels.astype(np.int64)) if return_labels else clips


# ----------------------------------------------------------------------------------------------------------------
# Sky-Timelapse stand-in


def sky_timelapse(num_clips: int, num_frames: int = 16, size: int = 32, seed: int = 0) -> np.ndarray:
    """Clouds drifting over a sky gradient: a sum of random plane waves at 4 scales (1/f amplitudes) that drifts
    with a per-clip wind and evolves slowly, thresholded into soft clouds of per-clip cover."""
    n, f, size, rng = _setup(num_clips, num_frames, size, seed)
    per_octave, octaves = 6, np.array([1.0, 2.0, 4.0, 8.0])
    k_count = per_octave * len(octaves)
    cycles = np.repeat(octaves, per_octave)[None] * rng.uniform(0.8, 1.25, size=(n, k_count))
    direction = rng.uniform(0, 2 * np.pi, size=(n, k_count))
    kx = 2 * np.pi * cycles / size * np.cos(direction)
    ky = 2 * np.pi * cycles / size * np.sin(direction)
    amp = 1.0 / cycles
    phase = rng.uniform(0, 2 * np.pi, size=(n, k_count))
    evolve = rng.normal(0, 0.06, size=(n, k_count))  # slow change of shape (radians per frame)
    wind = rng.uniform(0.02, 0.06, size=(n, 1)) * size * np.array([[1.0, 0.0]])  # px/frame, mostly horizontal
    wind = wind * rng.choice([-1.0, 1.0], size=(n, 1)) + rng.normal(0, 0.1, size=(n, 2))
    cover = rng.uniform(-0.3, 0.6, size=(n, 1, 1, 1))  # threshold: lower = more cloud
    top = np.array([0.10, 0.25, 0.65]) + rng.normal(0, 0.05, size=(n, 3))
    horizon = np.array([0.60, 0.78, 0.95]) + rng.normal(0, 0.04, size=(n, 3))
    warm = rng.random(n) < 0.25  # some clips at sunset
    horizon[warm] = np.array([0.95, 0.62, 0.35]) + rng.normal(0, 0.04, size=(int(warm.sum()), 3))

    c = np.arange(size) + 0.5
    t = np.arange(f)
    # cos(kx x + ky y + phi(t)) = Re(e^{i kx x} e^{i ky y} e^{i phi(t)}): separable, so one einsum builds all frames
    ex = np.exp(1j * kx[..., None] * c)  # (n, K, W)
    ey = np.exp(1j * ky[..., None] * c)  # (n, K, H)
    drift = -(kx[:, None] * wind[:, None, 0:1] + ky[:, None] * wind[:, None, 1:2]) * t[None, :, None]
    ph = np.exp(1j * (phase[:, None] + evolve[:, None] * t[None, :, None] + drift)) * amp[:, None]  # (n, F, K)
    noise = np.einsum("nfk,nkh,nkw->nfhw", ph, ey, ex, optimize=True).real
    noise /= np.sqrt((amp**2).sum(1) / 2)[:, None, None, None]  # unit variance
    density = 1.0 / (1.0 + np.exp(-(noise - cover) * 3.0))
    grad = (c / size)[None, None, :, None, None] ** 0.8  # 0 at the top, 1 at the horizon
    sky = top[:, None, None, None] * (1 - grad) + horizon[:, None, None, None] * grad
    shade = np.clip(1.0 - 0.35 * (noise - cover)[..., None].clip(0) / 2, 0.55, 1.0)  # thick cloud is greyer
    cloud = np.broadcast_to(np.array([0.97, 0.97, 0.98]), (1, 1, 1, 1, 3)) * shade
    img = sky * (1 - density[..., None]) + cloud * density[..., None]
    return _to_uint8(img.astype(np.float32))


# ----------------------------------------------------------------------------------------------------------------
# stick figures (Taichi-HD and UCF-101 stand-ins)


def faces(num_clips: int, num_frames: int = 16, size: int = 32, seed: int = 0) -> np.ndarray:
    """Talking-head-like clips: an oval face with hair, eyes that blink (1-2 frame closures at random times),
    a mouth that opens and closes as in speech, and small smooth head motion (translation, tilt, scale)."""
    n, f, size, rng = _setup(num_clips, num_frames, size, seed)
    xx, yy = _pixel_grid(size)
    out = np.zeros((n, f, size, size, 3), np.uint8)
    t = np.arange(f)[None].astype(np.float64)
    for c0 in range(0, n, CHUNK):
        m = min(CHUNK, n - c0)
        bg = rng.uniform(0.1, 0.7, size=(m, 3))
        bg_top = np.clip(bg + rng.normal(0, 0.12, size=(m, 3)), 0, 1)
        img = (bg_top[:, None, None, None] * (1 - yy[None, None, ..., None] / size)
               + bg[:, None, None, None] * yy[None, None, ..., None] / size)
        img = np.broadcast_to(img, (m, f, size, size, 3)).astype(np.float32).copy()
        skin = np.clip(np.array([0.95, 0.78, 0.64]) * rng.uniform(0.5, 1.05, size=(m, 1)), 0, 1)
        hair = rng.uniform(0.02, 0.45, size=(m, 1)) * np.array([1.0, 0.8, 0.6]) + rng.uniform(0, 0.1, size=(m, 3))
        lips = np.clip(skin * np.array([0.75, 0.4, 0.4]), 0, 1)
        eye_col = rng.uniform(0.0, 0.25, size=(m, 3))
        # head motion: slow, smooth, small
        w = rng.uniform(2 * np.pi / 48, 2 * np.pi / 20, size=(m, 3))
        ph = rng.uniform(0, 2 * np.pi, size=(m, 3))
        centre = np.stack([
            size * (0.5 + rng.uniform(-0.05, 0.05, size=(m, 1)) + 0.05 * np.sin(w[:, 0:1] * t + ph[:, 0:1])),
            size * (0.52 + rng.uniform(-0.03, 0.03, size=(m, 1)) + 0.03 * np.sin(w[:, 1:2] * t + ph[:, 1:2])),
        ], -1)
        tilt = 0.12 * np.sin(w[:, 2:3] * t + ph[:, 2:3])
        scale = size * rng.uniform(0.28, 0.34, size=(m, 1)) * (1 + 0.03 * np.sin(w[:, 0:1] * t))
        # blinks: eyes close for 1-2 frames around random times
        blink_at = rng.uniform(0, f + 8, size=(m, 2)) - 4
        closed = np.max(np.exp(-((t[..., None] - blink_at[:, None]) ** 2) / 0.6), axis=-1)
        openness = np.clip(1.0 - 1.2 * closed, 0.08, 1.0)
        talk = rng.uniform(2 * np.pi / 6, 2 * np.pi / 3, size=(m, 1))
        mouth_open = np.clip(np.abs(np.sin(talk * t + rng.uniform(0, 6, size=(m, 1))))
                             * rng.uniform(0.5, 1.0, size=(m, 1)), 0.1, 1.0)

        cos, sin = np.cos(tilt), np.sin(tilt)

        def at(dx, dy):  # a point fixed to the head: offset in head units, rotated by the tilt
            ox, oy = dx * scale, dy * scale
            return centre + np.stack([cos * ox - sin * oy, sin * ox + cos * oy], -1)

        _over(img, _ellipse_alpha(xx, yy, at(0, -0.12), 1.08 * scale, 1.12 * scale, tilt),
              hair[:, None, None, None])
        _over(img, _ellipse_alpha(xx, yy, at(0, 0.08), 0.85 * scale, 1.05 * scale, tilt), skin[:, None, None, None])
        _over(img, _ellipse_alpha(xx, yy, at(0, -0.78), 0.8 * scale, 0.3 * scale, tilt),
              hair[:, None, None, None])  # fringe
        for side in (-1, 1):
            eye = at(0.36 * side, -0.1)
            _over(img, _ellipse_alpha(xx, yy, eye, 0.17 * scale, 0.11 * scale * openness, tilt),
                  np.float32([0.97, 0.97, 0.97]))
            _over(img, _ellipse_alpha(xx, yy, eye, 0.08 * scale, 0.09 * scale * openness, tilt),
                  eye_col[:, None, None, None])
        _over(img, _ellipse_alpha(xx, yy, at(0, 0.55), 0.28 * scale, 0.05 * scale + 0.13 * scale * mouth_open, tilt),
              lips[:, None, None, None])
        _over(img, _ellipse_alpha(xx, yy, at(0, 0.55), 0.2 * scale, 0.09 * scale * mouth_open, tilt),
              np.float32([0.25, 0.05, 0.08]))
        out[c0:c0 + m] = _to_uint8(img)
    return out
