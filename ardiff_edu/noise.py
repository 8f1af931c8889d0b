"""Asynchronous per-frame noising: the forward process of AR-Diffusion (notebook 01).

A clip ``x0`` is ``(B, F, ...)`` and its timesteps ``t`` are ``(B, F)`` integers in ``[0, T-1]``: **every frame is
noised to its own level**, with its own Gaussian noise::

    x_t[b, f] = sqrt(ᾱ[t[b, f]]) · x0[b, f] + sqrt(1 − ᾱ[t[b, f]]) · ε[b, f]

ᾱ is the cumulative product of ``1 − β`` over a β schedule. AR-Diffusion's final configs use LDM's "linear"
schedule (``linear_start = 1e-4``, ``linear_end = 0.02``, ``T = 1000``; official code:
``src/ardiff/modules/utils.py`` and the ``configs/*/ardiff/*.yaml`` files of iva-mzsun/AR-Diffusion at 7a37b94):
ᾱ_0 = 0.9999 and ᾱ_999 ≈ 7.3e-4, so even the noisiest level keeps a little signal.

The same per-frame gather converts between the three things a network may predict: the clean clip ``x0``, the noise
``ε`` and the velocity ``v = sqrt(ᾱ)·ε − sqrt(1−ᾱ)·x0`` (the sampler in :mod:`ardiff_edu.ddim` uses them).

Checks live at the public entry (:meth:`NoiseSchedule.q_sample`); the conversions are the sampler's inner calls and
trust their inputs.
"""

from __future__ import annotations

import math

import torch

from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["BETA_SCHEDULES", "PREDICTIONS", "linear_betas", "cosine_betas", "NoiseSchedule", "default_schedule",
           "q_sample"]

#: The β schedules :class:`NoiseSchedule` knows.
BETA_SCHEDULES = ("linear", "cosine")
#: What a network may predict (the training target and the sampler's conversion depend on it).
PREDICTIONS = ("x0", "eps", "v")


def linear_betas(T: int = 1000, linear_start: float = 1e-4, linear_end: float = 0.02) -> torch.Tensor:
    """LDM's "linear" schedule, float64 ``[T]``: linear in √β, not in β."""
    T = check_int("T", T, 1)
    linear_start = check_float("linear_start", linear_start, 0, 1, low_open=True, high_open=True)
    linear_end = check_float("linear_end", linear_end, 0, 1, low_open=True, high_open=True)
    if linear_end < linear_start:
        raise ValueError(f"linear_end must be >= linear_start={linear_start}, got {linear_end}")
    # $\beta_t = \Big(\sqrt{\beta_{start}} + \tfrac{t}{T-1}\big(\sqrt{\beta_{end}} - \sqrt{\beta_{start}}\big)\Big)^2$
    return torch.linspace(math.sqrt(linear_start), math.sqrt(linear_end), T, dtype=torch.float64) ** 2


