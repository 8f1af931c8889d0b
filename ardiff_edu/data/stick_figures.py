"""Stick figures for two of the procedural stand-ins: Taichi-HD (:func:`taichi`) and UCF-101 (:func:`ucf_actions`).

* :func:`taichi`: an articulated stick figure with smooth periodic limb motion. Hard part: long, smooth, coordinated
  motion of thin parts.
* :func:`ucf_actions`: class-conditional stick-figure actions over a panning, cluttered background. Hard part: many
  classes, camera motion and background clutter.
"""

from __future__ import annotations

import numpy as np

from ardiff_edu.data.procedural import CHUNK, _ellipse_alpha, _over, _pixel_grid, _segment_alpha, _setup, _to_uint8

# joint angles are measured from "straight down", positive towards +x; image y grows downwards
LIMBS = ("arm_l", "arm_r", "leg_l", "leg_r")


def _limb(start, length, angle):
    return start + length[..., None] * np.stack([np.sin(angle), np.cos(angle)], -1)


def _figure_joints(root, height, lean, angles):
    """Joints of a front-view stick figure: ``root`` pelvis (n, f, 2), ``height`` (n, 1), ``angles`` dict of (n, f).

    ``angles``: ``{arm_l, arm_r, leg_l, leg_r}`` (upper segment) and ``{..._bend}`` (lower segment, relative).
    Returns ``(segments, head_centre, head_radius)``; ``segments`` is a list of ``(a, b, half_width)``.
    """
    h = np.broadcast_to(height, root.shape[:2]).astype(np.float64)
    up = np.stack([np.sin(lean), -np.cos(lean)], -1)
    neck = root + (0.30 * h)[..., None] * up
    head = neck + (0.11 * h)[..., None] * up
    segs = [(root, neck, 0.055 * h)]
    for limb in LIMBS:
        start = neck if limb.startswith("arm") else root
        l1, l2, w = (0.16, 0.15, 0.035) if limb.startswith("arm") else (0.22, 0.22, 0.045)
        mid = _limb(start, l1 * h, angles[limb])
        end = _limb(mid, l2 * h, angles[limb] + angles[limb + "_bend"])
        segs += [(start, mid, w * h), (mid, end, w * h)]
    return segs, head, 0.08 * h


def _draw_figure(img, xx, yy, segs, head, head_r, body_colour, skin) -> None:
    alpha = np.zeros(img.shape[:-1], np.float32)
    for a, b, w in segs:
        np.maximum(alpha, _segment_alpha(xx, yy, a, b, np.maximum(w, 0.6)), out=alpha)
    _over(img, alpha, body_colour[:, None, None, None])
    _over(img, _ellipse_alpha(xx, yy, head, head_r, head_r * 1.15), skin[:, None, None, None])


def _clothes_and_skin(rng, n):
    body = rng.uniform(0.2, 1.0, size=(n, 3))
    white = rng.random(n) < 0.4  # Tai chi suits are often white
    body[white] = rng.uniform(0.85, 1.0, size=(int(white.sum()), 1))
    skin = np.array([0.93, 0.75, 0.60]) * rng.uniform(0.55, 1.05, size=(n, 1))
    return body.astype(np.float32), np.clip(skin, 0, 1).astype(np.float32)


def _background(rng, n, f, size, xx, yy, pan=None):
    """Ground/sky backdrop with soft vertical "trees/posts" (n, f, H, W, 3); ``pan`` (n,) shifts them in px/frame."""
    sky = rng.uniform(0.35, 0.85, size=(n, 3))
    ground = rng.uniform(0.15, 0.55, size=(n, 3))
    horizon = rng.uniform(0.45, 0.65, size=(n, 1, 1, 1)) * size
    is_ground = 1.0 / (1.0 + np.exp(-(yy[None, None] - horizon)))  # (n, 1, H, W)
    img = sky[:, None, None, None] * (1 - is_ground[..., None]) + ground[:, None, None, None] * is_ground[..., None]
    img = np.broadcast_to(img, (n, f, size, size, 3)).astype(np.float32).copy()
    posts = 5
    px = rng.uniform(0, size, size=(n, posts))
    pw = rng.uniform(0.03, 0.08, size=(n, posts)) * size
    pcol = rng.uniform(0.1, 0.9, size=(n, posts, 3)).astype(np.float32)
    shift = np.zeros((n, f)) if pan is None else pan[:, None] * np.arange(f)[None]
    for j in range(posts):
        cx = np.mod(px[:, j, None] - shift, size * 1.5) - 0.25 * size  # wraps around as the camera pans
        d = np.abs(xx[None, None] - cx[..., None, None])
        a = np.clip(pw[:, j, None, None, None] / 2 + 0.5 - d, 0, 1) * (yy[None, None] < horizon[:, :, :, 0:1] + 2)
        _over(img, 0.6 * a, pcol[:, j, None, None, None])
    return img


