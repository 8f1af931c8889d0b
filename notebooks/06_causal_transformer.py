# %% [markdown]
# # 06 · The temporal-causal transformer
#
# Notebook 05 turned every frame into `L = 16` tokens of `C = 8` channels, so a clip is a latent tensor
# `(B, F, L, C)`. This notebook opens the network that denoises it: a small **DiT** (diffusion transformer) with two
# changes that make AR-Diffusion work:
#
# 1. every frame has **its own timestep** `t_f`, and it reaches that frame's tokens only (per-frame adaLN);
# 2. the attention is **block-causal**: frame `i` sees frames `≤ i` and nothing later.
#
# Everything comes from `ardiff_edu.models`; the cells below look inside, draw the masks and prove the claims.

# %%
import matplotlib.pyplot as plt
import torch

from ardiff_edu.models import DiT, attention_mask, sincos_positions, timestep_embedding
from ardiff_edu.utils import seed_all

seed_all(0)
torch.set_num_threads(2)
plt.rcParams.update({"figure.dpi": 70, "font.size": 8})

# %% [markdown]
# ## 1. The shipped model's size
#
# The `balls` preset: width `D = 128`, 4 blocks, 4 heads, MLP ×4, windows of up to 16 frames.
# A window of 16 frames is `16 × 16 = 256` tokens. Each token `(C,)` is embedded by a single `Linear(C → D)`:
# there is no patchify, exactly as in the official code.

# %%
model = DiT(token_dim=8, num_tokens=16, max_frames=16, width=128, depth=4, heads=4)
n_params = sum(p.numel() for p in model.parameters())
print(f"parameters: {n_params / 1e6:.2f} M  (the official DiT-XL: ~672 M)")
print(f"mask: {model.mask_kind!r}, prediction: {model.prediction!r}")
assert 1.0e6 < n_params < 1.5e6

# %% [markdown]
# ## 2. Positions and timesteps
#
# A fixed sin-cos position is added to every token: half of the `D` dimensions encode the **frame index**, the other
# half the **token index** inside the frame. Frame indices count from the start of the window, so a sliding window
# always sees the positions it was trained with.
#
# The timesteps `t` are `(B, F)`: each frame's integer timestep gets a 256-dim sinusoidal embedding and a small MLP,
# giving **one conditioning vector per frame**.

# %%
pos = sincos_positions(16, 16, 128)
emb = timestep_embedding(torch.tensor([[0, 250, 500, 999]]))
print("positions:", tuple(pos.shape), " timestep embedding of (1, 4) timesteps:", tuple(emb.shape))
# the first half of a position depends only on the frame, the second half only on the token
assert torch.equal(pos[3, :, :64], pos[3, :1, :64].expand(16, -1))
assert torch.equal(pos[:, 5, 64:], pos[:1, 5, 64:].expand(16, -1))

fig, ax = plt.subplots(1, 2, figsize=(8, 2.2))
ax[0].imshow(pos.reshape(256, 128).T, aspect="auto", cmap="RdBu")
ax[0].set(title="sin-cos positions (frame-major tokens)", xlabel="token index in the window (f·L + l)",
          ylabel="dimension")
ax[1].imshow(emb[0].T, aspect="auto", cmap="RdBu")
ax[1].set(title="timestep embedding", xticks=range(4), xticklabels=[0, 250, 500, 999], xlabel="t", ylabel="dim")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Per-frame adaLN-Zero
#
# In a DiT block every LayerNorm is followed by a *modulation* `x·(1 + scale) + shift` and every residual branch is
# multiplied by a *gate*; shift, scale and gate come from the timestep vector through a linear layer
# (`6·D` numbers per block). In AR-Diffusion the timestep vector is **per frame**, so the six vectors are computed
# per frame and broadcast to the `L` tokens of that frame only.
#
# **adaLN-Zero** initialises those linear layers (and the output layer) at zero: every gate is 0, every block starts
# as the identity, and a fresh network outputs exactly 0, i.e. it predicts `x0 = 0`, the mean of the latents.

