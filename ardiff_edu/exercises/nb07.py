"""Checkers for the exercises of notebook 07 (training).

* :func:`check_mean_timestep` — ``mean_timestep(kind, num_frames, num_timesteps)``: the average training timestep of
  every frame index under a timestep sampler, compared with the exact marginals of :mod:`ardiff_edu.fopp`.
* :func:`check_accumulated_grads` — ``accumulated_grads(model, z0, t, eps, schedule, parts)``: the gradient of the
  batch's mean per-frame loss, accumulated over ``parts`` micro-batches, compared with one full-batch backward pass.
* :func:`check_ema_initial_weight` — ``ema_initial_weight(n, decay)``: how much of the initial weights is left in the
  EMA after ``n`` updates (with the warm-up), compared with :func:`ardiff_edu.train.ema_update` itself.
"""

from __future__ import annotations

import numpy as np
import torch

from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.fopp import exact_marginals
from ardiff_edu.models import DiT
from ardiff_edu.noise import NoiseSchedule
from ardiff_edu.train import dit_loss, ema_update

__all__ = ["MEAN_TIMESTEP_CASES", "EMA_CASES", "check_mean_timestep", "check_accumulated_grads",
           "check_ema_initial_weight", "mean_timestep_truth", "ema_initial_weight_truth"]

#: ``(kind, num_frames, num_timesteps)`` cases of :func:`check_mean_timestep`, in this order.
MEAN_TIMESTEP_CASES = (("fopp", 16, 1000), ("independent", 16, 1000), ("full_sequence", 8, 1000), ("fopp", 8, 100))
#: ``(n, decay)`` cases of :func:`check_ema_initial_weight`, in this order.
EMA_CASES = ((0, 0.999), (1, 0.999), (2, 0.999), (10, 0.999), (100, 0.999), (1000, 0.999), (5000, 0.999),
             (1000, 0.9999), (20000, 0.9999))


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: the mean training timestep of every frame index
# ----------------------------------------------------------------------------------------------------------------
def mean_timestep_truth(kind: str, num_frames: int, num_timesteps: int) -> np.ndarray:
    """``E[t_f]`` for every frame ``f``, exactly (float64 ``(F,)``)."""
    return exact_marginals(kind, num_frames, num_timesteps) @ np.arange(num_timesteps, dtype=np.float64)


def check_mean_timestep(mean_timestep) -> Result:
    """``mean_timestep(kind, F, T)`` must return ``F`` numbers within 2 % of ``T`` of the exact ``E[t_f]`` (estimates
    from sampled timesteps pass when they use enough clips), for every case of :data:`MEAN_TIMESTEP_CASES`."""
    for kind, F, T in MEAN_TIMESTEP_CASES:
        truth = mean_timestep_truth(kind, F, T)
        got, err = call(mean_timestep, kind, F, T, case=f"for kind={kind!r}, F={F}, T={T}")
        if err is not None:
            return err
        try:
            got = np.asarray(got.detach().cpu() if isinstance(got, torch.Tensor) else got, dtype=np.float64)
        except (TypeError, ValueError):
            return failed(f"for kind={kind!r}, F={F}, T={T} it returned {type(got).__name__}, expected {F} numbers")
        if got.shape != (F,):
            hint = (" It looks like one mean per clip: average over the clips (dim 0), keep the frames."
                    if got.ndim == 1 else "")
            return failed(f"for kind={kind!r}, F={F}, T={T} it returned shape {got.shape}, expected ({F},): one mean "
                          f"timestep per frame index.{hint}")
        bad = np.nonzero(np.abs(got - truth) > 0.02 * T)[0]
        if len(bad):
            f = int(bad[0])
            hint = ""
            if np.allclose(got, truth[::-1], atol=0.02 * T):
                hint = " The order is reversed: frame 0 is the cleanest under a non-decreasing sampler."
            return failed(f"for kind={kind!r}, F={F}, T={T}, frame {f}: E[t_{f}] is {truth[f]:.1f}, got {got[f]:.1f} "
                          f"(allowed error {0.02 * T:.0f}).{hint}")
    return passed(f"the mean timestep per frame matches the exact marginals for {len(MEAN_TIMESTEP_CASES)} cases "
                  f"(FoPP rises along the clip; independent and full-sequence are flat at (T - 1) / 2)")


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: gradient accumulation
# ----------------------------------------------------------------------------------------------------------------
def _accumulation_case(seed: int):
    torch.manual_seed(seed)
    model = DiT(4, 4, max_frames=6, width=16, depth=1, heads=2)
    for p in model.parameters():            # a fresh DiT outputs exactly 0 (adaLN-Zero): give it some weights
        torch.nn.init.normal_(p, std=0.2)
    g = torch.Generator().manual_seed(seed)
    z0 = torch.randn(8, 6, 4, 4, generator=g)
    t = torch.randint(1000, (8, 6), generator=g).sort(dim=1).values
    eps = torch.randn(z0.shape, generator=g)
    return model, z0, t, eps