def taichi(num_clips: int, num_frames: int = 16, size: int = 32, seed: int = 0) -> np.ndarray:
    """An articulated stick figure doing slow tai-chi-like moves: every joint angle is a smooth periodic function
    of time (per-clip tempo and phases), with weight shift (pelvis sway) and knee bends that lower the body."""
    n, f, size, rng = _setup(num_clips, num_frames, size, seed)
    xx, yy = _pixel_grid(size)
    out = np.zeros((n, f, size, size, 3), np.uint8)
    for c0 in range(0, n, CHUNK):
        m = min(CHUNK, n - c0)
        omega = rng.uniform(2 * np.pi / 40, 2 * np.pi / 20, size=(m, 1))  # one cycle in 20-40 frames
        ph = rng.uniform(0, 2 * np.pi, size=(m, 6))
        amp = rng.uniform(0.5, 1.2, size=(m, 4))
        t = np.arange(f)[None] * omega  # (m, f)
        height = rng.uniform(0.7, 0.85, size=(m, 1)) * size
        cx = rng.uniform(0.4, 0.6, size=(m, 1)) * size
        sway = rng.uniform(0.03, 0.08, size=(m, 1)) * size
        bend = 0.5 + 0.35 * np.sin(t + ph[:, 4:5])  # knee bend in [0.15, 0.85]
        angles = {
            "arm_l": -0.5 - amp[:, 0:1] * (0.5 + 0.5 * np.sin(t + ph[:, 0:1])),
            "arm_r": 0.5 + amp[:, 1:2] * (0.5 + 0.5 * np.sin(t + ph[:, 1:2])),
            "arm_l_bend": -0.3 - 0.4 * (0.5 + 0.5 * np.sin(t + ph[:, 2:3])),
            "arm_r_bend": 0.3 + 0.4 * (0.5 + 0.5 * np.sin(t + ph[:, 3:4])),
            "leg_l": -0.25 - 0.3 * bend,
            "leg_r": 0.25 + 0.3 * bend,
            "leg_l_bend": 0.6 * bend,
            "leg_r_bend": -0.6 * bend,
        }
        leg_drop = 0.44 * height * np.cos(0.3 * bend)  # hip height above the feet shrinks as the knees bend
        ground = 0.95 * size
        root = np.stack([cx + sway * np.sin(0.5 * t + ph[:, 5:6]), ground - leg_drop], -1)
        lean = 0.08 * np.sin(0.5 * t + ph[:, 5:6])
        segs, head, head_r = _figure_joints(root, height, lean, angles)
        body, skin = _clothes_and_skin(rng, m)
        img = _background(rng, m, f, size, xx, yy)
        _draw_figure(img, xx, yy, segs, head, head_r, body, skin)
        out[c0:c0 + m] = _to_uint8(img)
    return out


UCF_CLASSES = ("walk", "jump", "wave", "jumping_jack", "squat", "punch")


