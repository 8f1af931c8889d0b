# %% [markdown]
# # 06 · The temporal-causal transformer, built from scratch
#
# Notebook 05 turned every frame into `L` tokens of `C` channels, so a clip is a latent tensor `(B, F, L, C)`. The
# network that denoises it is a small **DiT** (diffusion transformer) with two changes that make AR-Diffusion work:
#
# 1. every frame has **its own timestep** `t_f`, and it reaches that frame's tokens only (per-frame adaLN);
# 2. the attention is **block-causal**: a token of frame `i` sees the tokens of frames `≤ i` and nothing later.
#
# This notebook writes the whole network in about a hundred lines, piece by piece: positions (§2), timesteps
# (§3), per-frame adaLN-Zero (§4), the mask (§5), one block (§6), the forward pass (§7). Each piece is checked
# against the package, and the finished network is loaded with the weights of `ardiff_edu.models.DiT`, both small
# random ones and the shipped checkpoint's, and gives the same outputs. Then we prove causality over seeds and
# sizes and break it on purpose (§8), check the KV-cache property the sampler relies on (§9), and look at class
# conditioning (§10).

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as nnf

from ardiff_edu.exercises.nb06 import perturbed
from ardiff_edu.figures import draw_clip, integer_ticks
from ardiff_edu.models import DiT, DiTBlock, attention_mask, sincos_positions, timestep_embedding
from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, load_pipeline, real_clips
from ardiff_edu.utils import seed_all
from ardiff_edu.video import to_float

seed_all(0)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

# %% [markdown]
# ## 1. What goes in and what comes out
#
# The network takes noisy latents `x (B, F, L, C)` and one integer timestep per frame `t (B, F)`, and predicts the
# clean latents `(B, F, L, C)` (`prediction = "x0"`, the official choice). Inside, every token is a vector of width
# `D`; a window of `F` frames is a sequence of `F·L` tokens. The shipped model:

# %%
pipe = load_pipeline(DEFAULT_CHECKPOINT)
shipped = pipe.model
print(f"C = {shipped.token_dim} channels, L = {shipped.num_tokens} tokens per frame, up to F = {shipped.max_frames} "
      f"frames ({shipped.max_frames * shipped.num_tokens} tokens per window)")
print(f"width D = {shipped.width}, {shipped.depth} blocks, {shipped.heads} heads, mask {shipped.mask_kind!r}, "
      f"prediction {shipped.prediction!r}, {sum(p.numel() for p in shipped.parameters()) / 1e6:.2f} M parameters "
      f"(the official DiT-XL: about 672 M)")
assert shipped.prediction == "x0"

# %% [markdown]
# ## 2. Tokens in, positions added
#
# Each token `(C,)` is embedded by one `Linear(C → D)`; there is no patchify (the tokenizer already made the
# tokens). Attention itself is blind to order, so a fixed **sin-cos position** is added to every token. Ours is
# two-dimensional: the first `D/2` dimensions encode the token's **frame index** `f`, the other `D/2` its **token
# index** `l` inside the frame. Each half is the classic code: `sin(p·ω_i)` and `cos(p·ω_i)` with frequencies
# `ω_i = 10000^(−i / (d/2))`. Frame indices count from the first frame of the window, so a sliding window always
# sees the positions it was trained with.

