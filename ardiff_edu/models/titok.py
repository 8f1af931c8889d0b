"""A TiTok-style 1-D tokenizer: a ViT whose ``L`` learned latent tokens carry the whole frame (notebook 10).

The paper's tokenizer at 256×256 is a TiTok ViT-L/16 (``src/vae/titok_kl.py`` of iva-mzsun/AR-Diffusion, commit
7a37b94). It does not map patches to tokens one to one: it appends ``L = 32`` learned *latent* tokens to the
``(H/P)²`` patch tokens of a frame, runs a transformer over all of them, and keeps only the latent tokens' outputs.
The frame is thus squeezed into a 1-D sequence of ``L`` tokens of ``C`` channels (32 × 4 = 128 numbers for a
256×256×3 frame), with no grid behind them. Decoding runs the same kind of transformer the other way: ``(H/P)²`` copies
of a learned *mask* token, one per patch, plus the ``L`` tokens, and reads the pixels off the patch positions.

* **Encoder**: ``P×P`` patches → ``Linear`` (a stride-``P`` convolution) → width ``D``, learned positions; ``L``
  latent tokens with their own learned positions; ``depth`` pre-norm transformer blocks; the latent tokens' outputs →
  LayerNorm → ``Linear(D → C)``.
* **Decoder**: tokens → ``Linear(C → D)`` + positions; mask tokens + positions; ``depth`` blocks; the patch tokens'
  outputs → LayerNorm → ``Linear(D → 3·P²)`` → the frame.
* Each frame is coded on its own (no temporal mixing), like :class:`ardiff_edu.models.FrameTokenizer`, and the
  interface is the same: ``encode``, ``decode``, ``encode_video``, ``decode_video``, ``num_tokens``, ``token_dim``.

``width=1024, depth=24, heads=16, patch=16`` is ViT-L/16 on both sides (about 0.6 B parameters); the size is free.
**Paper vs code:** the official model also has a class token, a KL head (weight 0), a MaskGIT-VQGAN pixel decoder
behind its transformer and an L1 + LPIPS + GAN loss, and starts from the public TiTok-L-32 weights; ours reads the
pixels off with one linear layer, trains from scratch on the plain MSE, and has no class token.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ardiff_edu.models.dit import attend
from ardiff_edu.utils import check_float, check_int

__all__ = ["ViTBlock", "TiTokTokenizer"]


class ViTBlock(nn.Module):
    """A pre-norm transformer block with full (unmasked) fused attention: ``x + Attn(LN(x))``, ``+ MLP(LN(·))``."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        x = x + self.proj(attend(q, k, v, None).transpose(1, 2).reshape(B, N, D))
        return x + self.mlp(self.norm2(x))