def ucf_actions(num_clips: int, num_frames: int = 16, size: int = 32, seed: int = 0):
    """Class-conditional actions: ``(clips, labels, class_names)``.

    Six classes (:data:`UCF_CLASSES`), balanced and shuffled, performed by a stick figure with per-clip tempo, size,
    clothes and position, over a cluttered background that pans (camera motion) at a per-clip speed.
    """
    n, f, size, rng = _setup(num_clips, num_frames, size, seed)
    labels = rng.permutation(np.arange(n) % len(UCF_CLASSES)).astype(np.int64)
    xx, yy = _pixel_grid(size)
    out = np.zeros((n, f, size, size, 3), np.uint8)
    for c0 in range(0, n, CHUNK):
        m = min(CHUNK, n - c0)
        lab = labels[c0:c0 + m, None]
        omega = rng.uniform(2 * np.pi / 12, 2 * np.pi / 7, size=(m, 1))
        t = np.arange(f)[None] * omega + rng.uniform(0, 2 * np.pi, size=(m, 1))
        height = rng.uniform(0.55, 0.75, size=(m, 1)) * size
        ground = 0.95 * size
        direction = rng.choice([-1.0, 1.0], size=(m, 1))
        cx = rng.uniform(0.4, 0.6, size=(m, 1)) * size + np.zeros((m, f))
        lift = np.zeros((m, f))
        s = np.sin(t)
        pulse = 0.5 - 0.5 * np.cos(t)  # 0 -> 1 -> 0 over a cycle
        zero = np.zeros((m, f))
        a = {"arm_l": -0.2 + zero, "arm_r": 0.2 + zero, "arm_l_bend": zero.copy(), "arm_r_bend": zero.copy(),
             "leg_l": -0.12 + zero, "leg_r": 0.12 + zero, "leg_l_bend": zero.copy(), "leg_r_bend": zero.copy()}

        def put(cls, key, value):
            a[key] = np.where(lab == UCF_CLASSES.index(cls), value, a[key])

        # walk: legs and arms swing in opposition while the figure crosses the frame
        put("walk", "leg_l", 0.45 * s)
        put("walk", "leg_r", -0.45 * s)
        put("walk", "leg_l_bend", -0.3 * np.clip(s, 0, 1))
        put("walk", "arm_l", -0.4 * s)
        put("walk", "arm_r", 0.4 * s)
        walk = lab == UCF_CLASSES.index("walk")
        cx = np.where(walk, cx - direction * 0.012 * size * (np.arange(f) - f / 2), cx)
        # jump: the body leaves the ground, arms go up in the air, knees bend on landing
        up = np.abs(np.sin(t / 2))
        lift = np.where(lab == UCF_CLASSES.index("jump"), 0.22 * height * up, lift)
        put("jump", "arm_l", -0.5 - 2.2 * up)
        put("jump", "arm_r", 0.5 + 2.2 * up)
        put("jump", "leg_l_bend", 0.6 * (1 - up))
        put("jump", "leg_r_bend", -0.6 * (1 - up))
        # wave: one raised arm, the forearm swings fast
        put("wave", "arm_r", 2.5 + zero)
        put("wave", "arm_r_bend", 0.6 * np.sin(2 * t))
        # jumping jack: arms and legs open and close together
        put("jumping_jack", "arm_l", -0.3 - 2.5 * pulse)
        put("jumping_jack", "arm_r", 0.3 + 2.5 * pulse)
        put("jumping_jack", "leg_l", -0.1 - 0.35 * pulse)
        put("jumping_jack", "leg_r", 0.1 + 0.35 * pulse)
        lift = np.where(lab == UCF_CLASSES.index("jumping_jack"), 0.06 * height * np.sin(2 * t).clip(0), lift)
        # squat: knees out and bent, pelvis drops, arms forward (sideways in the front view)
        put("squat", "leg_l", -0.15 - 0.8 * pulse)
        put("squat", "leg_r", 0.15 + 0.8 * pulse)
        put("squat", "leg_l_bend", 1.5 * pulse)
        put("squat", "leg_r_bend", -1.5 * pulse)
        put("squat", "arm_l", -0.2 - 1.3 * pulse)
        put("squat", "arm_r", 0.2 + 1.3 * pulse)
        # punch: fists alternately shoot out sideways, bent when pulled back
        left, right = np.clip(s, 0, 1), np.clip(-s, 0, 1)
        put("punch", "arm_l", -0.6 - 1.0 * left)
        put("punch", "arm_r", 0.6 + 1.0 * right)
        put("punch", "arm_l_bend", -1.8 * (1 - left))
        put("punch", "arm_r_bend", 1.8 * (1 - right))

        legs = [(a["leg_l"], a["leg_l_bend"]), (a["leg_r"], a["leg_r_bend"])]
        leg_drop = 0.22 * height * np.maximum(*[np.cos(th) + np.cos(th + b) for th, b in legs])
        root = np.stack([cx, ground - leg_drop - lift], -1)
        segs, head, head_r = _figure_joints(root, height, np.zeros((m, f)), a)
        body, skin = _clothes_and_skin(rng, m)
        pan = rng.uniform(0.02, 0.08, size=m) * size * rng.choice([-1.0, 1.0], size=m)
        img = _background(rng, m, f, size, xx, yy, pan=pan)
        _draw_figure(img, xx, yy, segs, head, head_r, body, skin)
        out[c0:c0 + m] = _to_uint8(img)
    return out, labels, UCF_CLASSES


# ----------------------------------------------------------------------------------------------------------------
# FaceForensics stand-in