# %%
def sincos(pos: torch.Tensor, dim: int) -> torch.Tensor:
    """Positions (n,) -> (n, dim): [sin(p ω_i) ‖ cos(p ω_i)], ω_i = 10000^(-i / (dim/2)), computed in float64."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    angles = pos.double()[:, None] * omega[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def positions(num_frames: int, num_tokens: int, dim: int) -> torch.Tensor:
    """(F, L, D): frame index in the first half of the dimensions, token index in the second."""
    frame = sincos(torch.arange(num_frames), dim // 2)[:, None].expand(-1, num_tokens, -1)
    token = sincos(torch.arange(num_tokens), dim // 2)[None].expand(num_frames, -1, -1)
    return torch.cat([frame, token], dim=-1).float()


for F_, L_, D_ in [(16, 16, 128), (5, 3, 32), (1, 9, 64)]:
    assert torch.equal(positions(F_, L_, D_), sincos_positions(F_, L_, D_))
pos = positions(shipped.max_frames, shipped.num_tokens, shipped.width)
print("positions", tuple(pos.shape), "equal the package's sincos_positions")
# the first half depends on the frame only, the second half on the token only
assert torch.equal(pos[3, :, :64], pos[3, :1, :64].expand(16, -1))
assert torch.equal(pos[:, 5, 64:], pos[:1, 5, 64:].expand(16, -1))

# %% [markdown]
# The official code adds a **one-dimensional** sin-cos code of the flat index `f·L + l` instead. Side by side, for
# 6 frames of the shipped model's `L` tokens (columns are the tokens of the window, frame by frame):

# %%
F6, L, D = 6, shipped.num_tokens, shipped.width
flat = sincos(torch.arange(F6 * L), D).float()                                    # the official 1-D code
fig, axes = plt.subplots(1, 2, figsize=(9, 3.0), layout="constrained")
for ax, P, name in ((axes[0], positions(F6, L, D).reshape(F6 * L, D), "ours: frame half | token half"),
                    (axes[1], flat, "official: 1-D code of f·L + l")):
    im = ax.imshow(P.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([f * L + L / 2 - 0.5 for f in range(F6)], range(F6))
    for f in range(1, F6):
        ax.axvline(f * L - 0.5, color="k", lw=0.6)
    ax.set(xlabel="frame (its L tokens between the lines)", ylabel="dimension", title=name)
fig.colorbar(im, ax=axes, label="position value")
plt.show()

# %% [markdown]
# > **Paper vs code: positions.** The official DiT adds a fixed **1-D** sin-cos embedding over the flattened
# > (frame, token) index, `f·L + l` (`get_1d_sincos_pos_embed` in `src/ardiff/modules/dit_model.py` of
# > iva-mzsun/AR-Diffusion, commit 7a37b94). Ours is **2-D**: half of the dimensions code the frame, half the token,
# > so "same token, next frame" is the same step in position for every token, and the frame half is identical for
# > all tokens of a frame. Both are fixed and window-relative. `tests/test_models.py::test_positions_are_two_dimensional`
# > pins ours (and that it differs from the flat 1-D code).
#
# ## 3. One timestep per frame
#
# The timesteps `t (B, F)` are integers in `[0, T)`. Each gets the 256-dimensional sinusoidal embedding of DiT
# (`cos ‖ sin` of `t·ω_i`), and a small MLP (`Linear → SiLU → Linear`, the model's `t_embed`) turns it into **one
# conditioning vector `c_f` per frame**, shape `(B, F, D)`.

# %%
def t_embedding(t: torch.Tensor, dim: int = 256) -> torch.Tensor:
    """Integer timesteps (...) -> (..., dim): [cos(t ω_i) ‖ sin(t ω_i)], ω_i = 10000^(-i / (dim/2))."""
    omega = torch.exp(-math.log(10000.0) * torch.arange(dim // 2, dtype=torch.float32) / (dim // 2))
    angles = t.float()[..., None] * omega
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


t_demo = torch.tensor([[0, 250, 500, 999]])
assert torch.equal(t_embedding(t_demo), timestep_embedding(t_demo))
with torch.no_grad():
    c_demo = shipped.t_embed(t_embedding(t_demo))
print("t", tuple(t_demo.shape), "-> embedding", tuple(t_embedding(t_demo).shape), "-> c", tuple(c_demo.shape))

# %% [markdown]
# ## 4. Per-frame adaLN-Zero
#
# In a DiT block every LayerNorm is followed by a **modulation** `h·(1 + scale) + shift`, and every residual branch
# is multiplied by a **gate**. Shift, scale and gate come from the conditioning vector through one linear layer per
# block (`ada`: `SiLU → Linear(D → 6D)`: shift, scale and gate for the attention and for the MLP). In AR-Diffusion
# `c` is **per frame**, so the six vectors are per frame too, shape `(B, F, 1, D)`: the `1` broadcasts them over
# the `L` tokens of their own frame and nowhere else.
#
# **adaLN-Zero** initialises those linear layers (and the output layer) at zero: every gate is 0, every block
# starts as the identity, and a fresh network outputs exactly 0, i.e. it predicts `x0 = 0`, the mean of the
# standardised latents.

# %%
def modulate(h: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return h * (1 + scale) + shift


def frame_modulation(ada: nn.Module, c: torch.Tensor):
    """c (B, F, D) -> six (B, F, 1, D): shift, scale, gate (attention), shift, scale, gate (MLP)."""
    return ada(c).unsqueeze(2).chunk(6, dim=-1)


def layer_norm(h: torch.Tensor) -> torch.Tensor:
    return nnf.layer_norm(h, h.shape[-1:], eps=1e-6)                 # no learned affine: adaLN replaces it


fresh = DiT(token_dim=4, num_tokens=3, max_frames=4, width=32, depth=2, heads=2)
x_demo, t_small = torch.randn(2, 4, 3, 4), torch.randint(0, 1000, (2, 4))
with torch.no_grad():
    gates = [frame_modulation(b.ada, torch.randn(2, 4, 32))[2] for b in fresh.blocks]
    y_fresh = fresh(x_demo, t_small)
print("fresh DiT: every gate is 0:", all(bool((g == 0).all()) for g in gates), "| output is exactly 0:",
      bool((y_fresh == 0).all()))
assert all(bool((g == 0).all()) for g in gates) and torch.equal(y_fresh, torch.zeros_like(y_fresh))

# %% [markdown]
# After training the gates are no longer zero, and they depend on the noise level. For the shipped model, how
# strongly each block's attention and MLP branches act (the mean `|gate|` over the `D` dimensions) as a function of
# the timestep:

# %%
t_grid = torch.arange(0, 1000, 10)
with torch.no_grad():
    c_grid = shipped.t_embed(t_embedding(t_grid))[None]                          # (1, 100, D): one "frame" per t
    gate_sizes = [[frame_modulation(b.ada, c_grid)[i][0, :, 0].abs().mean(-1) for i in (2, 5)]
                  for b in shipped.blocks]
assert all(float(g.min()) > 0 and float(g.max() - g.min()) > 0 for pair in gate_sizes for g in pair)
fig, ax = plt.subplots(figsize=(8.5, 3.0))
for k, (g_attn, g_mlp) in enumerate(gate_sizes):
    line, = ax.plot(t_grid, g_attn, label=f"block {k}: attention")
    ax.plot(t_grid, g_mlp, ls="--", color=line.get_color(), label=f"block {k}: MLP")
ax.set(xlabel="timestep t of the frame", ylabel="mean |gate|", xticks=[0, 250, 500, 750, 999],
       title="shipped model: how strongly each branch acts, by noise level")
ax.legend(fontsize=9, ncol=2, loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. The block-causal mask, from frame indices
#
# Give every token of the sequence the index of its frame, and give the optional **context tokens** (learned
# vectors prepended to the sequence, see §10) the frame index −1. Then one comparison builds the mask: a query
# may attend to a key when the key's frame is not later than the query's (`True` = may attend; rows are queries,
# columns keys). Inside a frame, attention is full; the context sees only the context.
#
# The official final configs use a **leaky** variant: the same rows for the video, but the context rows see every
# frame. And `"full"` lets everything see everything (the Diffusion Forcing baseline).

# %%
def frame_index(num_frames: int, num_tokens: int, num_context: int = 0) -> torch.Tensor:
    """The frame of every token of [context ; video]: -1 for the context, then 0,0,..,1,1,.. (L each)."""
    return torch.cat([torch.full((num_context,), -1), torch.arange(num_frames).repeat_interleave(num_tokens)])


def block_causal_mask(kind: str, num_frames: int, num_tokens: int, num_context: int = 0) -> torch.Tensor:
    frame = frame_index(num_frames, num_tokens, num_context)
    if kind == "full":
        return torch.ones(len(frame), len(frame), dtype=torch.bool)
    mask = frame[None, :] <= frame[:, None]                  # key's frame <= query's frame
    if kind == "leaky":
        mask[:num_context] = True                            # context rows see every frame
    return mask


for kind in ("causal", "leaky", "full"):
    for F_, L_, K_ in [(4, 3, 2), (16, 16, 0), (2, 5, 1), (1, 1, 3), (7, 2, 1)]:
        if kind == "leaky" and K_ == 0:
            continue
        assert torch.equal(block_causal_mask(kind, F_, L_, K_), attention_mask(kind, F_, L_, K_))
print("block_causal_mask equals attention_mask for every kind and size tried")

# %%
F4, L3, K2 = 4, 3, 2
fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.5), layout="constrained")
ticks = [K2 / 2 - 0.5] + [K2 + f * L3 + L3 / 2 - 0.5 for f in range(F4)]
names = ["ctx"] + [str(f) for f in range(F4)]
for ax, kind in zip(axes, ("causal", "leaky", "full")):
    im = ax.imshow(block_causal_mask(kind, F4, L3, K2).int(), cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    for b in [K2] + [K2 + f * L3 for f in range(1, F4)]:
        ax.axhline(b - 0.5, color="tab:red", lw=0.8)
        ax.axvline(b - 0.5, color="tab:red", lw=0.8)
    ax.set_xticks(ticks, names)
    ax.set_yticks(ticks, names)
    ax.set(xlabel="key frame", ylabel="query frame", title=f"{kind!r}: F={F4}, L={L3}, K={K2}")
fig.colorbar(im, ax=axes, ticks=[0, 1], label="1 = may attend, 0 = masked", shrink=0.8)
plt.show()

causal, leaky = attention_mask("causal", F4, L3, K2), attention_mask("leaky", F4, L3, K2)
assert not causal[:K2, K2:].any() and leaky[:K2].all()             # the context: only itself vs every frame
assert torch.equal(causal[K2:], leaky[K2:])                         # the video rows are the same

# %% [markdown]
# > **Paper vs code: the leaky context.** The paper describes a temporally causal model, but every final official
# > config uses `video_temporal_causal` (`src/ardiff/modules/dit_model.py`): its 77 context tokens read all frames,
# > future ones included, and in the next layer the earlier frames read the context. Information from the future
# > therefore reaches the past through the context tokens, so the official model is "block-causal plus a global
# > scratchpad", not strictly causal. Our default is the strict `"causal"` mask (official `temporal_causal`), with
# > no context tokens; `mask="leaky"` with `num_context_tokens >= 1` reproduces the official one. Without context
# > tokens the two masks are the same, so a DiT refuses `"leaky"` without them.
# > `tests/test_models.py::test_attention_mask_definition` pins the masks and `tests/test_models.py::test_causality`
# > shows the leak (§8 shows it here).
#
# ## 6. Attention and one DiT block
#
# Attention, written out: scores `q kᵀ / √d`, masked entries set to −∞ (so the softmax gives them weight exactly
# 0), softmax over the keys, weighted sum of the values. The package calls PyTorch's fused
# `scaled_dot_product_attention`, which computes the same thing faster.
#
# A block runs attention over `[context ; video]` and then an MLP, each on a per-frame-modulated LayerNorm of its
# input, each added back gated. The context tokens are only layer-normed, never modulated or gated (they belong to
# no frame). Our block is **pre-norm**: the residual stream `x` itself is never normalised. The official block
# overwrites the stream with its LayerNorm first (`official=True` below).

# %%
def attention(q, k, v, mask):
    """q, k, v (B, heads, N, d); mask (N, N) bool, True = may attend, or None."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ v


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0, official: bool = False):
        super().__init__()
        self.heads, self.official = heads, official
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    def attend(self, ctx, h, mask):
        """Self-attention over [ctx (B, K, D) ; h (B, F, L, D)]; returns the two parts' outputs."""
        B, F, L, D = h.shape
        K = ctx.shape[1]
        seq = torch.cat([ctx, h.flatten(1, 2)], dim=1)                               # (B, K + F·L, D)
        q, k, v = self.qkv(seq).view(B, K + F * L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        out = self.proj(attention(q, k, v, mask).transpose(1, 2).reshape(B, K + F * L, D))
        return out[:, :K], out[:, K:].view(B, F, L, D)

    def forward(self, ctx, x, c, mask):
        shift1, scale1, gate1, shift2, scale2, gate2 = frame_modulation(self.ada, c)   # each (B, F, 1, D)
        if self.official:                                  # the official stream: x <- LN(x) before each branch
            ctx, x = layer_norm(ctx), layer_norm(x)
            a_ctx, a_x = self.attend(ctx, modulate(x, shift1, scale1), mask)
        else:
            a_ctx, a_x = self.attend(layer_norm(ctx), modulate(layer_norm(x), shift1, scale1), mask)
        ctx, x = ctx + a_ctx, x + gate1 * a_x             # the context is never gated
        if self.official:
            ctx, x = layer_norm(ctx), layer_norm(x)
            return ctx + self.mlp(ctx), x + gate2 * self.mlp(modulate(x, shift2, scale2))
        return (ctx + self.mlp(layer_norm(ctx)),
                x + gate2 * self.mlp(modulate(layer_norm(x), shift2, scale2)))


# %% [markdown]
# The same weights in the package's `DiTBlock` and in ours (random, perturbed so that every gate is non-zero), the
# same inputs, both residual forms:

# %%
for seed, (F_, L_, D_, K_, official) in enumerate([(4, 3, 32, 2, False), (3, 5, 64, 0, False), (4, 3, 32, 2, True)]):
    torch.manual_seed(seed)
    pkg_block = perturbed(DiTBlock(D_, heads=4, official_residual=official), seed)
    our_block = Block(D_, heads=4, official=official)
    our_block.load_state_dict(pkg_block.state_dict(), strict=True)
    g = torch.Generator().manual_seed(seed)
    ctx, h, c = (torch.randn(2, K_, D_, generator=g), torch.randn(2, F_, L_, D_, generator=g) * 2 + 1,
                 torch.randn(2, F_, D_, generator=g))
    mask = attention_mask("causal", F_, L_, K_)
    with torch.no_grad():
        ours_out, pkg_out = our_block(ctx, h, c, mask), pkg_block(ctx, h, c, mask)[:2]
    diff = max(float((a - b).abs().max()) for a, b in zip(ours_out, pkg_out) if a.numel())   # context, video
    assert diff < 1e-5
    print(f"F={F_} L={L_} D={D_} K={K_} official={official!s:<5}: ours = package within 1e-5")

# %% [markdown]
# With every gate at zero, our pre-norm block is exactly the identity on the video, while the official form returns
# `LN(LN(x))`, a normalised stream, whatever came in:

# %%
zero_gates = Block(32, heads=4)
nn.init.zeros_(zero_gates.ada[1].weight)
nn.init.zeros_(zero_gates.ada[1].bias)
official_block = Block(32, heads=4, official=True)
official_block.load_state_dict(zero_gates.state_dict())
h = torch.randn(2, 4, 3, 32) * 3 + 1
no_ctx, c = torch.zeros(2, 0, 32), torch.randn(2, 4, 32)
with torch.no_grad():
    out_pre, out_official = zero_gates(no_ctx, h, c, None)[1], official_block(no_ctx, h, c, None)[1]
print(f"input: mean {float(h.mean()):.2f}, std {float(h.std()):.2f} | pre-norm block: identity "
      f"{torch.equal(out_pre, h)} | official block: mean {round(float(out_official.mean()), 2) + 0.0:.2f}, "
      f"std {float(out_official.std()):.2f}")
assert torch.equal(out_pre, h)
assert torch.allclose(out_official, layer_norm(layer_norm(h)), atol=1e-6)

# %% [markdown]
# > **Paper vs code: the residual stream.** The official block (`merge_mode="share_norm"` in
# > `src/ardiff/modules/dit_model.py`) first overwrites its input with `LN(x)` and adds the attention branch to that,
# > then overwrites the result with its `LN` and adds the MLP branch: the residual stream is re-normalised twice per
# > block and there is no identity path through the network. We use the clean pre-norm form,
# > `x = x + gate·Attn(mod(LN(x)))`, `x = x + gate·MLP(mod(LN(x)))`; `official_residual=True` gives the official
# > one. `tests/test_models.py::test_block_is_clean_pre_norm` pins both.
#
# ## 7. The whole forward pass
#
# Embed the tokens and add the positions (§2), turn the timesteps into one `c_f` per frame (§3), prepend the
# context (learned tokens, or a class token, §10), run the blocks with the mask (§5, §6), and read the video tokens
# out through a final layer that is itself per-frame modulated: `Linear(mod(LN(h)))` back to `C` channels.

# %%
class TinyDiT(nn.Module):
    """x (B, F, L, C), t (B, F) int, labels (B,) or None -> (B, F, L, C). Same parameter names as ardiff_edu's DiT."""

    def __init__(self, token_dim, num_tokens, max_frames, width, depth, heads, mask="causal", num_classes=None,
                 num_context_tokens=0, official_residual=False):
        super().__init__()
        self.num_tokens, self.width, self.mask_kind, self.null_label = num_tokens, width, mask, num_classes
        self.num_context = num_context_tokens if num_classes is None else max(num_context_tokens, 1)
        self.x_embed = nn.Linear(token_dim, width)
        self.register_buffer("pos", positions(max_frames, num_tokens, width), persistent=False)
        self.t_embed = nn.Sequential(nn.Linear(256, width), nn.SiLU(), nn.Linear(width, width))
        if num_classes is not None:                          # one row per class, plus the null label's row
            self.class_embed = nn.Embedding(num_classes + 1, self.num_context * width)
        elif num_context_tokens:
            self.context = nn.Parameter(torch.zeros(num_context_tokens, width))
        self.blocks = nn.ModuleList(Block(width, heads, official=official_residual) for _ in range(depth))
        self.ada_out = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.out = nn.Linear(width, token_dim)

    def forward(self, x, t, labels=None):
        B, F, L, _ = x.shape
        h = self.x_embed(x) + self.pos[:F]                                       # (B, F, L, D)
        c = self.t_embed(t_embedding(t))                                         # (B, F, D): one per frame
        if self.null_label is not None:
            labels = torch.full((B,), self.null_label) if labels is None else labels
            ctx = self.class_embed(labels).view(B, self.num_context, self.width)
        elif self.num_context:
            ctx = self.context[None].expand(B, -1, -1)
        else:
            ctx = h.new_zeros(B, 0, self.width)
        mask = block_causal_mask(self.mask_kind, F, L, self.num_context)
        for block in self.blocks:
            ctx, h = block(ctx, h, c, mask)
        shift, scale = self.ada_out(c).unsqueeze(2).chunk(2, dim=-1)             # the final layer: per frame too
        return self.out(modulate(layer_norm(h), shift, scale))                   # the context's outputs are dropped


# %% [markdown]
# **Small random DiTs.** For several configurations (masks, context tokens, class labels, both residual forms) we
# build the package's `DiT`, perturb all its weights, load its state dict into ours with `strict=True` (every name
# and shape must match) and compare the outputs on the same random inputs:

# %%
configs = [dict(mask="causal"), dict(mask="leaky", num_context_tokens=2), dict(mask="full"),
           dict(mask="causal", num_classes=3), dict(mask="causal", num_context_tokens=1, official_residual=True)]
for seed, extra in enumerate(configs):
    args = dict(token_dim=4, num_tokens=5, max_frames=6, width=32, depth=3, heads=4, **extra)
    torch.manual_seed(seed)
    pkg = perturbed(DiT(**args), seed)
    ours = TinyDiT(**args).eval()
    ours.load_state_dict(pkg.state_dict(), strict=True)
    g = torch.Generator().manual_seed(seed)
    x, t = torch.randn(2, 6, 5, 4, generator=g), torch.randint(0, 1000, (2, 6), generator=g)
    labels = torch.tensor([0, 3]) if "num_classes" in extra else None              # 3 = the null label
    with torch.no_grad():
        diff = float((ours(x, t, labels) - pkg(x, t, labels)).abs().max())
    assert diff < 1e-5
    print(", ".join(f"{k}={v!r}" for k, v in extra.items()) + ": ours = package within 1e-5")

# %% [markdown]
# **The shipped model.** Held-out clips, encoded and standardised by the pipeline (notebook 05), noised with one
# timestep per frame rising along the clip (earlier frames cleaner, as in AR-Diffusion), go through the shipped
# network and through ours with its weights:

# %%
cfg = pipe.config
ours = TinyDiT(shipped.token_dim, shipped.num_tokens, shipped.max_frames, shipped.width, shipped.depth,
               shipped.heads, mask=shipped.mask_kind, num_classes=shipped.num_classes,
               num_context_tokens=cfg.num_context_tokens, official_residual=shipped.official_residual).eval()
ours.load_state_dict(shipped.state_dict(), strict=True)
clips, _ = real_clips(pipe, num_videos=4, num_frames=shipped.max_frames, seed=0)
z0 = pipe.encode_video(to_float(clips))                                          # (4, F, L, C)
F16 = z0.shape[1]
t_rise = torch.linspace(0, pipe.noise_schedule.T - 1, F16).round().long().expand(len(z0), -1)
zt = pipe.noise_schedule.q_sample(z0, t_rise, noise=torch.randn(z0.shape, generator=torch.Generator().manual_seed(0)))
with torch.no_grad():
    x0_ours, x0_pkg = ours(zt, t_rise), shipped(zt, t_rise)
torch.testing.assert_close(x0_ours, x0_pkg, atol=1e-5, rtol=1e-5)
print(f"shipped model on x {tuple(zt.shape)}: ours = package within 1e-5 (+ 1e-5 relative; outputs up to "
      f"{float(x0_pkg.abs().max()):.1f}): the difference is float32 rounding, fused attention vs ours")

# %%
shown = list(range(0, F16, 3))
fig, axes = plt.subplots(3, 1, figsize=(7.5, 4.6), layout="constrained")
frame_labels = [f"t={int(t_rise[0, f])}" for f in shown]
draw_clip(axes[0], pipe.decode_video(z0[:1, shown])[0], labels=[f"frame {f}" for f in shown], title="clean clip")
draw_clip(axes[1], pipe.decode_video(zt[:1, shown])[0], labels=frame_labels,
          title="input: noised per frame (decoded to pixels)")
draw_clip(axes[2], pipe.decode_video(x0_ours[:1, shown])[0], labels=frame_labels,
          title="our forward pass with the shipped weights: predicted clean clip")
plt.show()
err = ((x0_ours - z0) ** 2).mean(dim=(0, 2, 3))
print("prediction error per frame (MSE of standardised latents):", [round(float(e), 2) for e in err])
assert err[0] < err[-1]                 # a frame with little noise is predicted better than a fully noised one

# %% [markdown]
# > **Paper vs code: the final layer.** The official final layer is a plain `LayerNorm → Linear(D → C)`
# > (`final_layer` of `DiT_crossattn` in `src/ardiff/modules/dit_model.py`); the timestep does not reach it. Ours,
# > like the original DiT, modulates that LayerNorm per frame with a shift and scale from `c_f` (`ada_out`, zero at
# > initialisation, so a fresh model starts as the plain form). `tests/test_models.py::test_final_layer_is_per_frame_adaln`
# > pins ours and that zeroing `ada_out` gives the official form:

# %%
plain = TinyDiT(4, 5, 6, 32, 2, 4).eval()
plain.load_state_dict(perturbed(DiT(4, 5, max_frames=6, width=32, depth=2, heads=4), 0).state_dict())
h = torch.randn(2, 6, 5, 32)
c_a, c_b = torch.randn(2, 6, 32), torch.randn(2, 6, 32)
with torch.no_grad():
    head = lambda c: plain.out(modulate(layer_norm(h), *plain.ada_out(c).unsqueeze(2).chunk(2, dim=-1)))  # noqa: E731
    moved = float((head(c_a) - head(c_b)).abs().max())
    nn.init.zeros_(plain.ada_out[1].weight)
    nn.init.zeros_(plain.ada_out[1].bias)
    official_head = plain.out(layer_norm(h))
print(f"our final layer moves with the timestep (max change {moved:.2f}); with ada_out = 0 it is the official "
      f"LN -> Linear: {torch.allclose(head(c_a), official_head, atol=1e-6)}")
assert moved > 1e-3 and torch.allclose(head(c_a), official_head, atol=1e-6)

# %% [markdown]
# ## 8. Causality, proved numerically, and broken on purpose
#
# Claim: under the causal mask, changing the latents or timesteps of frames `≥ k` never changes the outputs of
# frames `< k`. We perturb frames `≥ k` for every `k`, over several seeds and sizes, for the package's DiT and for
# ours, and measure the largest change of an earlier frame's output. Causal: exactly zero (a masked score gets
# weight exactly 0). Then the same test on the full mask and on the leaky one with context tokens must find a
# change: the test can fail, and it does when causality is broken.

# %%
def past_change(model, x, t, k, labels=None) -> float:
    """Max |change| of the outputs of frames < k when the latents and timesteps of frames >= k change."""
    g = torch.Generator().manual_seed(k)
    x2, t2 = x.clone(), t.clone()
    x2[:, k:] += torch.randn(x2[:, k:].shape, generator=g)
    t2[:, k:] = (t2[:, k:] + 321) % 1000
    with torch.no_grad():
        return float((model(x, t, labels)[:, :k] - model(x2, t2, labels)[:, :k]).abs().max())


sizes = [(4, 3, 16, 2), (6, 5, 32, 4), (8, 2, 32, 2)]      # (F, L, D, heads)
worst = {}
for mask, K in (("causal", 0), ("causal", 2), ("full", 0), ("leaky", 2)):
    changes = []
    for seed in range(3):
        for F_, L_, D_, heads in sizes:
            args = dict(token_dim=4, num_tokens=L_, max_frames=F_, width=D_, depth=2, heads=heads, mask=mask,
                        num_context_tokens=K)
            torch.manual_seed(seed)
            pkg = perturbed(DiT(**args), seed)
            ours = TinyDiT(**args).eval()
            ours.load_state_dict(pkg.state_dict())
            g = torch.Generator().manual_seed(100 + seed)
            x, t = torch.randn(2, F_, L_, 4, generator=g), torch.randint(0, 1000, (2, F_), generator=g)
            changes += [past_change(m, x, t, k) for m in (pkg, ours) for k in range(1, F_)]
    worst[(mask, K)] = max(changes)
    print(f"mask {mask!r:<8} K={K}: {len(changes)} checks (3 seeds x {len(sizes)} sizes x every k, package and "
          f"ours), largest change of an earlier frame: {worst[(mask, K)]:.2g}")
assert worst[("causal", 0)] == 0.0 and worst[("causal", 2)] == 0.0          # causal: the past never moves
assert worst[("full", 0)] > 1e-3 and worst[("leaky", 2)] > 1e-3             # broken: the test catches it

# %% [markdown]
# Where does a change go? Perturb one frame `k` at a time (latents only) and record the largest change of every
# output frame: the **influence matrix** of a model. Causal: a lower triangle (grey = exactly 0); full: everything
# moves; leaky: everything moves too, through the context.

# %%
def influence(model, x, t) -> torch.Tensor:
    """(F, F): [k, f] = max |change| of output frame f when the latents of frame k are perturbed."""
    F_ = x.shape[1]
    with torch.no_grad():
        y = model(x, t)
        rows = []
        for k in range(F_):
            x2 = x.clone()
            x2[:, k] += 1.0
            rows.append((model(x2, t) - y).abs().amax(dim=(0, 2, 3)))
    return torch.stack(rows)


F8 = 8
g = torch.Generator().manual_seed(7)
x, t = torch.randn(1, F8, 3, 4, generator=g), torch.randint(0, 1000, (1, F8), generator=g)
fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.4), layout="constrained")
cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
for ax, (mask, K) in zip(axes, (("causal", 0), ("full", 0), ("leaky", 2))):
    torch.manual_seed(0)
    model = perturbed(DiT(4, 3, max_frames=F8, width=32, depth=2, heads=4, mask=mask, num_context_tokens=K), 0)
    infl = influence(model, x, t)
    if mask == "causal":                                 # output frame f moves exactly when k <= f
        after = torch.ones(F8, F8, dtype=torch.bool).tril(-1)                # [k, f] with k > f
        assert (infl[after] == 0).all() and (infl[~after] > 0).all()
    shown_infl = np.ma.masked_where(infl.numpy().T == 0, np.log10(infl.numpy().T.clip(1e-30)))
    im = ax.imshow(shown_infl, cmap=cmap, vmin=-4, vmax=1, origin="lower")
    ax.set(xlabel="perturbed frame k", ylabel="output frame f", title=f"{mask!r}" + (f", K={K}" if K else ""))
    integer_ticks(ax)
