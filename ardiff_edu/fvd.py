"""The Fréchet distance between two sets of video features, and FVD with the standard I3D network (notebook 09).

**Fréchet distance.** Summarise each set of feature vectors by a Gaussian: mean ``μ`` and covariance ``Σ``. The
squared 2-Wasserstein (Fréchet) distance between two Gaussians is::

    d² = |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1·Σ2)^½)

Closed forms to check it against: identical distributions give 0; a pure translation gives ``|Δμ|²``; commuting
(e.g. diagonal) covariances give ``|Δμ|² + Σ_i (√a_i − √b_i)²`` over their eigenvalues.

**Computing the trace term stably.** ``Σ1·Σ2`` is not symmetric, and ``scipy.linalg.sqrtm`` of it returns complex
numbers with spurious imaginary parts when a covariance is (near) singular — always the case when there are fewer
videos than feature dimensions — which is why the usual implementations take the real part or add ``ε·I``. We use the
symmetric form instead: ``Σ1·Σ2`` has the same eigenvalues as ``Σ1^½·Σ2·Σ1^½``, which is symmetric positive
semi-definite, so ``tr((Σ1·Σ2)^½) = Σ_i √λ_i`` with ``λ`` from ``numpy.linalg.eigvalsh`` (clipped at 0): real by
construction, exact for singular covariances, and no ``ε`` to choose.

**FVD** (Unterthiner et al., 2018) is this distance in the features of I3D, a video classifier trained on
Kinetics-400. The file most implementations use is the TorchScript port ``i3d_torchscript.pt`` distributed with
StyleGAN-V (Skorokhodov et al., 2022), which reproduces the TF-Hub network of the original FVD code. We never download
it: pass its local path (``--i3d-weights PATH``, see ``docs/fvd.md``). Its inputs, as the PyTorch FVD codes feed it:
RGB in ``[-1, 1]``, shape ``(N, 3, F, 224, 224)`` (every frame resized bilinearly to 224 × 224), called as
``detector(x, rescale=False, resize=False, return_features=True)``, which returns the 400 pre-softmax logits per
video (the "features" of FVD). Other ports return the 1024-d pooled features instead; the dimension goes into the
protocol, and numbers from the two are not comparable. Published FVDs also fix 2048 videos, the split and the clip
length: a score on a few dozen toy clips is **not** comparable to any paper's table.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ardiff_edu.utils import check_int

__all__ = ["I3D_FILE", "I3D_SOURCE", "I3D_SIZE", "feature_stats", "frechet_distance", "fd_from_features",
           "fd_bootstrap", "load_i3d", "i3d_inputs", "i3d_features", "i3d_protocol"]

#: The TorchScript I3D file the FVD codes of StyleGAN-V and the PyTorch FVD codes derived from it load.
I3D_FILE = "i3d_torchscript.pt"
#: Where it is published (for the documentation only: this package never downloads anything).
I3D_SOURCE = "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt"
#: I3D's input resolution.
I3D_SIZE = 224


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (float64) of features ``(N, D)``, ``N >= 2``."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2 or not np.isfinite(f).all():
        raise ValueError(f"features must be a finite array (N >= 2, D), got shape {f.shape}")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def _psd(name: str, sigma: np.ndarray, dim: int) -> np.ndarray:
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.shape != (dim, dim) or not np.isfinite(sigma).all():
        raise ValueError(f"{name} must be a finite ({dim}, {dim}) covariance, got shape {sigma.shape}")
    scale = max(float(np.abs(sigma).max()), 1e-300)
    if np.abs(sigma - sigma.T).max() > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric (a covariance matrix)")
    sigma = (sigma + sigma.T) / 2
    if np.linalg.eigvalsh(sigma).min() < -1e-8 * scale:
        raise ValueError(f"{name} must be positive semi-definite (a covariance matrix); its smallest eigenvalue is "
                         f"{np.linalg.eigvalsh(sigma).min():.3g}")
    return sigma


def _clip_rank(w: np.ndarray) -> np.ndarray:
    """Eigenvalues below the numerical rank (``d · ε · max``, rounding noise of either sign) become exactly 0, so
    their square roots (≈ 1e-8 each) do not pile up."""
    return np.where(w > len(w) * np.finfo(np.float64).eps * max(float(w.max()), 0.0), w, 0.0)


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(_clip_rank(w))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """``|μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1·Σ2)^½)`` via the symmetric form (see the module docstring).

    Raises ``ValueError`` for mismatched shapes, non-finite values, or covariances that are not symmetric positive
    semi-definite (up to rounding)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    if mu1.ndim != 1 or mu1.shape != mu2.shape or not (np.isfinite(mu1).all() and np.isfinite(mu2).all()):
        raise ValueError(f"mu1 and mu2 must be finite vectors of the same length, got {mu1.shape} and {mu2.shape}")
    d = len(mu1)
    s1, s2 = _psd("sigma1", np.atleast_2d(sigma1), d), _psd("sigma2", np.atleast_2d(sigma2), d)
    root1 = _sqrt_psd(s1)
    middle = root1 @ s2 @ root1
    trace_sqrt = np.sqrt(_clip_rank(np.linalg.eigvalsh((middle + middle.T) / 2))).sum()
    # $d^2 = \lVert\mu_1-\mu_2\rVert^2 + \mathrm{tr}\,\Sigma_1 + \mathrm{tr}\,\Sigma_2$
    #       $- 2\,\mathrm{tr}(\Sigma_1\Sigma_2)^{1/2}$
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)
    return max(value, 0.0)                              # rounding can leave -1e-15 for identical inputs


