"""Checkers of notebook 09's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import numpy as np

from ardiff_edu.exercises.nb09 import check_bootstrap_mean_ci, check_fd_diagonal


def right_fd_diagonal(mu1, var1, mu2, var2):
    return float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(var1) - np.sqrt(var2)) ** 2).sum())


def test_fd_diagonal_checker_accepts_the_closed_form():
    result = check_fd_diagonal(right_fd_diagonal)
    assert result and "7 cases" in repr(result)


def test_fd_diagonal_checker_names_the_mistake():
    def variances_not_stds(mu1, var1, mu2, var2):
        return float(((mu1 - mu2) ** 2).sum() + ((var1 - var2) ** 2).sum())

    def means_only(mu1, var1, mu2, var2):
        return float(((mu1 - mu2) ** 2).sum())

    def crashes(mu1, var1, mu2, var2):
        raise ZeroDivisionError("oops")

    result = check_fd_diagonal(variances_not_stds)
    assert not result and "one dimension, variances 4 and 1" in repr(result) and "square roots" in repr(result)
    result = check_fd_diagonal(means_only)
    assert not result and "one dimension" in repr(result) and "expected 1" in repr(result)
    assert "ZeroDivisionError" in repr(check_fd_diagonal(crashes))


def right_bootstrap_mean_ci(values, indices):
    means = values[indices].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return values.mean(), lo, hi


def test_bootstrap_checker_accepts_the_percentile_interval():
    assert check_bootstrap_mean_ci(right_bootstrap_mean_ci)


def test_bootstrap_checker_names_the_mistake():
    def standard_error(values, indices):                     # a normal approximation, not the bootstrap
        m, se = values.mean(), values.std(ddof=1) / np.sqrt(len(values))
        return m, m - 1.96 * se, m + 1.96 * se

    def wrong_axis(values, indices):                         # percentiles of single draws, not of resample means
        lo, hi = np.percentile(values[indices], [2.5, 97.5])
        return values.mean(), lo, hi

    result = check_bootstrap_mean_ci(standard_error)
    assert not result and "40 normal values: lo" in repr(result)
    assert not check_bootstrap_mean_ci(wrong_axis)
    assert "expected (mean, lo, hi)" in repr(check_bootstrap_mean_ci(lambda v, i: (v.mean(), 0.0)))
