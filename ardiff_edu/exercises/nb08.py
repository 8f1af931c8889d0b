"""Checkers for the exercises of notebook 08 (sampling).

* :func:`check_nfe` — ``my_nfe(F, S, s, K)``: the network calls of the AD sampler over ``F`` frames (``K`` of them
  given) without a sliding window, compared with the schedule of :func:`ardiff_edu.ad.ad_schedule`.
* :func:`check_keep_step` — ``keep_step(x, x0_hat, k, update, coef)``: one DDIM step per frame that moves the updated
  frames and leaves every other frame bit-for-bit unchanged, compared with :func:`ardiff_edu.ddim.ddim_step`.
* :func:`check_cooled_noise` — ``cooled_noise(noise, tau)``: the starting noise of a lower temperature, every frame
  after the first scaled by ``tau`` (what :func:`ardiff_edu.ddim.sample`'s ``temperature`` starts from).
"""

from __future__ import annotations

import torch

from ardiff_edu.ad import ad_schedule, step_template
from ardiff_edu.ddim import ddim_coefficients, ddim_step
from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.noise import NoiseSchedule

__all__ = ["NFE_CASES", "check_nfe", "check_keep_step", "keep_step_cases", "check_cooled_noise"]

#: ``(F, S, s, K)`` cases of :func:`check_nfe`, in this order.
NFE_CASES = ((16, 50, 0, 0), (16, 50, 1, 0), (16, 50, 5, 0), (16, 50, 50, 0), (1, 10, 3, 0), (8, 10, 2, 3),
             (16, 20, 4, 15), (128, 50, 4, 0))


def check_nfe(my_nfe) -> Result:
    """``my_nfe(F, S, s, K)`` must equal the number of iterations of ``ad_schedule(F, S, s, prefix_frames=K)`` (one
    network call each) for every case of :data:`NFE_CASES`."""
    for F, S, s, K in NFE_CASES:
        truth = ad_schedule(F, S, s, prefix_frames=K).nfe
        got, err = call(my_nfe, F, S, s, K, case=f"for F={F}, S={S}, s={s}, K={K}")
        if err is not None:
            return err
        if got != truth:
            hint = ""
            if got == S + (F - K) * s:
                hint = " The head frame needs S calls; each of the other F - K - 1 frames adds s."
            elif got == S + (F - 1) * s and K:
                hint = " Given frames cost nothing: the staircase runs over the F - K generated frames only."
            elif got == F * S:
                hint = " That is frame-by-frame sampling without overlap; frames in a staircase share calls."
            return failed(f"for F={F}, S={S}, s={s}, K={K}: the schedule has {truth} iterations, got {got}.{hint}")
    return passed(f"matches the AD schedule's call count in {len(NFE_CASES)} cases (given frames included)")


def keep_step_cases():
    """``(x, x0_hat, k, update, coef)`` cases: float32 and float64 latents, every step index, random updates."""
    g = torch.Generator().manual_seed(0)
    abar = NoiseSchedule().alphas_cumprod
    cases = []
    for S, dtype in ((5, torch.float32), (10, torch.float64), (50, torch.float32)):
        coef = ddim_coefficients(step_template(S), abar)
        F = S + 1
        x = torch.randn(2, F, 3, 2, generator=g, dtype=dtype)
        x0_hat = torch.randn(2, F, 3, 2, generator=g, dtype=dtype)
        k = torch.randperm(S + 1, generator=g)                          # every step index once
        update = torch.rand(F, generator=g) < 0.5
        update[k == S] = False                                          # a finished frame (k = S) is never updated
        update[k == 0] = False                                          # nor an untouched one (k = 0)
        update[((k > 0) & (k < S)).nonzero()[0, 0]] = True               # at least one updated frame
        cases.append((x, x0_hat, k, update, coef))
    return cases