class TiTokTokenizer(nn.Module):
    """ViT tokenizer: ``encode((N, 3, H, W)) -> (N, L, C)`` and ``decode((N, L, C)) -> (N, 3, H, W)``.

    Frames are float in [-1, 1]. ``l2_normalize=True`` (the official choice) makes every token a vector of length
    ``√C`` (per-channel RMS 1); the decoder re-normalises what it is given.
    """

    def __init__(self, image_size: int = 256, token_dim: int = 4, num_tokens: int = 32, width: int = 1024,
                 depth: int = 24, heads: int = 16, patch: int = 16, mlp_ratio: float = 4.0,
                 l2_normalize: bool = True, channels: int = 3):
        super().__init__()
        self.image_size = check_int("image_size", image_size, 4, 4096)
        self.patch = check_int("patch", patch, 1, image_size)
        if image_size % patch:
            raise ValueError(f"image_size must be a multiple of patch={patch}, got {image_size}")
        self.token_dim = check_int("token_dim", token_dim, 1, 1024)
        self.num_tokens = check_int("num_tokens", num_tokens, 1, 4096)
        self.width, self.depth = check_int("width", width, 1, 16384), check_int("depth", depth, 1, 256)
        self.heads = check_int("heads", heads, 1, width)
        if width % heads:
            raise ValueError(f"width must be a multiple of heads={heads}, got {width}")
        check_float("mlp_ratio", mlp_ratio, 0, 16, low_open=True)
        self.channels = check_int("channels", channels, 1, 16)
        if not isinstance(l2_normalize, bool):
            raise ValueError(f"l2_normalize must be a bool, got {l2_normalize!r}")
        self.l2_normalize, self.l2_scale = l2_normalize, math.sqrt(token_dim)
        self.grid = image_size // patch
        n = self.grid ** 2
        # encoder
        self.patch_embed = nn.Conv2d(channels, width, patch, stride=patch)
        self.enc_pos = nn.Parameter(torch.randn(n, width) * 0.02)
        self.latents = nn.Parameter(torch.randn(num_tokens, width) * 0.02)     # queries and positions in one
        self.encoder = nn.ModuleList(ViTBlock(width, heads, mlp_ratio) for _ in range(depth))
        self.enc_norm, self.to_tokens = nn.LayerNorm(width), nn.Linear(width, token_dim)
        # decoder
        self.from_tokens = nn.Linear(token_dim, width)
        self.dec_latent_pos = nn.Parameter(torch.randn(num_tokens, width) * 0.02)
        self.mask_token = nn.Parameter(torch.randn(width) * 0.02)
        self.dec_pos = nn.Parameter(torch.randn(n, width) * 0.02)
        self.decoder = nn.ModuleList(ViTBlock(width, heads, mlp_ratio) for _ in range(depth))
        self.dec_norm, self.to_pixels = nn.LayerNorm(width), nn.Linear(width, channels * patch * patch)

    #: the parameters ``encode`` uses: what makes the latents (the decoder only reads them)
    ENCODER_PARTS = ("patch_embed.", "enc_pos", "latents", "encoder.", "enc_norm.", "to_tokens.")

    def encoder_state_dict(self) -> dict:
        """The weights that ``encode`` uses (``ENCODER_PARTS``)."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(self.ENCODER_PARTS)}

    def _norm(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=-1) * self.l2_scale if self.l2_normalize else z

    def _check(self, name: str, x, tail: tuple, ndim: int) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != ndim or tuple(x.shape[-len(tail):]) != tail:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a tensor of shape {('…',) * (ndim - len(tail)) + tail}, got {got}")

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [-1, 1] → tokens ``(N, L, C)``."""
        self._check("frames", frames, (self.channels, self.image_size, self.image_size), 4)
        x = self.patch_embed(frames).flatten(2).transpose(1, 2) + self.enc_pos          # (N, n, D)
        x = torch.cat([x, self.latents.to(x.dtype).expand(len(x), -1, -1)], dim=1)     # (N, n + L, D)
        for block in self.encoder:
            x = block(x)
        return self._norm(self.to_tokens(self.enc_norm(x[:, -self.num_tokens:])))

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L, C)`` → frames ``(N, 3, H, W)`` (not clamped)."""
        self._check("tokens", tokens, (self.num_tokens, self.token_dim), 3)
        lat = self.from_tokens(self._norm(tokens)) + self.dec_latent_pos
        masks = (self.mask_token + self.dec_pos).to(lat.dtype).expand(len(lat), -1, -1)
        x = torch.cat([masks, lat], dim=1)
        for block in self.decoder:
            x = block(x)
        return self.unpatchify(self.to_pixels(self.dec_norm(x[:, :self.grid ** 2])))

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """``(N, g², 3·P²)`` (row-major patches, each channel-major) → frames ``(N, 3, g·P, g·P)``."""
        p, g, n = self.patch, self.grid, len(patches)
        return patches.view(n, g, g, self.channels, p, p).permute(0, 3, 1, 4, 2, 5).reshape(n, self.channels, g * p,
                                                                                             g * p)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(frames))

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """``(B, F, 3, H, W)`` → ``(B, F, L, C)``, frame by frame."""
        self._check("video", video, (self.channels, self.image_size, self.image_size), 5)
        return self.encode(video.flatten(0, 1)).unflatten(0, video.shape[:2])

    def decode_video(self, latents: torch.Tensor) -> torch.Tensor:
        """``(B, F, L, C)`` → ``(B, F, 3, H, W)``, frame by frame."""
        self._check("latents", latents, (self.num_tokens, self.token_dim), 4)
        return self.decode(latents.flatten(0, 1)).unflatten(0, latents.shape[:2])