# %%
x = torch.randn(2, 16, 16, 8)
t = torch.randint(0, 1000, (2, 16))
with torch.no_grad():
    y = model(x, t)
print("output of a fresh model: shape", tuple(y.shape), " max |y| =", float(y.abs().max()))
assert torch.equal(y, torch.zeros_like(y))

# %% [markdown]
# > **Paper vs code: the residual stream.** The official block (`share_norm` in `dit_model.py`) first overwrites its
# > input with `LN(x)` and then adds the attention and MLP branches to that, so the residual stream is re-normalised
# > in every block and there is no identity path through the network. We use the clean pre-norm form,
# > `x = x + gate·Attn(mod(LN(x)))`, `x = x + gate·MLP(mod(LN(x)))`: with all gates at zero our block is exactly the
# > identity, which `tests/test_models.py::test_block_is_clean_pre_norm` pins (the official one would return `LN(x)`).

# %%
block = model.blocks[0]
h = torch.randn(2, 16 * 16, 128) * 3 + 1
c = torch.randn(2, 16, 128)
assert torch.equal(block(h, c, 0, 16, None), h)
print("a zero-gated block is the identity:", torch.equal(block(h, c, 0, 16, None), h))

# %% [markdown]
# To look at what the network does, we give the zero-initialised layers random weights (a trained network has
# non-zero ones; notebook 07 trains it).

