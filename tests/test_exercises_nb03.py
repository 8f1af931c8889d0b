"""Checkers of notebook 03's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import math

from ardiff_edu.exercises.nb03 import (
    check_next_row,
    check_pyramid_nfe,
    check_smallest_safe_s,
    smallest_safe_s_by_search,
)


def test_pyramid_nfe_checker():
    assert check_pyramid_nfe(lambda F, S, u: S + int((F - 1) * u))
    r = check_pyramid_nfe(lambda F, S, u: S + round((F - 1) * u))
    assert not r and "u=0.5" in r.message and "truncates" in r.message
    assert "frame F-1" in check_pyramid_nfe(lambda F, S, u: S + int(F * u)).message
    assert "expected an integer" in check_pyramid_nfe(lambda F, S, u: float(S)).message


def next_row(prev, S, s):
    new = []
    for f, k in enumerate(prev):
        cand = k + 1 if f == 0 or prev[f - 1] == S else new[f - 1] - s
        new.append(min(max(cand, 0), S))
    return new


def test_next_row_checker():
    assert check_next_row(next_row)

    def waits_for_nothing(prev, S, s):                 # forgets that a finished predecessor frees the frame
        new = []
        for f, k in enumerate(prev):
            new.append(min(max(k + 1 if f == 0 else new[f - 1] - s, 0), S))
        return new

    def uses_the_old_row(prev, S, s):                  # s behind the predecessor's *previous* index
        return [min(max(k + 1 if f == 0 or prev[f - 1] == S else prev[f - 1] - s, 0), S) for f, k in enumerate(prev)]

    r = check_next_row(waits_for_nothing)
    assert not r and "F=4, S=5, s=1" in r.message and "next row is [5, 5, 4, 3]" in r.message
    r = check_next_row(uses_the_old_row)
    assert not r and "from [1, 0, 0, 0] the next row is [2, 1, 0, 0]" in r.message
    assert "expected a list" in check_next_row(lambda prev, S, s: None).message


def test_smallest_safe_s_checker():
    assert smallest_safe_s_by_search(128, 50, 16) == 4 and smallest_safe_s_by_search(8, 7, 8) == 0
    assert check_smallest_safe_s(smallest_safe_s_by_search)
    assert check_smallest_safe_s(lambda F, S, W: 0 if F <= W else math.ceil(S / W))
    r = check_smallest_safe_s(lambda F, S, W: math.ceil(S / W))
    assert not r and "fit in the window" in r.message
    r = check_smallest_safe_s(lambda F, S, W: 0 if F <= W else S // W)
    assert not r and "F=6, S=5, window=4" in r.message and "frame 0 misses 1 of its 5" in r.message
    r = check_smallest_safe_s(lambda F, S, W: 0 if F <= W else S // W + 1)             # wrong when W divides S
    assert not r and "F=30, S=12, window=4" in r.message and "already drops nothing" in r.message
