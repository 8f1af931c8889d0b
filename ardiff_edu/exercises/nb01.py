"""Checkers for the exercises of notebook 01 (asynchronous noising).

* :func:`check_q_sample` — ``my_q_sample(x0, t, eps)``: the per-frame forward process for clips of any trailing shape,
  compared with :func:`ardiff_edu.noise.q_sample`.
* :func:`check_half_signal` — ``half_signal_t(betas)``: the first timestep at which a frame holds less signal than
  noise (SNR < 1), computed from the β schedule alone.
"""

from __future__ import annotations

import numpy as np
import torch

from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.noise import NoiseSchedule, cosine_betas, linear_betas, q_sample

__all__ = ["HALF_SIGNAL_CASES", "Q_SAMPLE_SHAPES", "check_half_signal", "check_q_sample", "half_signal_truth"]

#: Clip shapes ``(B, F, ...)`` the q_sample checker tries, in this order: pixels, latents, one number per frame.
Q_SAMPLE_SHAPES = ((2, 5, 3, 4, 4), (1, 8, 16, 8), (3, 4))
#: ``(name, betas)`` cases of the half-signal checker, in this order.
HALF_SIGNAL_CASES = (("linear, T=1000", lambda: linear_betas(1000)), ("cosine, T=1000", lambda: cosine_betas(1000)),
                     ("linear, T=200", lambda: linear_betas(200)),
                     ("linear 0.00085 -> 0.012, T=1000", lambda: linear_betas(1000, 0.00085, 0.012)))


def _case(shape, seed):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(shape, generator=g) * 2 - 1
    t = torch.randint(1000, shape[:2], generator=g)
    t[0, 0] = 0                                          # the cleanest and the noisiest level are always in
    t[-1, -1] = 999
    eps = torch.randn(shape, generator=g)
    return x0, t, eps


def check_q_sample(my_q_sample) -> Result:
    """``my_q_sample(x0 (B, F, ...), t (B, F) int64, eps like x0)`` must equal ``ardiff_edu.noise.q_sample`` (the
    official linear schedule, T = 1000) within 1e-5, for every shape of :data:`Q_SAMPLE_SHAPES`."""
    ns = NoiseSchedule()
    for seed, shape in enumerate(Q_SAMPLE_SHAPES):
        x0, t, eps = _case(shape, seed)
        expected = q_sample(x0, t, eps)
        got, err = call(my_q_sample, x0.clone(), t.clone(), eps.clone(), case=f"on a clip of shape {shape}")
        if err is not None:
            return err
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != shape:
            what = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            hint = (" Reshape ᾱ[t] to (B, F) followed by one 1 per trailing dimension of the clip "
                    "(x0.ndim - 2 of them)." if isinstance(got, torch.Tensor) else "")
            return failed(f"for a clip of shape {shape} it returned {what}, expected a tensor of the clip's "
                          f"shape.{hint}")
        close = torch.isclose(got.double(), expected.double(), atol=1e-5, rtol=0)
        if close.all():
            continue
        b, f = (int(i) for i in (~close).reshape(*shape[:2], -1).any(-1).nonzero()[0])
        tf = int(t[b, f])
        hint = ""
        shared = q_sample(x0, t[:, :1].expand_as(t), eps)
        abar = ns.alphas_cumprod[t].reshape(*t.shape, *([1] * (len(shape) - 2)))
        swapped = ((1 - abar).sqrt() * x0 + abar.sqrt() * eps).float()
        if torch.allclose(got, shared, atol=1e-5):
            hint = " It equals the clip noised with frame 0's timestep everywhere: use t[b, f] for frame f."
        elif torch.allclose(got, swapped, atol=1e-5):
            hint = " The weights are swapped: the clean frame gets √ᾱ_t, the noise √(1 − ᾱ_t)."
        return failed(f"clip of shape {shape}: differs first at clip {b}, frame {f} (t = {tf}), whose values "
                      f"should start {[round(v, 4) for v in expected[b, f].flatten()[:3].tolist()]}, not "
                      f"{[round(v, 4) for v in got[b, f].flatten()[:3].tolist()]}.{hint}")
    return passed(f"equals ardiff_edu.noise.q_sample for clips of shape {', '.join(map(str, Q_SAMPLE_SHAPES))}")


def half_signal_truth(betas) -> int:
    """The first ``t`` with ``SNR_t = ᾱ_t / (1 − ᾱ_t) < 1`` for a float64 β schedule (the checker's answer)."""
    abar = np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))
    return int(np.argmax(abar < 0.5))


def check_half_signal(half_signal_t) -> Result:
    """``half_signal_t(betas)`` (a float64 numpy array ``[T]``) must return the first timestep ``t`` (an int) at which
    the signal-to-noise ratio ``ᾱ_t / (1 − ᾱ_t)`` drops below 1, for every case of :data:`HALF_SIGNAL_CASES`."""
    answers = []
    for name, make in HALF_SIGNAL_CASES:
        betas = make().numpy()
        abar = np.cumprod(1.0 - betas)
        snr = abar / (1.0 - abar)
        want = half_signal_truth(betas)
        got, err = call(half_signal_t, betas.copy(), case=name)
        if err is not None:
            return err
        if isinstance(got, torch.Tensor):
            got = got.numpy()
        if isinstance(got, np.ndarray) and got.size == 1 and np.issubdtype(got.dtype, np.integer):
            got = int(got.reshape(()))                          # a one-element integer array is fine
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            return failed(f"{name}: returned {got!r} ({type(got).__name__}), expected an integer timestep")
        got = int(got)
        if got == want:
            answers.append(f"{name.split(',')[0]} {want}")
            continue
        if not 0 <= got < len(betas):
            return failed(f"{name}: returned t = {got}, outside [0, {len(betas) - 1}]")
        if got == want - 1:
            return failed(f"{name}: at t = {got} the SNR is still {snr[got]:.3f} >= 1; the first t below 1 is one "
                          f"step later")
        side = "still at least 1" if snr[got] >= 1 else "but it was already below 1 at an earlier t"
        return failed(f"{name}: returned t = {got}, where ᾱ_t = {abar[got]:.4f} and SNR = {snr[got]:.3f} ({side}); "
                      f"ᾱ_t is the running product of (1 − β) up to and including t")
    return passed(f"first t with SNR < 1: {'; '.join(answers)}")