# %%
def randomized(m, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return m.eval()


net = randomized(DiT(token_dim=8, num_tokens=16, max_frames=16, width=64, depth=2, heads=4))
t2 = t.clone()
t2[:, 5] = (t2[:, 5] + 500) % 1000          # change the timestep of frame 5 only
with torch.no_grad():
    diff = (net(x, t) - net(x, t2)).abs().amax(dim=(0, 2, 3))
print("max |change| per frame after changing t of frame 5:", [round(float(d), 3) for d in diff])
assert (diff[:5] == 0).all() and (diff[5:] > 0).all()

# %% [markdown]
# Frames 0–4 do not move at all: frame 5's timestep modulates only frame 5's tokens, and causal attention carries
# the change only forward, to frames 5–15.
#
# ## 4. The three masks
#
# `attention_mask(kind, num_frames, num_tokens, num_context_tokens)` returns a boolean matrix for
# `torch.nn.functional.scaled_dot_product_attention` (`True` = may attend; rows are queries, columns keys). Context
# tokens (here one class token) come first, then the video frame by frame. Drawn for 4 frames of 3 tokens (dark =
# may attend; the red lines separate the context token and the frames):

# %%
kinds = ("causal", "leaky", "full")
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
for ax, kind in zip(axes, kinds):
    m = attention_mask(kind, 4, 3, num_context_tokens=1)
    ax.imshow(m, cmap="Greys", vmin=0, vmax=1.4)
    ax.set(title=kind, xlabel="key", ylabel="query", xticks=[0, 1, 4, 7, 10], yticks=[0, 1, 4, 7, 10])
    for b in (0.5, 3.5, 6.5, 9.5):
        ax.axhline(b, color="tab:red", lw=0.5)
        ax.axvline(b, color="tab:red", lw=0.5)
fig.tight_layout()
plt.show()

causal, leaky = attention_mask("causal", 4, 3, 1), attention_mask("leaky", 4, 3, 1)
assert causal[0].tolist() == [True] + [False] * 12          # causal: the context sees only itself
assert leaky[0].all()                                       # leaky: the context sees every frame
assert torch.equal(causal[1:], leaky[1:])                   # the video rows are the same
assert causal[1:4, 1:4].all() and not causal[1:4, 4:].any()  # frame 0: its own 3 tokens, nothing later

# %% [markdown]
# * **causal** (official `temporal_causal`): a token of frame `i` sees the context and every token of frames `≤ i`,
#   with full attention inside its own frame; the context sees only the context.
# * **leaky** (official `video_temporal_causal`): the same video rows, but the context rows see *every* frame.
# * **full**: bidirectional; the Diffusion-Forcing baseline configs use it.
#
# > **Paper vs code: the leaky context.** The paper describes a temporally causal model, but every final config uses
# > `video_temporal_causal`: its 77 context tokens read all frames, future ones included, and in the next layer
# > earlier frames read the context. Information from the future therefore reaches the past through the context
# > tokens, so the official model is "block-causal plus a global scratchpad", not strictly causal. Our default is the
# > strict `"causal"` mask; `mask="leaky"` reproduces the official one. `tests/test_models.py::test_causality` pins
# > both: perturbing frames `≥ k` leaves frames `< k` unchanged under `"causal"`, and changes them under `"leaky"`.
#
# ## 5. Causality, proved numerically
#
# Perturb the latents and timesteps of frames `≥ k` and compare the outputs of frames `< k`. We use a
# class-conditional model so that there is a context token through which the leaky mask can leak.

# %%
k = 6
x_future = x.clone()
x_future[:, k:] += torch.randn_like(x_future[:, k:])
t_future = t.clone()
t_future[:, k:] = (t_future[:, k:] + 321) % 1000
labels = torch.tensor([0, 2])
changes = {}
for kind in kinds:
    net = randomized(DiT(token_dim=8, num_tokens=16, max_frames=16, width=64, depth=2, heads=4, mask=kind,
                         num_classes=3))
    with torch.no_grad():
        a, b = net(x, t, labels), net(x_future, t_future, labels)
    changes[kind] = float((a[:, :k] - b[:, :k]).abs().max())
    print(f"{kind:>6}: max |change| of frames < {k} = {changes[kind]:.3g}")
assert changes["causal"] == 0.0
assert changes["leaky"] > 1e-4 and changes["full"] > 1e-4

# %% [markdown]
# Under the strict mask the past is bit-for-bit unaffected by the future; the leaky and full masks let it in.
# Strict causality is what lets the sampler treat a finished frame as final while later frames are still noisy,
# and what makes the model usable as a video *predictor* (notebook 08).
#
# ## 6. Class conditioning and the null label
#
# A class-conditional model prepends one **class token** from a table of `num_classes + 1` embeddings. The extra
# last index, `num_classes`, is the **null label** that classifier-free guidance needs; `labels=None` means null.

# %%
net = randomized(DiT(token_dim=8, num_tokens=16, max_frames=16, width=64, depth=2, heads=4, num_classes=3))
with torch.no_grad():
    y_null, y_none, y_0 = net(x, t, torch.tensor([3, 3])), net(x, t), net(x, t, torch.tensor([0, 0]))
print("null label index:", net.null_label, "| embeddings:", net.class_embed.num_embeddings)
assert torch.equal(y_null, y_none) and not torch.allclose(y_0, y_null)

# %% [markdown]
# > **Paper vs code: the class and context embeddings.** The official UCF-101 config uses 0-based class ids *and*
# > index 0 as the null label, so class 0 and "no class" share one embedding; we give the null label its own index.
# > The official code also builds its optimizer from `model.diffusion_model.parameters()`, which does not include
# > `context_emb` / `class_emb`: those embeddings are **never trained** and keep their random initialisation. Ours
# > live inside the `DiT`, so `AdamW(model.parameters())` trains them;
# > `tests/test_train.py::test_class_conditional_stage` checks that the class embeddings change during training.

# %%
print("class embeddings are model parameters:", any(p is net.class_embed.weight for p in net.parameters()))
assert any(p is net.class_embed.weight for p in net.parameters())

# %% [markdown]
# ## Summary
#
# | piece | ours | official |
# |---|---|---|
# | token embedding | `Linear(C → D)`, no patchify | same |
# | positions | fixed sin-cos, half frame / half token | fixed 1-D sin-cos over the flat index |
# | timestep | per frame, adaLN-Zero on that frame's tokens | same |
# | block | clean pre-norm | residual stream overwritten by `LN(x)` |
# | mask | strict `causal` (default), `leaky`, `full` | `leaky` in every final config |
# | class / context | one trained class token, null = `num_classes` | 77 untrained context tokens, null = class 0 |
