"""Checkers for the exercises of notebook 03 (the AD scheduler).

* :func:`check_pyramid_nfe` — ``pyramid_nfe(F, S, u)``: the network calls of Diffusion Forcing's pyramid schedule.
* :func:`check_next_row` — ``next_row(prev, S, s)``: one iteration of the AD rule, run from a row with or without
  given frames and compared with :func:`ardiff_edu.ad.ad_schedule` row by row.
* :func:`check_smallest_safe_s` — ``safe_s(F, S, window)``: the smallest AR step that drops no update, against a
  brute-force search over ``ad_schedule(..., overflow="drop")``.
"""

from __future__ import annotations

import numpy as np

from ardiff_edu.ad import ad_schedule
from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.staircases import pyramid

__all__ = [
    "PYRAMID_CASES",
    "ROW_CASES",
    "SAFE_CASES",
    "check_next_row",
    "check_pyramid_nfe",
    "check_smallest_safe_s",
    "smallest_safe_s_by_search",
]

#: ``(F, S, u)`` the pyramid checker tries, in this order.
PYRAMID_CASES = ((1, 5, 2.0), (4, 5, 0.0), (4, 5, 1.0), (8, 8, 2.0), (8, 8, 1.5), (16, 50, 0.5), (5, 10, 3.25),
                 (12, 20, 15 / 11), (16, 50, 50.0))
#: ``(F, S, s, K)`` the row checker runs, ``K`` given frames at the front.
ROW_CASES = ((4, 5, 1, 0), (4, 5, 2, 0), (4, 5, 0, 0), (4, 5, 5, 0), (7, 6, 2, 0), (6, 5, 2, 2), (5, 4, 4, 1),
             (9, 7, 3, 3))
#: ``(F, S, window)`` the smallest-safe-s checker tries.
SAFE_CASES = ((6, 5, 4), (128, 50, 16), (20, 10, 3), (9, 7, 8), (8, 7, 8), (40, 12, 5), (30, 12, 4), (5, 5, 10),
              (33, 50, 16))


def _as_int(value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return None
    return int(value)


def check_pyramid_nfe(pyramid_nfe) -> Result:
    """``pyramid_nfe(F, S, u)`` must return the network calls of ``staircases.pyramid(F, S, u)`` (an int) for every
    case of :data:`PYRAMID_CASES`, without building the schedule."""
    for F, S, u in PYRAMID_CASES:
        want = pyramid(F, S, uncertainty_scale=u).nfe
        got, err = call(pyramid_nfe, F, S, u, case=f"F={F}, S={S}, u={u:g}")
        if err is not None:
            return err
        value = _as_int(got)
        if value is None:
            return failed(f"F={F}, S={S}, u={u:g}: returned {got!r} ({type(got).__name__}), expected an integer "
                          f"number of calls")
        if value == want:
            continue
        hint = ""
        if value == S + round((F - 1) * u):
            hint = " Diffusion Forcing truncates with int(), it does not round."
        elif value == S + int(F * u):
            hint = " The last frame is frame F-1: it starts int((F-1)·u) iterations after frame 0."
        elif value == S * F:
            hint = " That is frame-by-frame generation; in the pyramid the frames overlap."
        return failed(f"F={F}, S={S}, u={u:g}: returned {value} calls, the schedule has {want}. The last frame "
                      f"starts when its offset int(f·u) is reached and then needs S iterations.{hint}")
    return passed(f"equals the pyramid's NFE for all {len(PYRAMID_CASES)} (F, S, u), fractional u included")


def check_next_row(next_row) -> Result:
    """``next_row(prev, S, s)`` gets the step indices after one iteration (a list of ``F`` ints, 0 = noise, ``S`` =
    finished) and must return those after the next iteration. Run from ``[S]·K + [0]·(F−K)`` until every frame is
    finished, it must reproduce ``ad_schedule(F, S, s, prefix_frames=K).step_index`` for every case of
    :data:`ROW_CASES`."""
    for F, S, s, K in ROW_CASES:
        want = ad_schedule(F, S, s, prefix_frames=K).step_index.tolist()
        where = f"F={F}, S={S}, s={s}, {K} given frame{'s' if K != 1 else ''}"
        row = [S] * K + [0] * (F - K)
        for i, expected in enumerate(want):
            got, err = call(next_row, list(row), S, s, case=f"{where}, iteration {i}")
            if err is not None:
                return err
            try:
                got = [int(v) for v in np.asarray(got).reshape(-1)]
            except (TypeError, ValueError):
                return failed(f"{where}, iteration {i}: returned {got!r}, expected a list of {F} ints")
            if got != expected:
                first = next((f for f in range(min(F, len(got))) if got[f] != expected[f]), min(F, len(got)))
                return failed(f"{where}: from {row} the next row is {expected}, got {got} (first difference at frame "
                              f"{first}). A frame advances by one when it is frame 0 or its predecessor is finished, "
                              f"otherwise it stays exactly s behind its predecessor's new index; clamp to [0, S]")
            row = got
    return passed(f"reproduces ad_schedule row by row for all {len(ROW_CASES)} (F, S, s, given frames) cases")


def smallest_safe_s_by_search(F: int, S: int, window: int) -> int:
    """The smallest ``s`` for which ``ad_schedule(F, S, s, window, overflow="drop")`` skips no update."""
    return next(s for s in range(S + 1) if not ad_schedule(F, S, s, window, overflow="drop").skipped_mask.any())


def check_smallest_safe_s(safe_s) -> Result:
    """``safe_s(F, S, window)`` must return the smallest AR step whose sliding window drops no update, for every case of
    :data:`SAFE_CASES` (found here by brute force over ``overflow="drop"`` schedules)."""
    for F, S, W in SAFE_CASES:
        want = smallest_safe_s_by_search(F, S, W)
        where = f"F={F}, S={S}, window={W}"
        got, err = call(safe_s, F, S, W, case=where)
        if err is not None:
            return err
        value = _as_int(got)
        if value is None:
            return failed(f"{where}: returned {got!r} ({type(got).__name__}), expected an integer s")
        if value == want:
            continue
        if not 0 <= value <= S:
            return failed(f"{where}: returned s = {value}, outside [0, S = {S}]")
        if F <= W:
            return failed(f"{where}: returned s = {value}, but all {F} frames fit in the window, so no frame ever "
                          f"leaves it and every s is safe, s = 0 included")
        if value < want:
            sched = ad_schedule(F, S, value, W, overflow="drop")
            frame = int(np.argmax(sched.skipped_mask.any(0)))
            lost = int(S - sched.updates_per_frame[frame])
            return failed(f"{where}: with s = {value} the window still drops updates (frame {frame} misses {lost} of "
                          f"its {S}); try a larger s")
        return failed(f"{where}: returned s = {value}, but s = {want} already drops nothing; look for the smallest")
    return passed(f"the smallest safe s for all {len(SAFE_CASES)} (F, S, window) cases")
