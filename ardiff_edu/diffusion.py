"""The forward (noising) process of AR-Diffusion: β schedules, ᾱ, and per-frame noising.

A clip ``x0`` is ``(B, F, ...)`` and its timesteps ``t`` are ``(B, F)`` integers: **every frame is noised at its own
level** (paper notes §1.1). The coefficients are gathered per frame from float64 tables, cast to the clip's dtype and
broadcast over the trailing dimensions (pixels, or tokens × channels)::

    x_t[b, f] = sqrt(ᾱ[t[b, f]]) · x0[b, f] + sqrt(1 − ᾱ[t[b, f]]) · ε[b, f]

The same per-frame gather gives the conversions between the three things a network may predict: the clean clip
``x0``, the noise ``ε`` and the velocity ``v = sqrt(ᾱ)·ε − sqrt(1−ᾱ)·x0``.

AR-Diffusion's final configs use LDM's "linear" schedule with ``linear_start=1e-4``, ``linear_end=0.02`` and
``T = 1000``: ᾱ_0 = 0.9999 and ᾱ_999 ≈ 7.33e-4 (the terminal SNR is small but not zero).
"""

from __future__ import annotations

import math

import torch

from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["KINDS", "linear_betas", "cosine_betas", "NoiseSchedule", "default_schedule", "q_sample"]

#: The β schedules :class:`NoiseSchedule` knows.
KINDS = ("linear", "cosine")


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
        self.kind = check_choice("kind", kind, KINDS)
        if kind == "linear":
            betas = linear_betas(self.T, linear_start, linear_end)
        else:
            betas = cosine_betas(self.T)
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

    # ------------------------------------------------------------------------------------------------------------
    # the per-frame gather
    # ------------------------------------------------------------------------------------------------------------
    def check_timesteps(self, t, like: torch.Tensor) -> torch.Tensor:
        """Return ``t`` as an int64 tensor after checking it is integer, ``(B, F)`` = ``like.shape[:2]``, in range."""
        if not isinstance(like, torch.Tensor) or like.ndim < 2:
            shape = tuple(like.shape) if isinstance(like, torch.Tensor) else type(like).__name__
            raise ValueError(f"the clip must be a tensor of shape (B, F, ...) with at least 2 dims, got {shape}")
        if not like.is_floating_point():
            raise ValueError(f"the clip must be a floating-point tensor, got dtype {like.dtype}")
        t = torch.as_tensor(t)
        if t.dtype == torch.bool or t.is_floating_point() or t.is_complex():
            raise ValueError(f"t must hold integers in [0, {self.T - 1}], got dtype {t.dtype}")
        if tuple(t.shape) != tuple(like.shape[:2]):
            raise ValueError(f"t must have shape (B, F) = {tuple(like.shape[:2])} (the clip's first two dims), "
                             f"got {tuple(t.shape)}")
        if t.numel():
            lo, hi = int(t.min()), int(t.max())
            if lo < 0 or hi > self.T - 1:
                bad = lo if lo < 0 else hi
                raise ValueError(f"t must be in [0, {self.T - 1}], got {bad}")
        return t.long()

    def _coef(self, table: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``table[t]`` shaped ``(B, F, 1, ..., 1)`` to broadcast over ``like``'s trailing dims.

        Gathered from the float64 table, then cast to ``like``'s dtype (and device)."""
        c = table[t.cpu()].to(device=like.device, dtype=like.dtype)
        return c.reshape(*t.shape, *([1] * (like.ndim - 2)))

    def _ab(self, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-frame ``(√ᾱ_t, √(1−ᾱ_t))``, each ``(B, F, 1, ..., 1)`` in ``like``'s dtype."""
        return (self._coef(self.sqrt_alphas_cumprod, t, like),
                self._coef(self.sqrt_one_minus_alphas_cumprod, t, like))

    def _check_same_shape(self, name: str, value, like: torch.Tensor) -> None:
        if not isinstance(value, torch.Tensor) or value.shape != like.shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{name} must be a tensor of the clip's shape {tuple(like.shape)}, got {shape}")

    # ------------------------------------------------------------------------------------------------------------
    # forward process and conversions
    # ------------------------------------------------------------------------------------------------------------
    def q_sample(self, x0: torch.Tensor, t, noise: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Noise every frame of ``x0`` to its own timestep; ``noise=None`` draws ε ~ N(0, I) with ``generator``."""
        t = self.check_timesteps(t, x0)
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        self._check_same_shape("noise", noise, x0)
        a, b = self._ab(t, x0)
        # $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$  (one $t$ per frame)
        return a * x0 + b * noise

    def x0_from_eps(self, x_t: torch.Tensor, t, eps: torch.Tensor) -> torch.Tensor:
        """The clean clip implied by a noise prediction."""
        t = self.check_timesteps(t, x_t)
        self._check_same_shape("eps", eps, x_t)
        a, b = self._ab(t, x_t)
        # $x_0 = \big(x_t - \sqrt{1-\bar\alpha_t}\,\epsilon\big) / \sqrt{\bar\alpha_t}$
        return (x_t - b * eps) / a

    def eps_from_x0(self, x_t: torch.Tensor, t, x0: torch.Tensor) -> torch.Tensor:
        """The noise implied by a clean-clip prediction (what DDIM needs from an x0-predicting network)."""
        t = self.check_timesteps(t, x_t)
        self._check_same_shape("x0", x0, x_t)
        a, b = self._ab(t, x_t)
        # $\epsilon = \big(x_t - \sqrt{\bar\alpha_t}\,x_0\big) / \sqrt{1-\bar\alpha_t}$
        return (x_t - a * x0) / b

    def v_from_x0_eps(self, x0: torch.Tensor, eps: torch.Tensor, t) -> torch.Tensor:
        """The velocity target of v-prediction."""
        t = self.check_timesteps(t, x0)
        self._check_same_shape("eps", eps, x0)
        a, b = self._ab(t, x0)
        # $v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1-\bar\alpha_t}\,x_0$
        return a * eps - b * x0

    def x0_from_v(self, x_t: torch.Tensor, t, v: torch.Tensor) -> torch.Tensor:
        """The clean clip implied by a velocity prediction."""
        t = self.check_timesteps(t, x_t)
        self._check_same_shape("v", v, x_t)
        a, b = self._ab(t, x_t)
        # $x_0 = \sqrt{\bar\alpha_t}\,x_t - \sqrt{1-\bar\alpha_t}\,v$
        return a * x_t - b * v

    def eps_from_v(self, x_t: torch.Tensor, t, v: torch.Tensor) -> torch.Tensor:
        """The noise implied by a velocity prediction."""
        t = self.check_timesteps(t, x_t)
        self._check_same_shape("v", v, x_t)
        a, b = self._ab(t, x_t)
        # $\epsilon = \sqrt{1-\bar\alpha_t}\,x_t + \sqrt{\bar\alpha_t}\,v$
        return b * x_t + a * v


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
