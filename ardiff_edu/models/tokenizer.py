"""A per-frame convolutional autoencoder: one 32×32 frame → a 4×4 grid of ``L = 16`` tokens × ``C`` channels.

The paper's tokenizer ("AR-VAE", notes §4.1) is a TiTok ViT-L turning a 256×256 frame into 32 tokens × 4 channels.
A teaching edition on 2 CPU cores needs something trainable in minutes, so we use a small conv AE with the same
*interface*: frames in, ``(L, C)`` tokens per frame out, no temporal mixing (each frame is coded on its own).

Widths ``w, 2w, 2w, 4w`` at resolutions 32, 16, 8, 4 (``w = 32`` by default, 0.46 M parameters); every
down/up-sampling step is a stride-2 4×4 (transposed) convolution with SiLU in between (residual blocks made a training
step 10× slower on 2 CPU cores and the shipped file bigger, for little gain on these toy frames).

**Normalisation of the latents.** The paper L2-normalises every token over its channels (notes §4.3), so each token is a
unit vector (per-channel RMS ``1/√C``; the official ``scale_factor = 0.5`` cancels). ``l2_normalize=True`` does the
same here, then multiplies by the fixed scale ``√C`` (:attr:`FrameTokenizer.l2_scale`) so that every channel has RMS 1,
the scale of the diffusion noise. The decoder re-normalises its input, so the scale cancels there too.
**Our default is ``False``**: the training stage of the DiT instead standardises every channel with the
mean/std measured on the training latents (``train.py``), which is what the CPU probe used and works well at this scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ardiff_edu.utils import check_int

__all__ = ["FrameTokenizer"]

_MULTS = (1, 2, 2, 4, 4, 4, 4)


class FrameTokenizer(nn.Module):
    """Conv AE: ``encode((N, 3, H, W)) -> (N, L, C)`` and ``decode((N, L, C)) -> (N, 3, H, W)`` with ``L = grid²``.

    Frames are float in [-1, 1]. ``image_size / grid`` must be a power of two >= 2.
    """

    def __init__(self, image_size: int = 32, channels: int = 3, token_dim: int = 8, width: int = 32,
                 l2_normalize: bool = False, grid: int = 4):
        super().__init__()
        self.image_size = check_int("image_size", image_size, 4, 1024)
        self.channels = check_int("channels", channels, 1, 16)
        self.token_dim = check_int("token_dim", token_dim, 1, 1024)
        self.width = check_int("width", width, 1, 4096)
        self.grid = check_int("grid", grid, 1, image_size // 2)
        ratio = image_size // grid
        if image_size % grid or ratio < 2 or ratio & (ratio - 1):
            raise ValueError(f"image_size / grid must be a power of two >= 2, got image_size={image_size}, "
                             f"grid={grid}")
        if not isinstance(l2_normalize, bool):
            raise ValueError(f"l2_normalize must be a bool, got {l2_normalize!r}")
        self.l2_normalize = l2_normalize
        #: the fixed length of every token when ``l2_normalize`` (``√C``: per-channel RMS 1)
        self.l2_scale = math.sqrt(token_dim)
        self.num_tokens = grid * grid
        n_down = int(math.log2(ratio))
        if n_down + 1 > len(_MULTS):
            raise ValueError(f"image_size / grid must be in [2, {2 ** (len(_MULTS) - 1)}], got {ratio}")
        ch = [width * m for m in _MULTS[: n_down + 1]]
        enc = [nn.Conv2d(channels, ch[0], 3, padding=1)]
        for a, b in zip(ch[:-1], ch[1:]):
            enc += [nn.SiLU(), nn.Conv2d(a, b, 4, stride=2, padding=1)]
        enc += [nn.SiLU(), nn.Conv2d(ch[-1], token_dim, 1)]
        dec = [nn.Conv2d(token_dim, ch[-1], 1)]
        for a, b in zip(ch[::-1][:-1], ch[::-1][1:]):
            dec += [nn.SiLU(), nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)]
        dec += [nn.SiLU(), nn.Conv2d(ch[0], channels, 3, padding=1)]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def _norm(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=-1) * self.l2_scale if self.l2_normalize else z

    def _check(self, name: str, x, shape_tail: tuple, ndim: int) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != ndim or tuple(x.shape[-len(shape_tail):]) != shape_tail:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a tensor of shape {('…',) * (ndim - len(shape_tail)) + shape_tail}, "
                             f"got {got}")

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [-1, 1] → tokens ``(N, L, C)`` (row-major over the grid)."""
        self._check("frames", frames, (self.channels, self.image_size, self.image_size), 4)
        z = self.encoder(frames)                                  # (N, C, g, g)
        return self._norm(z.flatten(2).transpose(1, 2))           # (N, L, C)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L, C)`` → frames ``(N, 3, H, W)`` (not clamped)."""
        self._check("tokens", tokens, (self.num_tokens, self.token_dim), 3)
        z = self._norm(tokens).transpose(1, 2).reshape(len(tokens), self.token_dim, self.grid, self.grid)
        return self.decoder(z)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(frames))

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """``(B, F, 3, H, W)`` → ``(B, F, L, C)``, frame by frame."""
        self._check("video", video, (self.channels, self.image_size, self.image_size), 5)
        B, Fr = video.shape[:2]
        return self.encode(video.flatten(0, 1)).unflatten(0, (B, Fr))

    def decode_video(self, latents: torch.Tensor) -> torch.Tensor:
        """``(B, F, L, C)`` → ``(B, F, 3, H, W)``, frame by frame."""
        self._check("latents", latents, (self.num_tokens, self.token_dim), 4)
        B, Fr = latents.shape[:2]
        return self.decode(latents.flatten(0, 1)).unflatten(0, (B, Fr))
