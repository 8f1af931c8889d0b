"""Checkers for the exercises of notebook 02 (FoPP).

* :func:`check_count` — ``count_with_dp(T, F)``: the number of non-decreasing sequences, ``C(T+F−1, F)``, exactly.
* :func:`check_fill_before` — ``fill_before(t, anchor, E, rng)``: FoPP's backward pass, the frames before the anchor,
  checked against the exact distribution on a tiny case.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.fopp import end_counts

__all__ = ["BACKWARD_CASES", "COUNT_CASES", "check_count", "check_fill_before"]

#: ``(T, F)`` the counting checker tries, in this order (the last one is the official size).
COUNT_CASES = ((1, 1), (5, 1), (1, 5), (5, 3), (3, 5), (10, 4), (50, 50), (1000, 16))
#: The tiny case of the backward-pass checker: ``T``, ``F``, and the ``(anchor, t[anchor])`` pairs it tries.
BACKWARD_CASES = (5, 4, ((3, 2), (2, 4), (3, 0), (1, 3)))
#: Draws per anchor in the backward-pass checker; a deviation beyond ``Z_LIMIT`` standard errors fails.
DRAWS, Z_LIMIT = 2000, 5.0


def check_count(count_with_dp) -> Result:
    """``count_with_dp(T, F)`` must return ``C(T+F−1, F)`` as an exact integer, for every case of
    :data:`COUNT_CASES`."""
    for T, F in COUNT_CASES:
        want = math.comb(T + F - 1, F)
        got, err = call(count_with_dp, T, F, case=f"T={T}, F={F}")
        if err is not None:
            return err
        if isinstance(got, float) and math.isfinite(got) and got.is_integer() and int(got) != want \
                and math.isclose(got, want, rel_tol=1e-12):
            return failed(f"T={T}, F={F}: returned the float {got:.6e}, but float64 keeps 15-16 digits and the "
                          f"exact count, {want}, has {len(str(want))}. Count with Python ints, which never overflow "
                          f"or round")
        if isinstance(got, bool) or not isinstance(got, (int, np.integer, float)):
            return failed(f"T={T}, F={F}: returned {got!r} ({type(got).__name__}), expected an integer")
        if got == want:
            continue
        hint = ""
        if isinstance(got, np.integer) and got != want:
            hint = " numpy's int64 overflows past 9.2e18; Python ints never do."
        elif got == T**F:
            hint = " That is T^F, every sequence; count only the non-decreasing ones."
        elif got == math.comb(T + F - 2, F - 1) or got == math.comb(T + F - 2, F):
            hint = " Off by one frame or one timestep: check the boundary column and the range of t."
        return failed(f"T={T}, F={F}: returned {got}, but there are C(T+F-1, F) = {want} non-decreasing "
                      f"sequences.{hint}")
    return passed(f"exact for every (T, F) in {list(COUNT_CASES)}; at the official size "
                  f"C(1015, 16) = {math.comb(1015, 16):.3e}")


def check_fill_before(fill_before) -> Result:
    """``fill_before(t, anchor, E, rng)`` gets a list ``t`` of ``F`` timesteps whose entries from ``anchor`` on are set,
    the end table ``E`` (numpy ``(T, F)``) and a ``numpy.random.Generator``; it must return ``t`` with
    ``t[0..anchor-1]`` drawn backward, ``P(t_f = k) ∝ E[k, f]`` over ``k <= t[f+1]``, and the rest untouched.

    Given the anchor, every non-decreasing prefix ending at or below ``t[anchor]`` must be equally likely; the checker
    draws :data:`DRAWS` prefixes per case of :data:`BACKWARD_CASES` and compares their frequencies with that.
    """
    T, F, cases = BACKWARD_CASES
    E = end_counts(T, F).numpy()
    rng = np.random.default_rng(0)
    for anchor, t_star in cases:
        after = [t_star + min(j, T - 1 - t_star) for j in range(F - anchor)]      # frames from the anchor on
        prefixes = [p for p in itertools.product(range(t_star + 1), repeat=anchor)
                    if all(a <= b for a, b in itertools.pairwise(p))]
        counts = dict.fromkeys(prefixes, 0)
        where = f"anchor {anchor}, t[{anchor}] = {t_star} (T={T}, F={F})"
        for _ in range(DRAWS):
            t = [-1] * anchor + after
            got, err = call(fill_before, list(t), anchor, E.copy(), rng, case=where)
            if err is not None:
                return err
            if got is None:
                return failed(f"{where}: fill_before returned None; return the filled list t")
            got = [int(v) for v in np.asarray(got).reshape(-1)]
            if len(got) != F:
                return failed(f"{where}: returned {len(got)} timesteps, expected F = {F}")
            if got[anchor:] != after:
                return failed(f"{where}: frames from the anchor on changed from {after} to {got[anchor:]}; the "
                              f"backward pass fills only the frames before the anchor")
            for f in range(anchor):
                if not 0 <= got[f] <= got[f + 1]:
                    return failed(f"{where}: drew t = {got}, but t[{f}] = {got[f]} must lie in [0, t[{f + 1}] = "
                                  f"{got[f + 1]}]: an earlier frame is never noisier")
            counts[tuple(got[:anchor])] += 1
        p = 1 / len(prefixes)
        worst = max(prefixes, key=lambda q: abs(counts[q] - DRAWS * p))
        z = abs(counts[worst] - DRAWS * p) / math.sqrt(DRAWS * p * (1 - p)) if len(prefixes) > 1 else 0.0
        if z > Z_LIMIT:
            return failed(f"{where}: prefix {worst} came up {100 * counts[worst] / DRAWS:.1f} % of the time, but each "
                          f"of the {len(prefixes)} non-decreasing prefixes ending at or below {t_star} should come "
                          f"up {100 * p:.1f} % ({z:.1f} standard errors away). Weight a candidate k for frame f by "
                          f"E[k, f], the number of prefixes that reach it")
    return passed(f"{DRAWS} draws per anchor: every prefix as likely as the others, for anchors "
                  f"{[a for a, _ in cases]} (T={T}, F={F})")
