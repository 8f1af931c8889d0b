"""Checkers for the exercises of notebook 09 (evaluation)."""

from __future__ import annotations

import numpy as np

from ardiff_edu.exercises import call, failed, passed
from ardiff_edu.fvd import frechet_distance
from ardiff_edu.quality import bootstrap_indices, mean_ci

__all__ = ["check_fd_diagonal", "check_bootstrap_mean_ci"]


def _cases():
    rng = np.random.default_rng(9)
    yield "equal Gaussians", np.zeros(3), np.ones(3), np.zeros(3), np.ones(3)
    yield "a shift of (3, 4)", np.zeros(2), np.ones(2), np.array([3.0, 4.0]), np.ones(2)
    yield "one dimension, variances 4 and 1", np.zeros(1), np.array([4.0]), np.zeros(1), np.array([1.0])
    yield "a zero variance", np.zeros(2), np.array([0.0, 2.0]), np.ones(2), np.array([1.0, 0.0])
    for i in range(3):
        d = int(rng.integers(2, 9))
        yield (f"random case {i} (dimension {d})", rng.normal(size=d), rng.uniform(0.01, 5, d), rng.normal(size=d),
               rng.uniform(0.01, 5, d))


def check_fd_diagonal(fd_diagonal) -> object:
    """Exercise 1: ``fd_diagonal(mu1, var1, mu2, var2)`` = the Fréchet distance between two Gaussians with diagonal
    covariances ``diag(var1)`` and ``diag(var2)``, checked against ``ardiff_edu.fvd.frechet_distance``."""
    for name, mu1, var1, mu2, var2 in _cases():
        want = frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
        got, err = call(fd_diagonal, mu1.copy(), var1.copy(), mu2.copy(), var2.copy(), case=name, convert=float)
        if err is not None:
            return err
        if not np.isclose(got, want, rtol=1e-6, atol=1e-9):
            hint = " (variances are squared standard deviations: take their square roots)" if np.isclose(
                got, ((mu1 - mu2) ** 2).sum() + ((var1 - var2) ** 2).sum()) else ""
            return failed(f"{name}: expected {want:.6g}, got {got:.6g}{hint}")
    return passed("fd_diagonal matches the general formula on 7 cases, zero variances included")


def check_bootstrap_mean_ci(bootstrap_mean_ci) -> object:
    """Exercise 2: ``bootstrap_mean_ci(values, indices)`` = ``(mean, lo, hi)``: the mean of ``values`` over videos
    and the 2.5 % / 97.5 % percentiles of the means of the resamples ``values[indices[b]]``."""
    rng = np.random.default_rng(4)
    cases = [("40 normal values", rng.normal(2.0, 1.0, 40)), ("a constant", np.full(12, 3.5)),
             ("8 skewed values", rng.exponential(1.0, 8))]
    for name, values in cases:
        idx = bootstrap_indices(len(values), 500, seed=2)
        want = mean_ci(values, idx)
        got, err = call(bootstrap_mean_ci, values.copy(), idx, case=name, convert=lambda v: tuple(map(float, v)))
        if err is not None:
            return err
        if len(got) != 3:
            return failed(f"{name}: expected (mean, lo, hi), got {len(got)} numbers")
        for label, g, w in zip(("mean", "lo", "hi"), got, want):
            if not np.isclose(g, w, rtol=1e-9, atol=1e-12):
                return failed(f"{name}: {label} should be {float(w):.6g}, got {g:.6g}")
    return passed("the interval matches ardiff_edu.quality.mean_ci on 3 cases")