def cosine_betas(T: int = 1000, offset: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal's cosine schedule, float64 ``[T]`` (β clipped to ``max_beta`` near the noisy end)."""
    T = check_int("T", T, 1)
    offset = check_float("offset", offset, 0, 1, low_open=True, high_open=True)
    max_beta = check_float("max_beta", max_beta, 0, 1, low_open=True, high_open=True)
    u = torch.arange(T + 1, dtype=torch.float64) / T
    # $f(u) = \cos^2\!\Big(\frac{u + o}{1 + o}\cdot\frac{\pi}{2}\Big)$, $\quad \bar\alpha(u) = f(u) / f(0)$
    f = torch.cos((u + offset) / (1 + offset) * math.pi / 2) ** 2
    abar = f / f[0]
    # $\beta_t = \min\big(1 - \bar\alpha(\tfrac{t+1}{T}) / \bar\alpha(\tfrac{t}{T}),\ \beta_{max}\big)$
    return (1 - abar[1:] / abar[:-1]).clamp(0.0, max_beta)


class NoiseSchedule:
    """β, ᾱ and the per-frame forward process for ``T`` training timesteps.

    Attributes (float64 tensors of shape ``[T]``): ``betas``, ``alphas`` (1 − β), ``alphas_cumprod`` (ᾱ),
    ``sqrt_alphas_cumprod``, ``sqrt_one_minus_alphas_cumprod`` and ``snr`` (ᾱ / (1 − ᾱ)).

    Every method takes a clip ``(B, F, ...)`` and integer timesteps ``t`` of shape ``(B, F)``; the result has the
    clip's shape and dtype.
    """

    def __init__(self, T: int = 1000, kind: str = "linear", linear_start: float = 1e-4, linear_end: float = 0.02):
        self.T = check_int("T", T, 1)
        self.kind = check_choice("kind", kind, BETA_SCHEDULES)
        betas = linear_betas(self.T, linear_start, linear_end) if kind == "linear" else cosine_betas(self.T)
        self.betas = betas
        # $\alpha_t = 1 - \beta_t$
        self.alphas = 1.0 - betas
        # $\bar\alpha_t = \prod_{s=0}^{t} \alpha_s$  (float64: the product of 1000 factors)
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.sqrt_alphas_cumprod = self.alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - self.alphas_cumprod).sqrt()
        # $\mathrm{SNR}_t = \bar\alpha_t / (1 - \bar\alpha_t)$
        self.snr = self.alphas_cumprod / (1.0 - self.alphas_cumprod)

    def __repr__(self) -> str:
        return f"NoiseSchedule(T={self.T}, kind={self.kind!r})"

    # -- the per-frame gather ----------------------------------------------------------------------------------
    def coefficients(self, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-frame ``(√ᾱ_t, √(1−ᾱ_t))``, each ``(B, F, 1, ..., 1)`` in ``like``'s dtype and device.

        Gathered from the float64 tables, then cast, so that every frame gets its own coefficient."""
        t = t.cpu()
        shape = (*t.shape, *([1] * (like.ndim - t.ndim)))
        a = self.sqrt_alphas_cumprod[t].to(device=like.device, dtype=like.dtype).reshape(shape)
        b = self.sqrt_one_minus_alphas_cumprod[t].to(device=like.device, dtype=like.dtype).reshape(shape)
        return a, b

    # -- the forward process -----------------------------------------------------------------------------------
    def q_sample(self, x0: torch.Tensor, t, noise: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Noise every frame of ``x0`` to its own timestep; ``noise=None`` draws ε ~ N(0, I) with ``generator``."""
        t = self.check_timesteps(t, x0)
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        if not isinstance(noise, torch.Tensor) or noise.shape != x0.shape:
            shape = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
            raise ValueError(f"noise must be a tensor of the clip's shape {tuple(x0.shape)}, got {shape}")
        a, b = self.coefficients(t, x0)
        # $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$  (one $t$ per frame)
        return a * x0 + b * noise

    def check_timesteps(self, t, like: torch.Tensor) -> torch.Tensor:
        """``t`` as int64 after checking it is integer, ``(B, F)`` = ``like.shape[:2]`` and within ``[0, T-1]``."""
        if not isinstance(like, torch.Tensor) or like.ndim < 2 or not like.is_floating_point():
            shape = (tuple(like.shape), like.dtype) if isinstance(like, torch.Tensor) else type(like).__name__
            raise ValueError(f"the clip must be a floating-point tensor of shape (B, F, ...), got {shape}")
        t = torch.as_tensor(t)
        if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
            raise ValueError(f"t must hold integers in [0, {self.T - 1}], got dtype {t.dtype}")
        if tuple(t.shape) != tuple(like.shape[:2]):
            raise ValueError(f"t must have shape (B, F) = {tuple(like.shape[:2])} (the clip's first two dims), "
                             f"got {tuple(t.shape)}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) > self.T - 1):
            bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
            raise ValueError(f"t must be in [0, {self.T - 1}], got {bad}")
        return t.long()

    # -- conversions between x0, eps and v (the sampler's inner calls: no checks) --------------------------------
    def x0_from_eps(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """The clean clip implied by a noise prediction."""
        a, b = self.coefficients(t, x_t)
        # $x_0 = \big(x_t - \sqrt{1-\bar\alpha_t}\,\epsilon\big) / \sqrt{\bar\alpha_t}$
        return (x_t - b * eps) / a

    def eps_from_x0(self, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """The noise implied by a clean-clip prediction."""
        a, b = self.coefficients(t, x_t)
        # $\epsilon = \big(x_t - \sqrt{\bar\alpha_t}\,x_0\big) / \sqrt{1-\bar\alpha_t}$
        return (x_t - a * x0) / b

    def v_from_x0_eps(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The velocity target of v-prediction."""
        a, b = self.coefficients(t, x0)
        # $v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1-\bar\alpha_t}\,x_0$
        return a * eps - b * x0

    def x0_from_v(self, x_t: torch.Tensor, t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The clean clip implied by a velocity prediction."""
        a, b = self.coefficients(t, x_t)
        # $x_0 = \sqrt{\bar\alpha_t}\,x_t - \sqrt{1-\bar\alpha_t}\,v$
        return a * x_t - b * v

    def x0_from_prediction(self, prediction: str, x_t: torch.Tensor, t: torch.Tensor,
                           out: torch.Tensor) -> torch.Tensor:
        """The clean clip implied by a network output that predicts ``prediction`` (one of :data:`PREDICTIONS`)."""
        if prediction == "x0":
            return out
        return self.x0_from_eps(x_t, t, out) if prediction == "eps" else self.x0_from_v(x_t, t, out)

    def target(self, prediction: str, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What a network predicting ``prediction`` is trained to output for the noised clip of ``(x0, eps, t)``."""
        if prediction == "x0":
            return x0
        return eps if prediction == "eps" else self.v_from_x0_eps(x0, eps, t)


_DEFAULT: NoiseSchedule | None = None


def default_schedule() -> NoiseSchedule:
    """The paper's schedule (linear, 1e-4 → 0.02, T = 1000), built once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = NoiseSchedule()
    return _DEFAULT


def q_sample(x0: torch.Tensor, t, noise: torch.Tensor | None = None, schedule: NoiseSchedule | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-frame forward noising with ``schedule`` (default: the paper's linear schedule, T = 1000)."""
    schedule = default_schedule() if schedule is None else schedule
    return schedule.q_sample(x0, t, noise, generator=generator)
