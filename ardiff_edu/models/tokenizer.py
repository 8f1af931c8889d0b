"""The frame tokenizer: one frame → ``L`` tokens × ``C`` channels, and back (notebook 05).

AR-Diffusion diffuses in a latent space. Its tokenizer (the paper's "AR-VAE") is a TiTok ViT-L that turns a
256×256 frame into 32 tokens × 4 channels (``src/vae/titok_kl.py`` of iva-mzsun/AR-Diffusion, commit 7a37b94). A
teaching edition on 2 CPU cores needs something trainable in minutes, so ours is a small convolutional autoencoder
with the same *interface*: frames in, ``(L, C)`` tokens per frame out, **no temporal mixing** (each frame is coded on
its own, so a clip's latents are a sequence of per-frame token sets).

* **Encoder**: stride-2 4×4 convolutions with SiLU in between, widths ``w, 2w, 2w, 4w`` at resolutions 32, 16, 8, 4
  (``w = 32``: 0.46 M parameters), then a 1×1 convolution to ``C`` channels. The ``g × g`` output grid, read
  row-major, is the frame's ``L = g²`` tokens (16 tokens × 8 channels per 32×32 frame: 128 numbers, as many as the
  paper's 32 × 4).
* **Decoder**: the mirror image with transposed convolutions, back to 3 × H × W in [-1, 1].

**Sub-grid tokens** (``subgrid = k``, an experiment, not the paper; default 1): the encoder stops one scale
earlier, at a ``gk × gk`` map of ``C / k²`` channels, and each token is a ``k × k`` block of that map, its cells'
channels side by side (``pixel_unshuffle``). The DiT still sees ``L = g²`` tokens of ``C`` channels, but every cell
covers ``image_size / (g·k)`` pixels, so where a ball sits inside a token is told by which cells hold it.

**Normalisation of the latents.** The official code L2-normalises every token over its channels, so each token is a
unit vector. ``l2_normalize=True`` does the same here, times the fixed length ``√C`` (per-channel RMS 1, the scale of
the diffusion noise); the decoder re-normalises its input. **Our default is ``False``**: the DiT stage standardises
every channel with the mean and std measured on the training latents (:mod:`ardiff_edu.train`), which trains well at
this scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as nnf

from ardiff_edu.utils import check_int

__all__ = ["FrameTokenizer"]

_MULTS = (1, 2, 2, 4, 4, 4, 4)


class FrameTokenizer(nn.Module):
    """Conv AE: ``encode((N, 3, H, W)) -> (N, L, C)`` and ``decode((N, L, C)) -> (N, 3, H, W)`` with ``L = grid²``.

    Frames are float in [-1, 1]. ``image_size / (grid · subgrid)`` must be a power of two >= 2.
    """

    def __init__(self, image_size: int = 32, channels: int = 3, token_dim: int = 8, width: int = 32,
                 l2_normalize: bool = False, grid: int = 4, subgrid: int = 1):
        super().__init__()
        self.image_size = check_int("image_size", image_size, 4, 1024)
        self.channels = check_int("channels", channels, 1, 16)
        self.token_dim = check_int("token_dim", token_dim, 1, 1024)
        self.width = check_int("width", width, 1, 4096)
        self.grid = check_int("grid", grid, 1, image_size // 2)
        self.subgrid = check_int("subgrid", subgrid, 1, image_size // (2 * grid))
        if token_dim % (subgrid * subgrid):
            raise ValueError(f"token_dim must be a multiple of subgrid² = {subgrid * subgrid}, got token_dim="
                             f"{token_dim}, subgrid={subgrid}")
        cells = grid * subgrid                     # the side of the encoder's output map
        ratio = image_size // cells
        if image_size % cells or ratio < 2 or ratio & (ratio - 1):
            raise ValueError(f"image_size / (grid * subgrid) must be a power of two >= 2, got image_size="
                             f"{image_size}, grid={grid}, subgrid={subgrid}")
        if not isinstance(l2_normalize, bool):
            raise ValueError(f"l2_normalize must be a bool, got {l2_normalize!r}")
        self.l2_normalize = l2_normalize
        #: the fixed length of every token when ``l2_normalize`` (``√C``: per-channel RMS 1)
        self.l2_scale = math.sqrt(token_dim)
        self.num_tokens = grid * grid
        n_down = int(math.log2(ratio))
        if n_down + 1 > len(_MULTS):
            raise ValueError(f"image_size / (grid * subgrid) must be in [2, {2 ** (len(_MULTS) - 1)}], got {ratio}")
        ch = [width * m for m in _MULTS[: n_down + 1]]
        enc = [nn.Conv2d(channels, ch[0], 3, padding=1)]
        for a, b in zip(ch[:-1], ch[1:]):
            enc += [nn.SiLU(), nn.Conv2d(a, b, 4, stride=2, padding=1)]
        cell_dim = token_dim // (subgrid * subgrid)            # channels of one cell of the output map
        enc += [nn.SiLU(), nn.Conv2d(ch[-1], cell_dim, 1)]
        dec = [nn.Conv2d(cell_dim, ch[-1], 1)]
        for a, b in zip(ch[::-1][:-1], ch[::-1][1:]):
            dec += [nn.SiLU(), nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)]
        dec += [nn.SiLU(), nn.Conv2d(ch[0], channels, 3, padding=1)]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def _norm(self, z: torch.Tensor) -> torch.Tensor:
        return nnf.normalize(z, dim=-1) * self.l2_scale if self.l2_normalize else z

    def _check(self, name: str, x, shape_tail: tuple, ndim: int) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != ndim or tuple(x.shape[-len(shape_tail):]) != shape_tail:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a tensor of shape {('…',) * (ndim - len(shape_tail)) + shape_tail}, "
                             f"got {got}")

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [-1, 1] → tokens ``(N, L, C)`` (row-major over the grid)."""
        self._check("frames", frames, (self.channels, self.image_size, self.image_size), 4)
        z = nnf.pixel_unshuffle(self.encoder(frames), self.subgrid)   # (N, C/k², gk, gk) -> (N, C, g, g)
        return self._norm(z.flatten(2).transpose(1, 2))               # (N, L, C)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L, C)`` → frames ``(N, 3, H, W)`` (not clamped)."""
        self._check("tokens", tokens, (self.num_tokens, self.token_dim), 3)
        z = self._norm(tokens).transpose(1, 2).reshape(len(tokens), self.token_dim, self.grid, self.grid)
        return self.decoder(nnf.pixel_shuffle(z, self.subgrid))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(frames))

    def encoder_state_dict(self) -> dict:
        """The weights that ``encode`` uses: what makes the latents (the decoder only reads them)."""
        return {k: v for k, v in self.state_dict().items() if k.startswith("encoder.")}

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
