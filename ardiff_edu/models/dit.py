"""The AR-Diffusion backbone, small: a DiT over ``F × L`` latent tokens with per-frame timesteps and a block-causal
attention mask (paper notes §4.2).

* every token ``(C,)`` is embedded by one ``Linear(C → D)`` (no patchify), then a **fixed sin-cos position** is added:
  half of the ``D`` dimensions encode the frame index, half the token index. Frame indices are relative to the window
  (the first frame of whatever the network sees is frame 0), so a sliding window sees the positions it trained on;
* the timestep ``t`` is ``(B, F)``: a sinusoidal embedding (256 dims) → MLP gives one vector per frame, and every block
  turns it into shift/scale/gate (**adaLN-Zero**) applied to **that frame's tokens only**;
* ``num_context_tokens = K > 0`` prepends ``K`` learned **context tokens** (the official ``context_emb``, notes §4.2;
  unlike the official code, ours are trained: the official optimizer never saw them, notes §4.4). Class-conditional
  models (``num_classes``) prepend ``K = max(K, 1)`` **class tokens** from a table of ``num_classes + 1`` rows; row
  ``num_classes`` is the null label used for classifier-free guidance, so it never collides with class 0 — the
  official code used 0 for both, notes §4.4. Context tokens are only layer-normed, never modulated or gated;
* the attention mask (:func:`attention_mask`) is strict block-causal by default.

The adaLN gates and the output layer are zero-initialised, so a fresh model outputs exactly 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["MASKS", "PREDICTIONS", "attention_mask", "timestep_embedding", "sincos_positions", "DiT"]

#: Attention masks :func:`attention_mask` knows.
MASKS = ("causal", "leaky", "full")
#: What the network may predict.
PREDICTIONS = ("x0", "eps", "v")


def attention_mask(kind: str, num_frames: int, num_tokens: int, num_context_tokens: int = 0) -> torch.Tensor:
    """Boolean ``(N, N)`` mask, ``N = num_context_tokens + num_frames·num_tokens``; ``True`` = may attend.

    Rows are queries, columns keys; the context tokens come first, then the video frame-major. For
    ``F.scaled_dot_product_attention``, a ``True`` entry takes part in the softmax.

    * ``"causal"`` (official ``temporal_causal``): a token of frame ``i`` sees the context and every token of
      frames ``<= i`` (full attention inside a frame); context tokens see the context only. **Strictly causal.**
    * ``"leaky"`` (official ``video_temporal_causal``, used in every final config): the same video rows, but context
      rows see every frame, future ones included, and pass that on to earlier frames in the next layer.
    * ``"full"``: everything sees everything (Diffusion Forcing baseline configs).
    """
    kind = check_choice("kind", kind, MASKS)
    Fr = check_int("num_frames", num_frames, 1)
    L = check_int("num_tokens", num_tokens, 1)
    K = check_int("num_context_tokens", num_context_tokens, 0)
    # frame index of every row/column; the context gets -1
    frame = torch.cat([torch.full((K,), -1), torch.arange(Fr).repeat_interleave(L)])
    if kind == "full":
        return torch.ones(len(frame), len(frame), dtype=torch.bool)
    q, k = frame[:, None], frame[None, :]
    # video rows: keys of the context (k = -1) and of frames <= own frame; context rows: context only
    mask = k <= q
    if kind == "leaky":
        mask[:K] = True                            # context rows see every frame
    return mask


def timestep_embedding(t: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps of any shape → ``(*t.shape, dim)`` (``cos ‖ sin``, as in DiT)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half).to(t.device)
    # $e(t) = [\cos(t\,\omega_i) \,\|\, \sin(t\,\omega_i)]$, $\omega_i = 10000^{-i/\text{half}}$
    args = t.float()[..., None] * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def _sincos_1d(pos: torch.Tensor, dim: int) -> torch.Tensor:
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    out = pos.double()[:, None] * omega[None]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def sincos_positions(num_frames: int, num_tokens: int, dim: int) -> torch.Tensor:
    """Fixed positions ``(num_frames, num_tokens, dim)``: first half encodes the frame, second half the token."""
    f = _sincos_1d(torch.arange(num_frames), dim // 2)           # (F, dim/2)
    l = _sincos_1d(torch.arange(num_tokens), dim // 2)           # (L, dim/2)
    return torch.cat([f[:, None].expand(-1, num_tokens, -1), l[None].expand(num_frames, -1, -1)], -1).float()


class _Block(nn.Module):
    """Pre-norm DiT block with per-frame adaLN-Zero.

    **Paper vs code:** the official block (``share_norm``, notes §4.2) overwrites its residual stream with the
    normalised input, ``h = LN(x); h = h + gate·Attn(mod(h)); out = LN(h) + gate·MLP(mod(LN(h)))``, so the stream
    is re-normalised in every block. We use the clean pre-norm form, ``x = x + gate·Attn(mod(LN(x)))`` and
    ``x = x + gate·MLP(mod(LN(x)))``, which keeps an identity path through the whole network.
    """

    def __init__(self, width: int, heads: int, mlp_ratio: float, official_residual: bool = False):
        super().__init__()
        self.heads = heads
        self.official_residual = official_residual
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def forward(self, x: torch.Tensor, c: torch.Tensor, num_context: int, num_tokens: int,
                mask: torch.Tensor | None) -> torch.Tensor:
        B, N, D = x.shape
        # per-frame modulation (B, F, 6D) → per row (B, N, 6D); context rows: shift = scale = 0, gate = 1
        mod = self.ada(c).repeat_interleave(num_tokens, dim=1)
        if num_context:
            ctx = torch.zeros(B, num_context, 6 * D, dtype=mod.dtype, device=mod.device)
            ctx[..., 2 * D:3 * D] = 1.0
            ctx[..., 5 * D:] = 1.0
            mod = torch.cat([ctx, mod], dim=1)
        sh1, sc1, g1, sh2, sc2, g2 = mod.chunk(6, dim=-1)
        if self.official_residual:
            x = self.norm1(x)                      # official: the stream itself is replaced by LN(x)
            h = x * (1 + sc1) + sh1
        else:
            h = self.norm1(x) * (1 + sc1) + sh1
        q, k, v = self.qkv(h).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + g1 * self.proj(a.transpose(1, 2).reshape(B, N, D))
        if self.official_residual:
            x = self.norm2(x)                      # ... and by LN(h) before the MLP residual
            return x + g2 * self.mlp(x * (1 + sc2) + sh2)
        return x + g2 * self.mlp(self.norm2(x) * (1 + sc2) + sh2)


class DiT(nn.Module):
    """``forward(x (B, F, L, C), t (B, F) int64, labels=None (B,) int64) -> (B, F, L, C)``.

    ``prediction`` ("x0" | "eps" | "v") is only recorded (``.prediction``): the network is the same, the training
    target and the sampler's conversion change. ``labels`` (class-conditional models only) are in
    ``[0, num_classes]``; ``num_classes`` (``.null_label``) is the null label, also used when ``labels=None``.

    ``max_frames`` bounds the window (the positional table); ``mask`` is one of :data:`MASKS`;
    ``num_context_tokens`` prepends learned context tokens (see the module docstring); ``official_residual=True``
    uses the official block's residual stream (see ``_Block``).
    """

    def __init__(self, token_dim: int, num_tokens: int, max_frames: int = 16, width: int = 128, depth: int = 4,
                 heads: int = 4, mlp_ratio: float = 4, mask: str = "causal", prediction: str = "x0",
                 num_classes: int | None = None, num_context_tokens: int = 0, official_residual: bool = False):
        super().__init__()
        self.token_dim = check_int("token_dim", token_dim, 1)
        self.num_tokens = check_int("num_tokens", num_tokens, 1)
        self.max_frames = check_int("max_frames", max_frames, 1)
        self.width = check_int("width", width, 2)
        self.depth = check_int("depth", depth, 1)
        self.heads = check_int("heads", heads, 1, width)
        if width % heads or width % 4:
            raise ValueError(f"width must be a multiple of 4 and of heads={heads}, got {width}")
        check_float("mlp_ratio", mlp_ratio, 0, 16, low_open=True)
        self.mask_kind = check_choice("mask", mask, MASKS)
        self.prediction = check_choice("prediction", prediction, PREDICTIONS)
        self.num_classes = None if num_classes is None else check_int("num_classes", num_classes, 1)
        K = check_int("num_context_tokens", num_context_tokens, 0, 256)
        if not isinstance(official_residual, bool):
            raise ValueError(f"official_residual must be a bool, got {official_residual!r}")
        self.official_residual = official_residual
        self.num_context = K if num_classes is None else max(K, 1)
        self.null_label = num_classes
        self.x_embed = nn.Linear(token_dim, width)
        self.register_buffer("pos", sincos_positions(max_frames, num_tokens, width), persistent=False)
        self.t_embed = nn.Sequential(nn.Linear(256, width), nn.SiLU(), nn.Linear(width, width))
        self.class_embed = None if num_classes is None else nn.Embedding(num_classes + 1, self.num_context * width)
        self.context = nn.Parameter(torch.zeros(K, width)) if num_classes is None and K else None
        self.blocks = nn.ModuleList(_Block(width, heads, mlp_ratio, official_residual) for _ in range(depth))
        self.norm_out = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.out = nn.Linear(width, token_dim)
        self._masks: dict = {}
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.t_embed:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
        if self.class_embed is not None:
            nn.init.normal_(self.class_embed.weight, std=0.02)
        if self.context is not None:
            nn.init.normal_(self.context, std=0.02)
        # adaLN-Zero: every gate/shift/scale and the output layer start at 0 → the model outputs exactly 0
        for lin in [b.ada[-1] for b in self.blocks] + [self.ada_out[-1], self.out]:
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def mask(self, num_frames: int) -> torch.Tensor:
        """The attention mask for a window of ``num_frames`` frames (cached), or ``None`` for ``"full"``."""
        if num_frames not in self._masks:
            m = attention_mask(self.mask_kind, num_frames, self.num_tokens, self.num_context)
            self._masks[num_frames] = None if self.mask_kind == "full" else m
        return self._masks[num_frames]

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[2:]) != (self.num_tokens, self.token_dim):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (B, F, {self.num_tokens}, {self.token_dim}), got {got}")
        B, Fr = x.shape[:2]
        check_int("num_frames (x.shape[1])", Fr, 1, self.max_frames)
        if not isinstance(t, torch.Tensor) or t.dtype.is_floating_point or t.dtype == torch.bool \
                or tuple(t.shape) != (B, Fr):
            got = (tuple(t.shape), t.dtype) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"t must be an integer tensor of shape (B, F) = {(B, Fr)}, got {got}")
        h = self.x_embed(x) + self.pos[:Fr].to(x.dtype)                     # (B, F, L, D)
        h = h.flatten(1, 2)                                                 # (B, F·L, D)
        c = self.t_embed(timestep_embedding(t).to(h.dtype))                 # (B, F, D), one vector per frame
        if self.class_embed is not None:
            if labels is None:
                labels = torch.full((B,), self.null_label, dtype=torch.long, device=x.device)
            if not isinstance(labels, torch.Tensor) or tuple(labels.shape) != (B,) or labels.dtype.is_floating_point:
                raise ValueError(f"labels must be an integer tensor of shape ({B},)")
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > self.num_classes):
                raise ValueError(f"labels must be in [0, {self.num_classes}] ({self.num_classes} = null), "
                                 f"got {labels.tolist()}")
            ctx = self.class_embed(labels).view(B, self.num_context, self.width)
            h = torch.cat([ctx.to(h.dtype), h], dim=1)
        elif labels is not None:
            raise ValueError("labels were given, but the model is unconditional (num_classes=None)")
        elif self.context is not None:
            h = torch.cat([self.context[None].expand(B, -1, -1).to(h.dtype), h], dim=1)
        mask = self.mask(Fr)
        mask = None if mask is None else mask.to(x.device)
        for block in self.blocks:
            h = block(h, c, self.num_context, self.num_tokens, mask)
        h = h[:, self.num_context:]
        shift, scale = self.ada_out(c).repeat_interleave(self.num_tokens, dim=1).chunk(2, dim=-1)
        h = self.norm_out(h) * (1 + scale) + shift
        return self.out(h).view(B, Fr, self.num_tokens, self.token_dim)