fig.colorbar(im, ax=axes, label="log10 max |change| (grey: exactly 0)", shrink=0.85)
plt.show()

# %% [markdown]
# Strict causality is what lets the sampler treat a finished frame as final while later frames are still noisy,
# and what makes the model usable as a video *predictor* (notebook 08). It also makes the next trick exact.
#
# ## 9. The KV cache the sampler relies on
#
# In a block, a frame's keys and values depend only on that frame and the frames before it. So once the first `k`
# frames of a window are finished, their keys and values in every block can be **cached**; the later frames' queries
# attend to the cached keys plus their own, and the network runs only over the later frames.
# `DiT.forward_frames(x, t, labels, past, first_frame)` does that (`ardiff_edu.ddim.KVCache` uses it while
# sampling). It must equal the full forward pass for those frames:

# %%
def cached_vs_full(model, x, t, k, labels=None) -> float:
    with torch.no_grad():
        full = model(x, t, labels)
        head_out, past = model.forward_frames(x[:, :k], t[:, :k], labels)              # frames < k, their k/v
        tail_out, _ = model.forward_frames(x[:, k:], t[:, k:], labels, past=past, first_frame=k)
    assert torch.allclose(head_out, full[:, :k], atol=1e-5)
    return float((tail_out - full[:, k:]).abs().max())