def check_keep_step(keep_step) -> Result:
    """``keep_step(x (B, F, L, C), x0_hat, k (F,), update (F,) bool, coef)`` must return the DDIM step
    ``c_x[k]·x + c_x0[k]·x̂0`` on the frames with ``update`` True and exactly ``x`` everywhere else (finished frames
    included), without modifying its inputs."""
    for n, (x, x0_hat, k, update, coef) in enumerate(keep_step_cases()):
        S = len(coef["c_x"]) - 1
        before = (x.clone(), x0_hat.clone())
        got, err = call(keep_step, x, x0_hat, k, update, coef, case=f"on case {n} (S={S})")
        if err is not None:
            return err
        if not (torch.equal(x, before[0]) and torch.equal(x0_hat, before[1])):
            return failed("it modified x or x0_hat in place: return a new tensor (the sampler still needs x)")
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            what = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return failed(f"on case {n} it returned {what}, expected a tensor of shape {tuple(x.shape)}")
        moved = ddim_step(x, x0_hat, k, coef)
        for f in range(x.shape[1]):
            kf = int(k[f])
            if bool(update[f]):
                if not torch.allclose(got[:, f], moved[:, f], atol=1e-6, rtol=1e-5):
                    return failed(f"case {n} (S={S}), frame {f} (k={kf}, updated): expected the DDIM step "
                                  f"c_x[k]·x + c_x0[k]·x̂0 with k = {kf}; it differs")
            elif not torch.equal(got[:, f], x[:, f]):
                what = "finished (k = S)" if kf == S else "untouched (k = 0)" if kf == 0 else f"not updated (k={kf})"
                hint = ""
                if torch.allclose(got[:, f], ddim_step(x, x, k, coef)[:, f]):
                    hint = (" It equals the step with x̂0 := x, the official keep: apply the mask to the result, "
                            "x_new = where(update, step, x).")
                elif torch.allclose(got[:, f], moved[:, f]):
                    hint = " It took the DDIM step anyway: only frames with update True may change."
                return failed(f"case {n} (S={S}), frame {f} is {what} and must stay bit-for-bit unchanged, but it "
                              f"changed by {float((got[:, f] - x[:, f]).abs().max()):.2e}.{hint}")
    return passed("updated frames take the DDIM step; every other frame is left bit-for-bit unchanged")


def check_cooled_noise(cooled_noise) -> Result:
    """``cooled_noise(noise (B, F, L, C), tau)`` must return ``noise`` with frames ``1 .. F-1`` multiplied by ``tau``
    and frame 0 unchanged, as a new tensor (``noise`` itself untouched), for one-frame and longer videos."""
    g = torch.Generator().manual_seed(0)
    for shape, tau in (((2, 6, 3, 2), 0.8), ((1, 16, 4, 8), 0.5), ((3, 1, 2, 2), 0.7), ((2, 4, 3, 2), 1.0),
                       ((2, 5, 3, 2), 1.5)):
        noise = torch.randn(shape, generator=g)
        before = noise.clone()
        case = f"for noise of shape {shape} and tau={tau}"
        got, err = call(cooled_noise, noise, tau, case=case)
        if err is not None:
            return err
        if not torch.equal(noise, before):
            return failed(f"{case}: it modified noise in place: return a new tensor (the caller keeps its noise)")
        if not isinstance(got, torch.Tensor) or got.shape != noise.shape:
            what = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return failed(f"{case}: it returned {what}, expected a tensor of shape {tuple(noise.shape)}")
        expected = noise.clone()
        expected[:, 1:] *= tau
        if not torch.allclose(got, expected, rtol=1e-6, atol=0):
            hint = ""
            if torch.allclose(got, noise * tau):
                hint = " It scaled frame 0 too: frame 0 keeps its noise (it has no history to lean on)."
            elif tau != 1 and torch.allclose(got[:, 1:], noise[:, 1:] / tau):
                hint = " It divided by tau: a lower temperature multiplies the noise by tau < 1."
            elif shape[1] > 1 and torch.allclose(got[:, :-1], noise[:, :-1] * tau):
                hint = " It scaled every frame but the last: scale frames 1 .. F-1 (noise[:, 1:])."
            return failed(f"{case}: expected frame 0 unchanged and frames 1 .. F-1 times tau; it differs.{hint}")
    return passed("frames after the first are scaled by tau, frame 0 and the caller's noise are left as they are")
