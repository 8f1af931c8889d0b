"""The two training objectives (notebook 07): the tokenizer's reconstruction loss and AR-Diffusion's per-frame loss.

One DiT training step, as the official code takes it (``p_losses`` in ``src/ardiff/modules/diffusion.py`` of
iva-mzsun/AR-Diffusion, commit 7a37b94): clean latents ``z0 (B, F, L, C)``, per-frame timesteps ``t (B, F)``,
per-frame noising ``z_t = √ᾱ_t · z0 + √(1 − ᾱ_t) · ε``, the DiT's prediction, and the squared error averaged over
tokens and channels: a loss **per frame** ``(B, F)``. Class-conditional runs drop labels to the null label first.

**A weight on the low noise levels** (an experiment, not the paper or its code). An x0-predictor's squared error is
small where the noise is small, so the plain loss spends little of its gradient on the last, low-noise steps that
place a ball to a fraction of a pixel. ``snr_weight = γ > 0`` multiplies each frame's loss by ``1 + min(SNR_t, γ)``,
``SNR_t = ᾱ_t / (1 − ᾱ_t)``: the plain loss plus the Min-SNR-γ loss of Hang et al. ("Efficient Diffusion Training via
Min-SNR Weighting Strategy", 2023), so the high noise levels keep their full weight and the low ones get up to
``1 + γ`` times as much.
"""

from __future__ import annotations

import torch

from ardiff_edu.noise import NoiseSchedule

__all__ = ["foreground_weight", "tokenizer_loss", "snr_weight", "dit_loss", "drop_labels"]


def foreground_weight(frames: torch.Tensor, fg_weight: float) -> torch.Tensor:
    """``(N, 1, H, W)``: ``fg_weight`` on pixels that are not black in some channel, 1 elsewhere."""
    return 1 + (fg_weight - 1) * (frames > -0.95).any(dim=1, keepdim=True).float()


def tokenizer_loss(model, frames: torch.Tensor, fg_weight: float) -> tuple[torch.Tensor, float]:
    """Reconstruction MSE, weighted ``fg_weight``× on non-black pixels; returns ``(loss, plain MSE)``."""
    recon = model(frames).float()
    se = (recon - frames) ** 2
    return (foreground_weight(frames, fg_weight) * se).mean(), se.mean().item()


def snr_weight(t: torch.Tensor, schedule: NoiseSchedule, gamma: float) -> torch.Tensor:
    """The weight ``1 + min(SNR_t, γ)`` of every entry of ``t`` (float32, ``t``'s shape); all ones for ``γ = 0``."""
    return (1.0 + schedule.snr[t.cpu()].clamp(max=gamma)).float()    # $1 + \min(\mathrm{SNR}_t, \gamma)$


def dit_loss(model, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: NoiseSchedule,
             labels: torch.Tensor | None = None, prediction: str = "x0", snr_gamma: float = 0.0) -> torch.Tensor:
    """The per-frame loss ``(B, F)``: noise every frame to its own ``t``, predict, squared error per frame (times
    :func:`snr_weight` when ``snr_gamma > 0``)."""
    # $z_t = \sqrt{\bar\alpha_t}\,z_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$
    zt = schedule.q_sample(z0, t, noise=noise)
    pred = model(zt, t.to(z0.device), labels)
    target = schedule.target(prediction, z0, noise, t)
    per_frame = ((pred.float() - target) ** 2).mean(dim=(2, 3))   # $\ell_f = \frac{1}{LC}\sum_{l,c} (\hat z - z)^2$
    if snr_gamma:
        per_frame = per_frame * snr_weight(t, schedule, snr_gamma).to(per_frame.device)
    return per_frame


def drop_labels(labels: torch.Tensor, p: float, null_label: int, generator: torch.Generator) -> torch.Tensor:
    """Replace each label by ``null_label`` with probability ``p`` (a uniform draw ``u < p``)."""
    drop = (torch.rand(labels.shape, generator=generator) < p).to(labels.device)
    return torch.where(drop, torch.full_like(labels, null_label), labels)