torch.manual_seed(3)
class_model = perturbed(DiT(4, 5, max_frames=6, width=32, depth=3, heads=4, num_classes=3), 3)
x6, t6 = torch.randn(2, 6, 5, 4), torch.randint(0, 1000, (2, 6))
for name, model, x, t, labels in [("shipped", shipped, zt, t_rise, None),
                                  ("random, class token", class_model, x6, t6, torch.tensor([1, 3]))]:
    diffs = [cached_vs_full(model, x, t, k, labels) for k in range(1, x.shape[1])]
    assert max(diffs) < 1e-5
    print(f"{name:<20}: cached forward = full forward within 1e-5, for every split k = 1 .. {x.shape[1] - 1}")

leaky_model = DiT(4, 5, max_frames=6, mask="leaky", num_context_tokens=2)
try:
    leaky_model.forward_frames(x6[:, 3:], t6[:, 3:], past=leaky_model.forward_frames(x6[:, :3], t6[:, :3])[1],
                               first_frame=3)
except ValueError as err:
    print("leaky mask:", str(err)[:95], "...")
else:
    raise AssertionError("a leaky model must refuse cached keys and values")

# %% [markdown]
# ## 10. Context tokens, class conditioning and the null label
#
# A class-conditional model prepends **class tokens** from a table of `num_classes + 1` embeddings, looked up by
# label. The extra last row, `num_classes`, is the **null label** that classifier-free guidance needs; `labels=None`
# means null. An unconditional model may prepend `num_context_tokens` learned vectors instead (the official
# `context_emb`), or nothing (our default).

