"""Pixel comparisons with a reference video, and bootstrap confidence intervals over videos (notebook 09).

Video prediction has a right answer: given the first frames of a simulated clip, the simulator knows the rest. These
functions compare a predicted clip with the true one **frame by frame**, so that the error can be plotted against
the horizon (how far past the given frames):

* :func:`psnr`: ``10·log10(255² / MSE)`` in dB per frame (higher is better; identical frames give 100 dB, where
  the MSE is floored);
* :func:`ssim`: the structural similarity of Wang et al. (2004) per frame: local means, variances and covariance
  under a Gaussian window (σ = 1.5 px), ``C1 = (0.01·255)²``, ``C2 = (0.03·255)²``, borders reflected, averaged over
  the whole frame and the three channels (1 = identical);
* :func:`mae`: the mean absolute difference in units of 1/255 (what notebook 08 prints);
* :func:`frame_difference`: how much a clip changes from one frame to the next (no reference needed): a motion
  measure, zero for a frozen clip.

Every number we report is a mean over videos, and every mean gets a **bootstrap 95 % confidence interval**: draw the
videos again with replacement (:func:`bootstrap_indices`, the same draws for every row, so rows stay comparable),
recompute the statistic, and take the 2.5 % and 97.5 % quantiles of the recomputed values (:func:`percentile_ci`).
"""

from __future__ import annotations

import warnings

import numpy as np

from ardiff_edu.utils import check_float, check_int

__all__ = ["PSNR_MAX", "psnr", "ssim", "mae", "frame_difference", "bootstrap_indices", "bootstrap_counts",
           "percentile_ci", "mean_ci"]

#: PSNR of identical frames (the MSE is floored at ``255² · 10^-10``).
PSNR_MAX = 100.0


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != np.uint8 or b.dtype != np.uint8 or a.shape != b.shape or a.ndim != 5 or a.shape[-1] != 3:
        raise ValueError(f"expected two uint8 arrays of the same shape (N, F, H, W, 3), got {a.dtype} {a.shape} "
                         f"and {b.dtype} {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def mae(a, b) -> np.ndarray:
    """Mean absolute pixel difference per clip and frame ``(N, F)``, in units of 1/255."""
    a, b = _pair(a, b)
    return np.abs(a - b).mean(axis=(2, 3, 4))


def psnr(a, b) -> np.ndarray:
    """Peak signal-to-noise ratio per clip and frame ``(N, F)`` in dB, peak 255."""
    a, b = _pair(a, b)
    mse = ((a - b) ** 2).mean(axis=(2, 3, 4))
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 255.0 ** 2 * 10 ** (-PSNR_MAX / 10)))


def ssim(a, b, sigma: float = 1.5) -> np.ndarray:
    """Structural similarity per clip and frame ``(N, F)`` (see the module docstring for the constants)."""
    from scipy.ndimage import gaussian_filter

    a, b = _pair(a, b)
    sigma = check_float("sigma", sigma, 0.0, low_open=True)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    def blur(x):
        return gaussian_filter(x, sigma=(0, 0, sigma, sigma, 0), mode="reflect", truncate=3.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    # $\mathrm{SSIM} = \frac{(2\mu_a\mu_b + C_1)(2\sigma_{ab} + C_2)}
    #                   {(\mu_a^2 + \mu_b^2 + C_1)(\sigma_a^2 + \sigma_b^2 + C_2)}$, per pixel, then the mean
    local = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return local.mean(axis=(2, 3, 4))


def frame_difference(videos) -> np.ndarray:
    """Mean absolute difference between consecutive frames per clip ``(N,)``, in units of 1/255."""
    v = np.asarray(videos)
    if v.dtype != np.uint8 or v.ndim != 5 or v.shape[1] < 2:
        raise ValueError(f"videos must be uint8 (N, F >= 2, H, W, 3), got {v.dtype} {v.shape}")
    v = v.astype(np.int16)
    return np.abs(np.diff(v, axis=1)).mean(axis=(1, 2, 3, 4))


# ----------------------------------------------------------------------------------------------------------------
# bootstrap over videos
# ----------------------------------------------------------------------------------------------------------------
def bootstrap_indices(num_videos: int, num_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """``(num_boot, num_videos)`` video indices drawn with replacement; the same ``seed`` gives the same draws."""
    n = check_int("num_videos", num_videos, 1)
    b = check_int("num_boot", num_boot, 1)
    return np.random.default_rng(check_int("seed", seed, 0)).integers(0, n, size=(b, n))


def bootstrap_counts(indices: np.ndarray) -> np.ndarray:
    """How often each video was drawn in each resample: ``(num_boot, num_videos)`` from :func:`bootstrap_indices`."""
    indices = np.asarray(indices)
    b, n = indices.shape
    counts = np.zeros((b, n))
    np.add.at(counts, (np.repeat(np.arange(b), n), indices.ravel()), 1)
    return counts


def percentile_ci(samples, level: float = 0.95) -> tuple:
    """The ``level`` percentile interval of bootstrap ``samples`` (axis 0; NaNs ignored): ``(lo, hi)``."""
    level = check_float("level", level, 0.0, 1.0, low_open=True, high_open=True)
    samples = np.asarray(samples, dtype=np.float64)
    with warnings.catch_warnings():                      # an all-NaN column (nothing measurable) gives NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(samples, [50 * (1 - level), 50 * (1 + level)], axis=0)
    return (float(lo), float(hi)) if samples.ndim == 1 else (lo, hi)


def mean_ci(values, indices=None, level: float = 0.95, seed: int = 0) -> tuple:
    """The mean over videos (axis 0) of ``values`` ``(N, ...)`` and its bootstrap interval: ``(mean, lo, hi)``
    (arrays for per-frame values). ``indices`` from :func:`bootstrap_indices` (default: 1000 draws of ``seed``)."""
    values = np.asarray(values, dtype=np.float64)
    indices = bootstrap_indices(len(values), seed=seed) if indices is None else np.asarray(indices)
    if indices.shape[1] != len(values):
        raise ValueError(f"indices draw from {indices.shape[1]} videos, but values has {len(values)}")
    lo, hi = percentile_ci(values[indices].mean(axis=1), level)
    return values.mean(axis=0), lo, hi
