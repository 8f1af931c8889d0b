"""Checkers for the exercises of notebook 04 (video data).

* :func:`check_never_bounces` — ``never_bounces()``: clips of balls that never touch a wall, with their ground truth
  in the format of ``bouncing_balls(..., return_state=True)``; checked on the physics and by redrawing the pixels
  from the state.
* :func:`check_cut_clips` — ``cut_clips(video, num_frames, stride)``: clips of consecutive frames starting every
  ``stride`` frames, as the official data loaders cut them.
"""

from __future__ import annotations

import numpy as np

from ardiff_edu.data import PALETTE, PALETTE_NAMES, bouncing_balls, clip_starts
from ardiff_edu.data.synthetic import render_discs
from ardiff_edu.exercises import Result, call, failed, passed

__all__ = ["CUT_CASES", "MIN_CLIPS", "MIN_FRAMES", "MIN_SPEED", "check_cut_clips", "check_never_bounces"]

#: What :func:`check_never_bounces` asks for: at least this many clips of at least this many frames, every ball
#: moving at least ``MIN_SPEED`` pixels per frame (a ball standing still never bounces either).
MIN_CLIPS, MIN_FRAMES, MIN_SPEED = 8, 16, 0.5
#: ``(length, num_frames, stride)`` the clip cutter is tried on, in this order.
CUT_CASES = ((48, 16, 16), (48, 16, 8), (47, 16, 16), (16, 16, 4), (10, 16, 1), (40, 8, 20), (20, 4, 1))
_STATE_KEYS = ("positions", "velocities", "radii", "present", "colours")


def _ball_name(colour) -> str:
    match = np.nonzero((PALETTE == np.asarray(colour)).all(axis=1))[0]
    if len(match):
        return f"the {PALETTE_NAMES[match[0]]} ball"
    return f"the ball of colour {tuple(int(c) for c in colour)}"


def check_never_bounces(never_bounces) -> Result:
    """``never_bounces()`` must return ``(clips, state)``: ``clips`` uint8 ``(N, F, H, H, 3)`` and ``state`` (a dict
    with ``positions``, ``velocities``, ``radii``, ``present`` and ``colours`` as
    :func:`ardiff_edu.data.bouncing_balls` returns them), with at least :data:`MIN_CLIPS` clips of at least
    :data:`MIN_FRAMES` frames in which every present ball moves at constant velocity (at least :data:`MIN_SPEED`
    pixels per frame), never changes direction and stays inside the frame, and whose pixels are exactly the discs the
    state describes (redrawn with the generator's own renderer)."""
    got, err = call(never_bounces)
    if err is not None:
        return err
    if not isinstance(got, tuple) or len(got) != 2:
        return failed(f"never_bounces() returned {type(got).__name__}, expected a pair (clips, state)")
    return _check_clips(*got)