# %%
torch.manual_seed(4)
net = perturbed(DiT(4, 5, max_frames=6, width=32, depth=2, heads=4, num_classes=3), 4)
with torch.no_grad():
    y_null, y_none, y_0 = net(x6, t6, torch.tensor([3, 3])), net(x6, t6), net(x6, t6, torch.tensor([0, 0]))
print("null label index:", net.null_label, "| embedding rows:", net.class_embed.num_embeddings,
      "| class embeddings are trained parameters:", any(p is net.class_embed.weight for p in net.parameters()))
assert torch.equal(y_null, y_none) and not torch.allclose(y_0, y_null)
assert any(p is net.class_embed.weight for p in net.parameters())

# %% [markdown]
# > **Paper vs code: the class and context embeddings.** The official UCF-101 config uses 0-based class ids *and*
# > index 0 as the null label, so class 0 and "no class" share one embedding; we give the null label its own row
# > (`tests/test_models.py::test_null_label`). The official code also builds its optimizer from
# > `model.diffusion_model.parameters()`, which does not include `context_emb` / `class_emb` (they live outside the
# > DiT, in `src/ardiff/base.py`): those embeddings are **never trained** and keep their random initialisation. Ours
# > live inside the `DiT`, so `AdamW(model.parameters())` trains them
# > (`tests/test_train.py::test_class_conditional_stage` checks that they change during training).
#
# ## Summary
#
# | piece | ours | official |
# |---|---|---|
# | token embedding | `Linear(C → D)`, no patchify | same |
# | positions | fixed 2-D sin-cos: half frame, half token | fixed 1-D sin-cos over the flat index |
# | timestep | per frame, adaLN-Zero on that frame's tokens | same |
# | block | clean pre-norm | residual stream re-normalised by `LN` |
# | final layer | per-frame adaLN, then `Linear` | `LN → Linear` |
# | mask | strict `causal` (default), `leaky`, `full` | `leaky` (`video_temporal_causal`) in every final config |
# | context / class | none by default; trained class tokens, null = `num_classes` | 77 untrained context tokens, null = class 0 |
# | KV cache | exact under `causal` (`forward_frames`) | none |
#
# ## 11. Exercises
#
# ### Exercise 1
#
# Build the official **leaky** mask from the strictly causal one: write `leaky(causal_mask, num_context_tokens)`
# that returns a new mask in which the context rows see every token, and leaves the video rows alone. The checker
# compares it with `attention_mask("leaky", ...)` over several `(F, L, K)`. Draw yours next to the causal one for
# `F = 3, L = 2, K = 1` and find the entries that let the future in.

