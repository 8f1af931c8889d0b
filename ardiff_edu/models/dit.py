"""The temporal-causal transformer of AR-Diffusion, small: a DiT over ``F × L`` latent tokens (notebook 06).

The network sees a clip of latents ``x (B, F, L, C)`` whose frames sit at different noise levels ``t (B, F)`` and
predicts the clean clip (``prediction="x0"``, the official choice). Four ideas, in the order ``forward`` uses them:

1. **Tokens in, positions added.** Every token ``(C,)`` is embedded by one ``Linear(C → D)`` (no patchify) and a
   fixed sin-cos position is added: half of the ``D`` dimensions encode the frame index, half the token index (the
   official code uses one 1-D sin-cos code over the flattened (frame, token) index). Frame indices count from the
   first frame the network sees, so a sliding window sees the positions it trained on.
2. **One timestep per frame.** ``t (B, F)`` → sinusoidal embedding (256 dims) → MLP → one vector ``c_f`` per frame.
3. **Per-frame adaLN-Zero.** Each block turns ``c_f`` into shift, scale and gate for its attention and its MLP, and
   applies them to **that frame's tokens only**: ``h = LN(x)·(1 + scale_f) + shift_f``, ``x = x + gate_f·Attn(h)``.
   The gates start at zero, so a fresh block is the identity and a fresh model outputs exactly 0.
4. **A block-causal mask.** A token of frame ``i`` attends to every token of frames ``<= i`` (full attention inside
   a frame). Earlier frames never see later ones, so a frame's output does not depend on the noisier frames after it.

Optional **context tokens** (``num_context_tokens = K``) are learned vectors prepended to the sequence (the official
``context_emb``; ours are trained, the official optimizer never updated them). They are only layer-normed, never
modulated or gated. A class-conditional model (``num_classes``) uses ``max(K, 1)`` class tokens from a table of
``num_classes + 1`` rows; the last row is the null label for classifier-free guidance (the official code used 0 for
both class 0 and null). Official code: ``DiT_crossattn`` in ``src/ardiff/modules/dit_model.py`` (iva-mzsun/AR-Diffusion,
commit 7a37b94).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as nnf

from ardiff_edu.noise import PREDICTIONS
from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["MASKS", "check_width", "attention_mask", "timestep_embedding", "sincos_positions", "DiTBlock", "DiT"]

#: Attention masks :func:`attention_mask` knows.
MASKS = ("causal", "leaky", "full")


def check_width(width: int, heads: int) -> None:
    """A DiT's width must split evenly into ``heads`` heads and into the sin and cos of frame and token positions."""
    if width % heads or width % 4:
        raise ValueError(f"width must be a multiple of 4 and of heads={heads}, got {width}")


def attention_mask(kind: str, num_frames: int, num_tokens: int, num_context_tokens: int = 0) -> torch.Tensor:
    """Boolean ``(N, N)`` mask, ``N = K + F·L`` (context first, then the video frame-major); ``True`` = may attend.

    * ``"causal"`` (official ``temporal_causal``): a token of frame ``i`` sees the context and every token of frames
      ``<= i``; context tokens see the context only. **Strictly causal.**
    * ``"leaky"`` (official ``video_temporal_causal``, used in every official final config): the same video rows,
      but context rows see every frame, future ones included, and pass it on to earlier frames in the next layer.
    * ``"full"``: everything sees everything (the official Diffusion Forcing baseline).
    """
    kind = check_choice("kind", kind, MASKS)
    F, L = check_int("num_frames", num_frames, 1), check_int("num_tokens", num_tokens, 1)
    K = check_int("num_context_tokens", num_context_tokens, 0)
    frame = torch.cat([torch.full((K,), -1), torch.arange(F).repeat_interleave(L)])   # the context is "frame -1"
    if kind == "full":
        return torch.ones(len(frame), len(frame), dtype=torch.bool)
    mask = frame[None, :] <= frame[:, None]           # key frame <= query frame
    if kind == "leaky":
        mask[:K] = True                               # context rows see every frame
    return mask


