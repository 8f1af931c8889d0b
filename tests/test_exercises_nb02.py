"""Checkers of notebook 02's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import math

import numpy as np

from ardiff_edu.exercises.nb02 import check_count, check_fill_before


def count_by_table(T, F):
    column = [1] * T                        # S[t, F-1] = 1
    for _ in range(F - 1):
        total, new = 0, [0] * T
        for t in range(T - 1, -1, -1):      # S[t, f] = S[t+1, f] + S[t, f+1]
            total += column[t]
            new[t] = total
        column = new
    return sum(column)


def test_count_checker():
    r = check_count(count_by_table)
    assert r and "5.386e+34" in r.message

    def float_table(T, F):
        col = np.ones(T)
        for _ in range(F - 1):
            col = np.cumsum(col[::-1])[::-1]
        return float(col.sum())

    def int64_table(T, F):
        col = np.ones(T, dtype=np.int64)
        for _ in range(F - 1):
            col = np.cumsum(col[::-1])[::-1]
        return col.sum()

    assert "Python ints" in check_count(float_table).message
    assert "int64 overflows" in check_count(int64_table).message
    r = check_count(lambda T, F: T**F)
    assert not r and "T=5, F=3" in r.message and "T^F" in r.message
    assert "Off by one" in check_count(lambda T, F: math.comb(T + F - 2, F)).message
    assert "NotImplementedError" in check_count(lambda T, F: (_ for _ in ()).throw(NotImplementedError)).message


def fill_before(t, anchor, E, rng):
    for f in range(anchor - 1, -1, -1):
        w = E[: t[f + 1] + 1, f]
        t[f] = int(rng.choice(len(w), p=w / w.sum()))
    return t


def test_backward_pass_checker():
    assert check_fill_before(fill_before)

    def uniform_weights(t, anchor, E, rng):
        for f in range(anchor - 1, -1, -1):
            t[f] = int(rng.integers(t[f + 1] + 1))
        return t

    def ignores_order(t, anchor, E, rng):
        for f in range(anchor):
            t[f] = int(rng.integers(t[anchor] + 1))
        return t

    def touches_the_anchor(t, anchor, E, rng):
        fill_before(t, anchor, E, rng)
        t[anchor] = 0
        return t

    r = check_fill_before(uniform_weights)
    assert not r and "standard errors" in r.message and "E[k, f]" in r.message
    assert "never noisier" in check_fill_before(ignores_order).message
    assert "only the frames before the anchor" in check_fill_before(touches_the_anchor).message
    assert "returned None" in check_fill_before(lambda t, anchor, E, rng: None).message