# %%
from ardiff_edu.exercises.nb06 import check_causality_detector, check_frame_modulation, check_leaky_from_causal


def leaky(causal_mask, num_context_tokens):
    raise NotImplementedError

# check_leaky_from_causal(leaky)

# %% tags=["solution"] jupyter={"source_hidden": true}
def leaky(causal_mask, num_context_tokens):
    mask = causal_mask.clone()
    mask[:num_context_tokens] = True            # the context rows: every key, future frames included
    return mask


new_entries = (leaky(attention_mask("causal", 3, 2, 1), 1) & ~attention_mask("causal", 3, 2, 1)).nonzero().tolist()
print("entries the leak adds (query, key):", new_entries)
assert check_leaky_from_causal(leaky)
check_leaky_from_causal(leaky)

# %% [markdown]
# ### Exercise 2
#
# Write a **causality detector** `sees_the_future(model, x, t)`: return `True` when some output of an earlier
# frame changes after you change the latents or timesteps of later frames, `False` otherwise. Run it on a causal
# DiT, then switch the mask to `"full"` and watch it flag the model. The checker runs it on causal, leaky and full
# DiTs of several sizes and seeds. Why must it try more than one split point `k`? And why does a leaky DiT with a
# single block pass as causal (try it)?

# %%
def sees_the_future(model, x, t):
    raise NotImplementedError