def fd_from_features(a, b) -> float:
    """The Fréchet distance between the Gaussians fitted to feature sets ``a`` ``(N, D)`` and ``b`` ``(M, D)``."""
    return frechet_distance(*feature_stats(a), *feature_stats(b))


def fd_bootstrap(reference, features, indices) -> np.ndarray:
    """The distance recomputed for every resample of the videos of ``features`` (``(N, D)``, or ``(N, W, D)`` for
    ``W`` windows per video) by ``indices`` ``(B, N)`` (:func:`ardiff_edu.quality.bootstrap_indices`), the
    ``reference`` ``(M, D)`` fixed: ``(B,)``. A resample repeats videos, which shrinks its covariance, so these values
    sit slightly above the full-set distance."""
    mu_r, sigma_r = feature_stats(reference)
    features = np.asarray(features, np.float64)
    d = features.shape[-1]
    return np.array([frechet_distance(mu_r, sigma_r, *feature_stats(features[i].reshape(-1, d)))
                     for i in np.asarray(indices)])


# ----------------------------------------------------------------------------------------------------------------
# I3D: the standard FVD network, from a local file
# ----------------------------------------------------------------------------------------------------------------
def load_i3d(path, device="cpu"):
    """Load the TorchScript I3D (``i3d_torchscript.pt``) from ``path``, in eval mode. Never downloads."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--i3d-weights {str(path)!r} does not exist. FVD needs the TorchScript I3D network "
                         f"{I3D_FILE!r}: download it yourself from {I3D_SOURCE} (see docs/fvd.md) and pass its path")
    with warnings.catch_warnings():                   # TorchScript is deprecated, but it is the format of the file
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location=device).eval()


def i3d_inputs(videos, size: int = I3D_SIZE) -> torch.Tensor:
    """uint8 videos ``(N, F, H, W, 3)`` → float32 ``(N, 3, F, size, size)`` in ``[-1, 1]``, every frame resized
    bilinearly (``align_corners=False``), as the PyTorch FVD codes prepare I3D's input."""
    v = np.asarray(videos)
    if v.dtype != np.uint8 or v.ndim != 5 or v.shape[-1] != 3 or 0 in v.shape:
        raise ValueError(f"videos must be a non-empty uint8 array (N, F, H, W, 3), got {v.dtype} {v.shape}")
    size = check_int("size", size, 1)
    N, F, H, W, _ = v.shape
    x = torch.from_numpy(np.ascontiguousarray(v)).float().reshape(N * F, H, W, 3).permute(0, 3, 1, 2)
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.reshape(N, F, 3, size, size).permute(0, 2, 1, 3, 4)
    return (x / 127.5 - 1.0).clamp(-1, 1).contiguous()       # bilinear weights can round a hair above 255


@torch.no_grad()
def i3d_features(videos, detector, batch_size: int = 8, size: int = I3D_SIZE, progress: bool = False) -> np.ndarray:
    """I3D features ``(N, D)`` (float64) of uint8 videos ``(N, F, H, W, 3)``, ``batch_size`` videos per call."""
    v = np.asarray(videos)
    bs = check_int("batch_size", batch_size, 1)
    starts = range(0, len(v), bs)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="I3D features", unit="batch", leave=False)
    device = next(iter(detector.parameters()), torch.empty(0)).device
    out = []
    for start in starts:
        x = i3d_inputs(v[start:start + bs], size).to(device)
        feats = detector(x, rescale=False, resize=False, return_features=True)
        if not isinstance(feats, torch.Tensor) or feats.ndim != 2 or len(feats) != len(x):
            raise ValueError(f"the I3D network must return features (N, D) for N = {len(x)} videos, got "
                             f"{tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__}")
        out.append(feats.double().cpu().numpy())
    return np.concatenate(out)


def i3d_protocol(path, feature_dim: int, num_videos: int, num_frames: int) -> dict:
    """What an FVD number depends on, recorded beside it."""
    return {"metric": "FVD: Fréchet distance of I3D (Kinetics-400) features", "weights": Path(path).name,
            "feature_dim": int(feature_dim), "input": f"RGB in [-1, 1], (N, 3, F, {I3D_SIZE}, {I3D_SIZE}), bilinear",
            "call": "detector(x, rescale=False, resize=False, return_features=True)", "videos": int(num_videos),
            "frames": int(num_frames),
            "note": "few toy videos: not comparable to published FVD (2048 videos, 224 px footage, fixed splits)"}