def timestep_embedding(t: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps of any shape → ``(*t.shape, dim)`` (``cos ‖ sin``, as in DiT)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half).to(t.device)
    # $e(t) = [\cos(t\,\omega_i) \,\|\, \sin(t\,\omega_i)]$, $\omega_i = 10000^{-i/\text{half}}$
    args = t.float()[..., None] * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def _sincos(pos: torch.Tensor, dim: int) -> torch.Tensor:
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    out = pos.double()[:, None] * omega[None]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def sincos_positions(num_frames: int, num_tokens: int, dim: int) -> torch.Tensor:
    """Fixed positions ``(num_frames, num_tokens, dim)``: the first half encodes the frame, the second the token."""
    f = _sincos(torch.arange(num_frames), dim // 2)[:, None].expand(-1, num_tokens, -1)
    l = _sincos(torch.arange(num_tokens), dim // 2)[None].expand(num_frames, -1, -1)  # noqa: E741
    return torch.cat([f, l], -1).float()


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Fused multi-head attention ``softmax(q kᵀ / √d + mask) v`` on ``(B, heads, N, d)`` tensors.

    On the CPU it runs in fp32 even under bf16 autocast: the fused CPU kernel's bf16 backward pass was several times
    slower than its fp32 one on our machine (``python -m ardiff_edu bench --only train`` measures the whole step)."""
    if q.device.type == "cpu" and q.dtype in (torch.bfloat16, torch.float16):
        return nnf.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask).to(q.dtype)
    return nnf.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def modulate(h: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    # $\mathrm{adaLN}(h) = h \cdot (1 + \gamma_f) + \beta_f$,
    # one $(\beta_f, \gamma_f)$ per frame, broadcast over its tokens
    return h * (1 + scale) + shift


class DiTBlock(nn.Module):
    """A transformer block with per-frame adaLN-Zero, on video ``x (B, F, L, D)`` plus context ``ctx (B, K, D)``.

    **Paper vs code:** the official block (``share_norm``) overwrites its residual stream with the normalised input,
    ``x = LN(x); x = x + gate·Attn(mod(x)); x = LN(x); x = x + gate·MLP(mod(x))``. We use the clean pre-norm form,
    ``x = x + gate·Attn(mod(LN(x)))``, which keeps an identity path through the network;
    ``official_residual=True`` gives the official one.
    """

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0, official_residual: bool = False):
        super().__init__()
        self.heads, self.official_residual = heads, official_residual
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def attention(self, ctx: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None, past=None):
        """Self-attention over ``[context ; video]``; returns the outputs of both parts and this call's keys/values.

        ``past = (k, v)`` (each ``(B, heads, N_past, d)``) are keys and values of earlier tokens that the new ones also
        attend to (a KV cache, :mod:`ardiff_edu.ddim`); ``mask`` is then ``(N_new, N_past + N_new)``."""
        B, F, L, D = h.shape
        K = ctx.shape[1]
        seq = torch.cat([ctx, h.flatten(1, 2)], dim=1) if K else h.flatten(1, 2)         # (B, K + F·L, D)
        q, k, v = self.qkv(seq).view(B, K + F * L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        kv = (k, v)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        a = self.proj(attend(q, k, v, mask).transpose(1, 2).reshape(B, K + F * L, D))
        return a[:, :K], a[:, K:].view(B, F, L, D), kv

    def forward(self, ctx: torch.Tensor, x: torch.Tensor, c: torch.Tensor, mask: torch.Tensor | None, past=None):
        # per-frame modulation: (B, F, 6D) -> six (B, F, 1, D), broadcast over the frame's L tokens
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(c).unsqueeze(2).chunk(6, dim=-1)
        if self.official_residual:
            ctx, x = self.norm1(ctx), self.norm1(x)          # official: the stream itself becomes LN(x)
            a_ctx, a_x, kv = self.attention(ctx, modulate(x, sh1, sc1), mask, past)
        else:
            a_ctx, a_x, kv = self.attention(self.norm1(ctx), modulate(self.norm1(x), sh1, sc1), mask, past)
        ctx, x = ctx + a_ctx, x + g1 * a_x                   # context rows: never gated
        if self.official_residual:
            ctx, x = self.norm2(ctx), self.norm2(x)
            return ctx + self.mlp(ctx), x + g2 * self.mlp(modulate(x, sh2, sc2)), kv
        return ctx + self.mlp(self.norm2(ctx)), x + g2 * self.mlp(modulate(self.norm2(x), sh2, sc2)), kv


class DiT(nn.Module):
    """``forward(x (B, F, L, C), t (B, F) int64, labels=None (B,) int64) -> (B, F, L, C)``.

    ``prediction`` ("x0" | "eps" | "v") is recorded (``.prediction``): the network is the same, the training target
    and the sampler's conversion change. ``max_frames`` bounds the window (the positional table). ``labels`` (class-
    conditional models only) are in ``[0, num_classes]``; ``num_classes`` (``.null_label``) is the null label, also
    used when ``labels=None``.
    """

    def __init__(self, token_dim: int, num_tokens: int, max_frames: int = 16, width: int = 128, depth: int = 4,
                 heads: int = 4, mlp_ratio: float = 4, mask: str = "causal", prediction: str = "x0",
                 num_classes: int | None = None, num_context_tokens: int = 0, official_residual: bool = False):
        super().__init__()
        self.token_dim = check_int("token_dim", token_dim, 1)
        self.num_tokens = check_int("num_tokens", num_tokens, 1)
        self.max_frames = check_int("max_frames", max_frames, 1)
        self.width, self.depth = check_int("width", width, 4), check_int("depth", depth, 1)
        self.heads = check_int("heads", heads, 1, width)
        check_width(width, heads)
        check_float("mlp_ratio", mlp_ratio, 0, 16, low_open=True)
        self.mask_kind = check_choice("mask", mask, MASKS)
        self.prediction = check_choice("prediction", prediction, PREDICTIONS)
        self.num_classes = None if num_classes is None else check_int("num_classes", num_classes, 1)
        K = check_int("num_context_tokens", num_context_tokens, 0, 256)
        self.num_context = K if num_classes is None else max(K, 1)
        if mask == "leaky" and self.num_context == 0:
            raise ValueError("mask='leaky' needs num_context_tokens >= 1 (or num_classes): without context tokens "
                             "nothing can leak and it is exactly mask='causal'")
        if not isinstance(official_residual, bool):
            raise ValueError(f"official_residual must be a bool, got {official_residual!r}")
        self.official_residual = official_residual
        self.null_label = num_classes
        self.x_embed = nn.Linear(token_dim, width)
        self.register_buffer("pos", sincos_positions(max_frames, num_tokens, width), persistent=False)
        self.t_embed = nn.Sequential(nn.Linear(256, width), nn.SiLU(), nn.Linear(width, width))
        self.class_embed = None if num_classes is None else nn.Embedding(num_classes + 1, self.num_context * width)
        self.context = nn.Parameter(torch.zeros(K, width)) if num_classes is None and K else None
        self.blocks = nn.ModuleList(DiTBlock(width, heads, mlp_ratio, official_residual) for _ in range(depth))
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
        # adaLN-Zero: every shift/scale/gate and the output layer start at 0 -> the model outputs exactly 0
        for lin in [b.ada[-1] for b in self.blocks] + [self.ada_out[-1], self.out]:
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    @property
    def cacheable(self) -> bool:
        """Whether finished frames' keys and values can be cached exactly: only under the strictly causal mask."""
        return self.mask_kind == "causal"

    def mask(self, num_frames: int) -> torch.Tensor | None:
        """The attention mask for a window of ``num_frames`` frames (cached), ``None`` for ``"full"``."""
        if num_frames not in self._masks:
            m = attention_mask(self.mask_kind, num_frames, self.num_tokens, self.num_context)
            self._masks[num_frames] = None if self.mask_kind == "full" else m
        return self._masks[num_frames]

    def check_inputs(self, x, t, labels) -> None:
        """Raise ``ValueError`` naming the bad argument unless ``x``, ``t``, ``labels`` fit this model."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[2:]) != (self.num_tokens, self.token_dim):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (B, F, {self.num_tokens}, {self.token_dim}), got {got}")
        B, F = x.shape[:2]
        check_int("num_frames (x.shape[1])", F, 1, self.max_frames)
        if (not isinstance(t, torch.Tensor) or t.is_floating_point() or t.dtype == torch.bool
                or tuple(t.shape) != (B, F)):
            got = (tuple(t.shape), t.dtype) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"t must be an integer tensor of shape (B, F) = {(B, F)}, got {got}")
        if labels is not None and self.class_embed is None:
            raise ValueError("labels were given, but the model is unconditional (num_classes=None)")
        if labels is not None and (not isinstance(labels, torch.Tensor) or tuple(labels.shape) != (B,)
                                   or labels.is_floating_point() or int(labels.min()) < 0
                                   or int(labels.max()) > self.num_classes):
            raise ValueError(f"labels must be an integer tensor of shape ({B},) in [0, {self.num_classes}] "
                             f"({self.num_classes} = null), got {labels!r}")

    def embed(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None, first_frame: int = 0):
        """Tokens + positions ``(B, F, L, D)``, the context ``(B, K, D)`` and the per-frame conditioning ``(B, F, D)``;
        ``first_frame`` is the position of ``x``'s first frame (> 0 when earlier frames come from a cache)."""
        B, F = x.shape[:2]
        h = self.x_embed(x) + self.pos[first_frame:first_frame + F].to(x.dtype)
        c = self.t_embed(timestep_embedding(t).to(h.dtype))
        if self.class_embed is not None:
            if labels is None:
                labels = torch.full((B,), self.null_label, dtype=torch.long, device=x.device)
            ctx = self.class_embed(labels).view(B, self.num_context, self.width)
        elif self.context is not None:
            ctx = self.context[None].expand(B, -1, -1)
        else:
            ctx = h.new_zeros(B, 0, self.width)
        return h, ctx.to(h.dtype), c

    def head(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The final layer: per-frame adaLN, then ``Linear(D → C)``."""
        shift, scale = self.ada_out(c).unsqueeze(2).chunk(2, dim=-1)
        return self.out(modulate(self.norm_out(h), shift, scale))

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        self.check_inputs(x, t, labels)
        return self.forward_frames(x, t, labels)[0]

    def forward_frames(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None, past=None,
                       first_frame: int = 0):
        """The forward pass, also over the *later* frames of a window whose earlier frames are cached.

        ``past`` (strictly causal models only) holds, per block, the keys and values ``(k, v)`` of the context and of
        the window's first ``first_frame`` frames; ``x`` then holds the frames after them. Returns the prediction for
        ``x`` and, per block, the keys and values of this call's tokens (context first when ``past`` is ``None``).
        Under the causal mask a frame sees only itself and earlier frames, so this equals the prediction of the whole
        window for those frames (:class:`ardiff_edu.ddim.KVCache` uses it).
        """
        h, ctx, c = self.embed(x, t, labels, first_frame)
        if past is None:
            mask = self.mask(x.shape[1])
        else:
            if not self.cacheable:
                raise ValueError(f"mask={self.mask_kind!r} cannot use cached keys and values: earlier tokens attend "
                                 f"to later ones, so their keys change whenever the later frames do")
            ctx = ctx[:, :0]                                      # the context's keys are in the cache already
            n_past = past[0][0].shape[2]
            new = attention_mask("causal", x.shape[1], self.num_tokens)
            mask = torch.cat([new.new_ones(new.shape[0], n_past), new], dim=1)   # every earlier token is visible
        mask = None if mask is None else mask.to(x.device)
        kvs = []
        for i, block in enumerate(self.blocks):
            ctx, h, kv = block(ctx, h, c, mask, None if past is None else past[i])
            kvs.append(kv)
        return self.head(h, c), kvs