# check_causality_detector(sees_the_future)

# %% tags=["solution"] jupyter={"source_hidden": true}
def sees_the_future(model, x, t):
    return any(past_change(model, x, t, k) > 1e-6 for k in range(1, x.shape[1]))


torch.manual_seed(0)
for mask in ("causal", "full"):
    model = perturbed(DiT(4, 3, max_frames=5, width=32, depth=2, heads=4, mask=mask), 0)
    print(f"mask={mask!r}: sees the future: {sees_the_future(model, torch.randn(1, 5, 3, 4), torch.arange(5)[None])}")
assert check_causality_detector(sees_the_future)
check_causality_detector(sees_the_future)

# %% [markdown]
# ### Exercise 3
#
# Write the adaLN modulation of **one frame**: `modulate_frame(block, h, c)` takes a block, one frame's tokens
# `h (L, D)` and that frame's conditioning vector `c (D,)`, and returns `LN(h)·(1 + scale) + shift` with the
# attention branch's shift and scale from `block.ada(c)` (the first two of its six chunks). The checker compares it,
# frame by frame, with what the package's block computes for whole clips. Then check on a clip that doing it frame
# by frame equals `frame_modulation` on all frames at once.

# %%
def modulate_frame(block, h, c):
    raise NotImplementedError

# check_frame_modulation(modulate_frame)

# %% tags=["solution"] jupyter={"source_hidden": true}
def modulate_frame(block, h, c):
    shift, scale = block.ada(c).chunk(6, dim=-1)[:2]                    # (D,) each: this frame's vectors
    return layer_norm(h) * (1 + scale) + shift                           # broadcast over the frame's L tokens


torch.manual_seed(0)
blk = perturbed(DiTBlock(32, heads=4), 0)
hh, cc = torch.randn(1, 4, 3, 32), torch.randn(1, 4, 32)
with torch.no_grad():
    sh, sc = frame_modulation(blk.ada, cc)[:2]
    whole = modulate(layer_norm(hh), sh, sc)
    by_frame = torch.stack([modulate_frame(blk, hh[0, f], cc[0, f]) for f in range(4)])[None]
print("frame by frame == all frames at once:", torch.allclose(whole, by_frame, atol=1e-6))
assert torch.allclose(whole, by_frame, atol=1e-6)
assert check_frame_modulation(modulate_frame)
check_frame_modulation(modulate_frame)