def _check_clips(clips, state) -> Result:
    clips = np.asarray(clips)
    if clips.dtype != np.uint8 or clips.ndim != 5 or clips.shape[-1] != 3 or clips.shape[2] != clips.shape[3]:
        return failed(f"clips must be uint8 (N, F, H, H, 3) like bouncing_balls', got {clips.dtype} {clips.shape}")
    N, F, size = clips.shape[0], clips.shape[1], clips.shape[2]
    if N < MIN_CLIPS or F < MIN_FRAMES:
        hint = (" If you kept the clips of bouncing_balls whose velocities never flip: absent balls have NaN "
                "velocities, and NaN != NaN, so look at present balls only." if N == 0 else "")
        return failed(f"got {N} clips of {F} frames; make at least {MIN_CLIPS} clips of at least {MIN_FRAMES} "
                      f"frames.{hint}")
    if not isinstance(state, dict) or any(k not in state for k in _STATE_KEYS):
        return failed(f"state must be a dict with the keys {list(_STATE_KEYS)} (bouncing_balls(..., "
                      f"return_state=True) returns one); got {sorted(state) if isinstance(state, dict) else state!r}")
    pos, vel = np.asarray(state["positions"], np.float64), np.asarray(state["velocities"], np.float64)
    radii, present = np.asarray(state["radii"], np.float64), np.asarray(state["present"], bool)
    colours = np.asarray(state["colours"])
    B = present.shape[1] if present.ndim == 2 else -1
    shapes = {"positions": (N, F, B, 2), "velocities": (N, F, B, 2), "radii": (N, B), "present": (N, B),
              "colours": (N, B, 3)}
    for key, shape in shapes.items():
        if np.shape(state[key]) != shape:
            return failed(f"state['{key}'] has shape {np.shape(state[key])}, expected {shape} for {N} clips of {F} "
                          f"frames with up to {B} balls")
    for n, b in zip(*np.nonzero(present)):
        name = f"clip {n}, {_ball_name(colours[n, b])}"
        p, v, r = pos[n, :, b], vel[n, :, b], radii[n, b]
        if not (np.isfinite(p).all() and np.isfinite(v).all()):
            return failed(f"{name}: its position or velocity holds NaN, yet it is marked present")
        flips = (np.sign(v[1:]) != np.sign(v[:-1])) & (v[1:] != 0) & (v[:-1] != 0)
        if flips.any():
            f, axis = (int(i) for i in np.argwhere(flips)[0])
            return failed(f"{name}: its {'xy'[axis]} velocity changes sign between frames {f} and {f + 1}: it bounces "
                          f"off a wall")
        speed = float(np.linalg.norm(v[0]))
        if speed < MIN_SPEED:
            return failed(f"{name} moves {speed:.2f} pixels per frame; make every ball move at least {MIN_SPEED}")
        if not np.allclose(p[1:] - p[:-1], v[1:], atol=1e-3):
            f = int(np.argmax(np.abs(p[1:] - p[:-1] - v[1:]).max(axis=1) > 1e-3))
            return failed(f"{name}: between frames {f} and {f + 1} it moves by {np.round(p[f + 1] - p[f], 3).tolist()}"
                          f", but its velocity says {np.round(v[f + 1], 3).tolist()}")
        outside = (p - r < -1e-4) | (p + r > size + 1e-4)
        if outside.any():
            f = int(np.argmax(outside.any(axis=1)))
            return failed(f"{name} (radius {r:.2f}) pokes out of the {size}x{size} frame at frame {f}, centre "
                          f"{np.round(p[f], 2).tolist()}")
    redrawn = render_discs(np.nan_to_num(pos).astype(np.float32), radii.astype(np.float32),
                           colours.astype(np.uint8), present, size)
    diff = np.abs(redrawn.astype(np.int16) - clips.astype(np.int16)).max(axis=(2, 3, 4))
    if diff.max() > 1:
        n, f = (int(i) for i in np.argwhere(diff > 1)[0])
        return failed(f"clip {n}, frame {f}: the pixels are not the balls the state describes (redrawing the state "
                      f"differs by up to {int(diff[n, f])}); keep the clips and their state together")
    balls = int(present.sum())
    return passed(f"{N} clips, {balls} balls: constant velocity, no bounce, inside the frame, pixels = ground truth")


def check_cut_clips(cut_clips) -> Result:
    """``cut_clips(video uint8 (L, H, W, 3), num_frames, stride)`` must return ``(starts, clips)``: the start frames
    ``0, stride, 2·stride, ...`` of every clip of ``num_frames`` consecutive frames that fits in the video, and the
    clips ``(n, num_frames, H, W, 3)`` (``n = 0`` when the video is too short), for every case of :data:`CUT_CASES`."""
    video = bouncing_balls(1, num_frames=max(c[0] for c in CUT_CASES), size=16, seed=7)[0]
    for length, F, stride in CUT_CASES:
        where = f"a video of {length} frames, num_frames={F}, stride={stride}"
        want = clip_starts(length, F, stride)
        got, err = call(cut_clips, video[:length].copy(), F, stride, case=where)
        if err is not None:
            return err
        if not isinstance(got, tuple) or len(got) != 2:
            return failed(f"{where}: returned {type(got).__name__}, expected a pair (starts, clips)")
        starts, clips = got
        starts = [int(s) for s in np.asarray(starts).reshape(-1)]
        if starts != want:
            hint = ""
            if starts and starts[-1] + F > length:
                hint = f" The clip starting at {starts[-1]} would need frames up to {starts[-1] + F - 1}."
            elif len(starts) < len(want) and starts == want[:len(starts)]:
                hint = (f" The clip starting at {want[len(starts)]} ends at frame {want[len(starts)] + F - 1} and "
                        f"still fits (the last frame is {length - 1}).")
            return failed(f"{where}: starts {starts}, expected {want}.{hint}")
        clips = np.asarray(clips)
        if len(want) == 0:
            if clips.size:
                return failed(f"{where}: no clip fits, but it returned clips of shape {clips.shape}")
            continue
        expected = np.stack([video[s:s + F] for s in want])
        if clips.shape != expected.shape:
            return failed(f"{where}: clips have shape {clips.shape}, expected {expected.shape}")
        if not np.array_equal(clips, expected):
            i = int(np.argmax((clips != expected).reshape(len(want), -1).any(axis=1)))
            return failed(f"{where}: clip {i} (start {want[i]}) is not frames {want[i]}..{want[i] + F - 1} of the "
                          f"video")
    return passed(f"starts and clips right for all {len(CUT_CASES)} (length, num_frames, stride) cases, "
                  f"too-short videos included")
