"""The two training objectives (notebook 07): the tokenizer's reconstruction loss and AR-Diffusion's per-frame loss.

One DiT training step, as the official code takes it (``p_losses`` in ``src/ardiff/modules/diffusion.py`` of
iva-mzsun/AR-Diffusion, commit 7a37b94): clean latents ``z0 (B, F, L, C)``, per-frame timesteps ``t (B, F)``,
per-frame noising ``z_t = √ᾱ_t · z0 + √(1 − ᾱ_t) · ε``, the DiT's prediction, and the squared error averaged over
tokens and channels: a loss **per frame** ``(B, F)``. Class-conditional runs drop labels to the null label first.
"""

from __future__ import annotations

import torch

from ardiff_edu.noise import NoiseSchedule

__all__ = ["foreground_weight", "tokenizer_loss", "dit_loss", "drop_labels"]


def foreground_weight(frames: torch.Tensor, fg_weight: float) -> torch.Tensor:
    """``(N, 1, H, W)``: ``fg_weight`` on pixels that are not black in some channel, 1 elsewhere."""
    return 1 + (fg_weight - 1) * (frames > -0.95).any(dim=1, keepdim=True).float()


def tokenizer_loss(model, frames: torch.Tensor, fg_weight: float) -> tuple[torch.Tensor, float]:
    """Reconstruction MSE, weighted ``fg_weight``× on non-black pixels; returns ``(loss, plain MSE)``."""
    recon = model(frames).float()
    se = (recon - frames) ** 2
    return (foreground_weight(frames, fg_weight) * se).mean(), se.mean().item()


def dit_loss(model, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: NoiseSchedule,
             labels: torch.Tensor | None = None, prediction: str = "x0") -> torch.Tensor:
    """The per-frame loss ``(B, F)``: noise every frame to its own ``t``, predict, squared error per frame."""
    # $z_t = \sqrt{\bar\alpha_t}\,z_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$
    zt = schedule.q_sample(z0, t, noise=noise)
    pred = model(zt, t.to(z0.device), labels)
    target = schedule.target(prediction, z0, noise, t)
    return ((pred.float() - target) ** 2).mean(dim=(2, 3))   # $\ell_f = \frac{1}{LC}\sum_{l,c} (\hat z - z)^2$


def drop_labels(labels: torch.Tensor, p: float, null_label: int, generator: torch.Generator) -> torch.Tensor:
    """Replace each label by ``null_label`` with probability ``p`` (a uniform draw ``u < p``)."""
    drop = (torch.rand(labels.shape, generator=generator) < p).to(labels.device)
    return torch.where(drop, torch.full_like(labels, null_label), labels)