def check_accumulated_grads(accumulated_grads) -> Result:
    """``accumulated_grads(model, z0, t, eps, schedule, parts)`` must leave in every ``p.grad`` the gradient of the
    mean per-frame loss of the whole batch (as one backward pass gives it), within 1e-5 relative, for 2 and 4
    micro-batches. The checker clears the gradients before each call."""
    schedule = NoiseSchedule()
    for parts in (2, 4):
        model, z0, t, eps = _accumulation_case(parts)
        dit_loss(model, z0, t, eps, schedule).mean().backward()
        want = [p.grad.clone() for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        _, err = call(accumulated_grads, model, z0, t, eps, schedule, parts, case=f"with parts={parts}")
        if err is not None:
            return err
        names = [n for n, _ in model.named_parameters()]
        for name, p, w in zip(names, model.parameters(), want):
            if p.grad is None:
                return failed(f"with parts={parts}: {name}.grad is None: call backward() on each micro-batch's loss")
            scale = float(w.abs().max()) or 1.0
            if not torch.allclose(p.grad, w, atol=1e-5 * scale, rtol=1e-4):
                ratio = float((p.grad * w).sum() / (w * w).sum()) if float((w * w).sum()) else float("nan")
                hint = ""
                if abs(ratio - parts) < 0.05 * parts:
                    hint = (f" They are {parts} times too large: each micro-batch's loss is a mean over its own "
                            f"clips, so divide it by the number of micro-batches ({parts}) before backward().")
                elif abs(ratio - 1 / parts) < 0.05 / parts:
                    hint = f" They are {parts} times too small: divide by the number of micro-batches once, not twice."
                return failed(f"with parts={parts}: the gradient of {name} differs from the full-batch gradient "
                              f"(ratio {ratio:.3f}).{hint}")
    return passed("the accumulated gradients equal one full-batch backward pass, for 2 and 4 micro-batches")


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: what is left of the initial weights in the EMA
# ----------------------------------------------------------------------------------------------------------------
def ema_initial_weight_truth(n: int, decay: float) -> float:
    """The package's EMA, run ``n`` updates on one weight that starts at 1 and is 0 in the model: its value."""
    ema, model = torch.nn.Linear(1, 1, bias=False).double(), torch.nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        ema.weight.fill_(1.0)
        model.weight.fill_(0.0)
    for step in range(n):
        ema_update(ema, model, step, decay)
    return float(ema.weight.detach())


def check_ema_initial_weight(ema_initial_weight) -> Result:
    """``ema_initial_weight(n, decay)`` must equal the weight of the initial model in the EMA after ``n`` updates of
    :func:`ardiff_edu.train.ema_update` (its warm-up included), within 1e-6 relative, for every case of
    :data:`EMA_CASES`."""
    for n, decay in EMA_CASES:
        truth = ema_initial_weight_truth(n, decay)
        got, err = call(ema_initial_weight, n, decay, case=f"for n={n}, decay={decay}")
        if err is not None:
            return err
        try:
            got = float(got)
        except (TypeError, ValueError):
            return failed(f"for n={n}, decay={decay} it returned {type(got).__name__}, expected a number")
        if not abs(got - truth) <= 1e-6 * max(abs(truth), 1e-300) + 1e-300:
            hint = ""
            if n and abs(got - decay ** n) <= 1e-9 * decay ** n:
                hint = (" That is decay ** n, the EMA without its warm-up: update k uses min((1 + k) / (10 + k), "
                        "decay), counting k from 0.")
            return failed(f"for n={n}, decay={decay}: expected {truth:.6g}, got {got:.6g}.{hint}")
    return passed(f"matches ardiff_edu.train.ema_update for {len(EMA_CASES)} cases (n up to 20000, decay 0.999 and "
                  f"0.9999)")
