# %% [markdown]
# # 05 · The frame tokenizer: from pixels to tokens, built from scratch
#
# AR-Diffusion never denoises pixels. A **tokenizer** first compresses every frame, on its own, into a few tokens;
# the diffusion model works on those tokens, and the tokenizer's decoder turns the result back into frames.
#
# This notebook writes that tokenizer from scratch in about thirty lines, loads the weights of the shipped
# checkpoint (`data/checkpoints/balls.pt`) into it, and proves that it computes exactly what the package's
# `ardiff_edu.models.FrameTokenizer` computes. Then it opens the tokens up:
#
# 1. the idea and the code (an encoder down to a `g × g` grid of `C` numbers, a mirrored decoder);
# 2. the shipped weights in our module: the same tokens and frames as the package (to within 1e-6);
# 3. the `L = g²` tokens of a frame as a grid, and what the `C` channels of a token encode;
# 4. reconstruction quality: pixels, and the ball tracker's statistics of real vs reconstructed clips;
# 5. the per-channel standardisation the diffusion stage applies, and the official L2-normalisation instead;
# 6. exercises.
#
# Vocabulary: pixel frames are float `(N, 3, H, W)` in [-1, 1]; a frame's tokens are `(L, C)`; a clip's latents are
# `(B, F, L, C)`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

from ardiff_edu.figures import draw_clip
from ardiff_edu.metrics import ball_stats, detect_blobs, format_table
from ardiff_edu.models import FrameTokenizer
from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, load_pipeline, real_clips
from ardiff_edu.utils import seed_all
from ardiff_edu.video import to_float, to_uint8

seed_all(0)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

# %% [markdown]
# ## 1. The idea, then the code
#
# A convolution with a 4×4 kernel and **stride 2** halves the height and width of a feature map. Three of them take
# a 32×32 frame to a 4×4 grid. A final 1×1 convolution turns the features of each grid cell into `C` numbers. Read
# the grid row by row and each cell is one **token**: `L = g²` tokens of `C` channels. Nothing mixes frames: a clip
# is coded frame by frame.
#
# The decoder is the mirror image: a 1×1 convolution back to many features, transposed convolutions that each
# double the resolution, and a 3×3 convolution to the three colour channels. SiLU non-linearities sit between all
# layers. The feature widths grow as the grid shrinks (`w, 2w, 2w, 4w, ...`), so no layer becomes a bottleneck
# before the last one.

# %%
class Tokenizer(nn.Module):
    """Frames (N, 3, H, W) in [-1, 1] <-> tokens (N, L, C), L = grid², each frame on its own."""

    MULTS = (1, 2, 2, 4, 4, 4, 4)          # feature width per resolution, in units of `width`

    def __init__(self, image_size: int = 32, token_dim: int = 8, width: int = 32, grid: int = 4):
        super().__init__()
        self.grid, self.token_dim = grid, token_dim
        n_down = int(math.log2(image_size // grid))                  # 32 -> 4: three halvings
        w = [width * m for m in self.MULTS[: n_down + 1]]             # e.g. 32, 64, 64, 128
        enc = [nn.Conv2d(3, w[0], 3, padding=1)]                      # full resolution
        for a, b in zip(w[:-1], w[1:]):
            enc += [nn.SiLU(), nn.Conv2d(a, b, 4, stride=2, padding=1)]           # H, W -> H/2, W/2
        enc += [nn.SiLU(), nn.Conv2d(w[-1], token_dim, 1)]            # C numbers per grid cell
        dec = [nn.Conv2d(token_dim, w[-1], 1)]
        for a, b in zip(w[::-1][:-1], w[::-1][1:]):
            dec += [nn.SiLU(), nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)]  # H, W -> 2H, 2W
        dec += [nn.SiLU(), nn.Conv2d(w[0], 3, 3, padding=1)]          # back to RGB
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        z = self.encoder(frames)                                      # (N, C, g, g)
        return z.flatten(2).transpose(1, 2)                           # (N, g·g, C): cells row by row = tokens

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        grid = tokens.transpose(1, 2).reshape(len(tokens), self.token_dim, self.grid, self.grid)
        return self.decoder(grid)                                     # (N, 3, H, W), not clamped


# %% [markdown]
# Follow one frame through the encoder and watch the grid shrink while the features grow:

# %%
ours = Tokenizer().eval()
h = torch.zeros(1, 3, 32, 32)
print(f"{'encoder layer':<34}output (channels, H, W)")
with torch.no_grad():
    for layer in ours.encoder:
        h = layer(h)
        if isinstance(layer, nn.Conv2d):
            k, s = layer.kernel_size[0], layer.stride[0]
            name = f"conv {k}x{k}, stride {s}, {layer.in_channels} -> {layer.out_channels}"
            print(f"{name:<34}{tuple(h.shape[1:])}")
    tokens = ours.encode(torch.zeros(1, 3, 32, 32))
print("tokens of the frame (L, C):", tuple(tokens.shape[1:]))
pixels, numbers = 3 * 32 * 32, tokens[0].numel()
print(f"{pixels} numbers per frame -> {numbers} numbers: {pixels / numbers:g}x fewer")
assert tokens.shape == (1, 16, 8) and pixels / numbers == 24

# %% [markdown]
# ## 2. The shipped weights in our module
#
# The shipped checkpoint holds a trained tokenizer. Our module names its layers exactly as the package does
# (`encoder.0`, `encoder.2`, ...: the SiLUs have no weights), so its state dict loads with `strict=True`, which
# fails on any missing, extra or mis-shaped tensor. Then we encode and decode held-out clips (never seen in
# training) with both and compare.

# %%
pipe = load_pipeline(DEFAULT_CHECKPOINT)
cfg = pipe.config
shipped = pipe.tokenizer
ours = Tokenizer(cfg.image_size, cfg.token_dim, cfg.tok_width, shipped.grid).eval()
ours.load_state_dict(shipped.state_dict(), strict=True)
print(f"grid {shipped.grid}x{shipped.grid} -> L = {shipped.num_tokens} tokens of C = {shipped.token_dim} channels; "
      f"{sum(p.numel() for p in ours.parameters()) / 1e6:.2f} M parameters")

clips, _ = real_clips(pipe, num_videos=32, num_frames=16, seed=0)   # uint8 (B, F, H, W, 3), held out
video = to_float(clips)                                             # float (B, F, 3, H, W) in [-1, 1]
frames = video.flatten(0, 1)                                        # (B·F, 3, H, W): a clip is coded frame by frame
with torch.no_grad():
    tok_ours, tok_pkg = ours.encode(frames), shipped.encode(frames)
    rec_ours, rec_pkg = ours.decode(tok_ours), shipped.decode(tok_pkg)
assert (tok_ours - tok_pkg).abs().max() <= 1e-6 and (rec_ours - rec_pkg).abs().max() <= 1e-6
print(f"{len(frames)} held-out frames: our tokens and decoded frames = the package's, within 1e-6")
assert torch.equal(shipped.encode_video(video).flatten(0, 1), tok_pkg)        # encode_video = per-frame encode

# %% [markdown]
# ## 3. The tokens of a frame
#
# Each token belongs to one cell of the grid: with a 4×4 grid on 32×32 pixels a cell is 8×8 pixels, and the tokens
# are numbered row by row. (A token "sees" more than its cell: the convolutions' receptive field spans
# neighbouring cells, but the token sits at its cell.) We look at the held-out clip with the most balls in its
# first frame, found with the ball tracker's blob detector.

# %%
ex = int(np.argmax([len(clip[0]) for clip in detect_blobs(clips[:, :1])[0]]))    # the clip shown below
g, cell = shipped.grid, cfg.image_size // shipped.grid
fig, ax = plt.subplots(figsize=(3.4, 3.4))
ax.imshow(clips[ex, 0], interpolation="nearest")
for k in range(1, g):
    ax.axhline(k * cell - 0.5, color="white", lw=0.8)
    ax.axvline(k * cell - 0.5, color="white", lw=0.8)
for l in range(g * g):  # noqa: E741
    ax.text((l % g + 0.5) * cell - 0.5, (l // g + 0.5) * cell - 0.5, str(l), color="yellow", ha="center",
            va="center", fontsize=10)
ax.set(xticks=[], yticks=[], title=f"held-out frame: token l sits in cell\n(row l // {g}, column l % {g})")
fig.tight_layout()
plt.show()

# %% [markdown]
# **What do the channels hold?** Below, every row is one channel `c` of the tokens, drawn as the `g × g` grid, for
# a few frames of one clip. The values are standardised per channel (`(token − mean_c) / std_c`, the statistics of
# section 5) so that one colour scale fits every row. The ball's cells light up in some channels and go dark in
# others; the empty cells sit near zero.

# %%
shown = list(range(0, 16, 3))
z_clip = ((tok_pkg.unflatten(0, video.shape[:2])[ex] - pipe.latent_mean) / pipe.latent_std)  # (F, L, C)
C = shipped.token_dim
fig, axes = plt.subplots(C + 1, len(shown), figsize=(1.1 * len(shown) + 1.2, 1.05 * (C + 1)))
lim = float(z_clip[shown].abs().max())
for j, f in enumerate(shown):
    axes[0, j].imshow(clips[ex, f], interpolation="nearest")
    axes[0, j].set_title(f"frame {f}", fontsize=10)
    for c in range(C):
        im = axes[c + 1, j].imshow(z_clip[f, :, c].reshape(g, g), cmap="RdBu_r", vmin=-lim, vmax=lim,
                                   interpolation="nearest")
for c in range(C):
    axes[c + 1, 0].set_ylabel(f"ch {c}", fontsize=10)
for a in axes.flat:
    a.set_xticks([])
    a.set_yticks([])
fig.colorbar(im, ax=axes[1:], shrink=0.6, label="standardised token value")
fig.suptitle("token channels over a held-out clip (each map: the g×g grid)", fontsize=10)
plt.show()

# %% [markdown]
# To say *what* each channel encodes, we measure a few properties of every grid cell on the pixels and correlate
# them with the channel values over all held-out frames:
#
# * **ball coverage**: the fraction of the cell's pixels that belong to a ball (over all cells);
# * **red, green, blue**: the cell's ball colour (each pixel scaled so that its brightest channel is 1, averaged over
#   the ball pixels; only cells with some ball);
# * **x, y in cell**: where the ball's pixels sit inside the cell, from −0.5 (left/top) to 0.5 (right/bottom).

# %%
img = torch.as_tensor(clips).flatten(0, 1).float() / 255                       # (N, H, W, 3)
N = len(img)
cells = img.reshape(N, g, cell, g, cell, 3).permute(0, 1, 3, 2, 4, 5).reshape(N, g * g, cell * cell, 3)
bright = cells.amax(-1)                                                          # (N, L, pixels of the cell)
ball = bright >= 100 / 255                                                       # the tracker's threshold
has_ball = ball.any(-1)                                                          # (N, L)
colour = ((cells / bright.clamp_min(1e-3)[..., None]) * ball[..., None]).sum(2) / ball.sum(-1).clamp_min(1)[..., None]
yy, xx = torch.meshgrid(torch.arange(cell) + 0.5, torch.arange(cell) + 0.5, indexing="ij")
wsum = (bright * ball).sum(-1).clamp_min(1e-6)
features = {"ball coverage": (ball.float().mean(-1), torch.ones_like(has_ball)),
            "red": (colour[..., 0], has_ball), "green": (colour[..., 1], has_ball), "blue": (colour[..., 2], has_ball),
            "x in cell": ((bright * ball * xx.flatten()).sum(-1) / wsum / cell - 0.5, has_ball),
            "y in cell": ((bright * ball * yy.flatten()).sum(-1) / wsum / cell - 0.5, has_ball)}


def correlation(a, b):
    """Pearson correlation of the columns of a (n, k) with b (n,)."""
    a, b = a - a.mean(0), b - b.mean()
    return (a * b[:, None]).sum(0) / (a.norm(dim=0) * b.norm())


def linear_r2(a, b):
    """The fraction of b's variance a least-squares linear readout of a (n, k) explains."""
    A = torch.cat([a, torch.ones(len(a), 1)], 1).double()
    fit = A @ torch.linalg.lstsq(A, b.double()[:, None]).solution
    return float(1 - ((fit[:, 0] - b) ** 2).sum() / ((b - b.mean()) ** 2).sum())


Z = tok_pkg                                                                      # raw tokens (N, L, C)
corr = torch.stack([correlation(Z[m], f[m]) for f, m in features.values()])      # (features, C)
r2 = {name: linear_r2(Z[m], f[m]) for name, (f, m) in features.items()}
print(f"cells with some ball: {float(has_ball.float().mean()):.0%} of {has_ball.numel()}")
print("fraction of each property's variance a linear readout of the C channels explains:")
print("  " + "   ".join(f"{name} {v:.2f}" for name, v in r2.items()))
assert r2["ball coverage"] == max(r2.values()) > 0.5 and min(r2.values()) > 0.1

fig, ax = plt.subplots(figsize=(6.4, 3.0))
im = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
ax.set(xticks=range(C), yticks=range(len(features)), yticklabels=list(features), xlabel="channel c",
       title="what the channels encode: correlation over held-out cells")
for i in range(len(features)):
    for c in range(C):
        ax.text(c, i, f"{corr[i, c]:.1f}".replace("-0.0", "0.0"), ha="center", va="center", fontsize=9,
                color="white" if abs(corr[i, c]) > 0.6 else "black")
fig.colorbar(im, ax=ax, label="correlation r")
fig.tight_layout()
plt.show()

# %% [markdown]
# No channel is one property alone: the code is **distributed**, as in any trained autoencoder. Whether a ball is
# present is what a linear readout recovers best; colour and sub-cell position are there too, but partly
# non-linearly (the decoder is a deep network, not a linear map). Retraining the tokenizer would shuffle which
# channel holds what; the diffusion model does not care, it only needs the same code at training and sampling.
#
# ## 4. Reconstruction quality
#
# The tokenizer was trained on frames of the clips made with `data_seed = 0`; the clips here are held out. First
# the pixels: clip, reconstruction, and the absolute error.

# %%
recon = rec_pkg.clamp(-1, 1).unflatten(0, video.shape[:2])                      # (B, F, 3, H, W)
err = (recon - video).abs().amax(dim=2)                                          # (B, F, H, W), max over RGB
fg = (video > -0.95).any(dim=2)                                                  # pixels covered by a ball
mse = float(((recon - video) ** 2).mean())
mse_fg = float(((recon - video) ** 2).permute(0, 1, 3, 4, 2)[fg].mean())
print(f"reconstruction MSE (range [-1, 1]): all pixels {mse:.4f}, ball pixels {mse_fg:.4f}")
assert mse < mse_fg                       # the black background is easy; the balls carry the error

fig, axes = plt.subplots(3, 1, figsize=(8, 4.6), layout="constrained")
labels = [f"frame {f}" for f in shown]
draw_clip(axes[0], video[ex, shown], labels=labels, title="held-out clip")
draw_clip(axes[1], recon[ex, shown], labels=labels, title="decode(encode(clip))")
gap, size = 2, cfg.image_size
strip = np.full((size, len(shown) * (size + gap) - gap), np.nan)
for j, f in enumerate(shown):
    strip[:, j * (size + gap): j * (size + gap) + size] = err[ex, f].numpy()
im = axes[2].imshow(strip, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
axes[2].set_xticks([j * (size + gap) + size / 2 - 0.5 for j in range(len(shown))], labels, fontsize=9)
axes[2].set_yticks([])
axes[2].set_title("|reconstruction − clip|, max over RGB (pixel range [-1, 1])", fontsize=10, loc="left")
fig.colorbar(im, ax=axes.tolist(), label="|error|", shrink=0.5, extend="max")
plt.show()

# %% [markdown]
# Positions survive; edges get soft, and colours move a little. The loss that trained it weights the pixels covered
# by a ball several times more than the black background (`tok_fg_weight`, printed in section 5): balls cover only
# a few per cent of a frame, and with a plain MSE the network first learns to paint everything black.
#
# The ball tracker that scores generated videos (`ardiff_edu.metrics.ball_stats`, used by notebook 08 and by
# `python -m ardiff_edu evaluate`) tells what the errors mean physically. It finds the coloured blobs in every
# frame, matches them across frames and measures, among others, the **colour drift**: how much a matched ball's
# colour changes from one frame to the next. A real ball keeps its colour exactly; a decoded one is re-painted
# independently in every frame.

# %%
recon_uint8 = np.asarray(to_uint8(recon))
stats = {"real": ball_stats(clips)[0], "reconstructed": ball_stats(recon_uint8)[0]}
keys = ("count_mean", "match_frac", "accel_median", "colour_drift_median", "fg_frac", "area_mean")
print(format_table(stats, keys=keys))
assert stats["reconstructed"]["colour_drift_median"] > stats["real"]["colour_drift_median"]
assert abs(stats["reconstructed"]["count_mean"] - stats["real"]["count_mean"]) < 0.5
assert abs(stats["reconstructed"]["match_frac"] - stats["real"]["match_frac"]) < 0.1

# %% [markdown]
# The ball count, the matching and the motion statistics stay close to the real ones; the colour drift does not.
# That gap is a **floor** for every generated video: even a perfect diffusion model, decoded by this tokenizer,
# scores the reconstructed row, not the real one. When generated and real videos are compared, this is the row to
# compare the generated colour drift with.
#
# ## 5. Normalising the latents for diffusion
#
# Diffusion mixes the latents with unit Gaussian noise, `z_t = √ᾱ_t z_0 + √(1 − ᾱ_t) ε`, so the latents should live
# on the noise's scale. The raw tokens do not:

# %%
print("raw tokens, per channel: mean", np.round(Z.mean(dim=(0, 1)).numpy(), 2))
print("                         std ", np.round(Z.std(dim=(0, 1)).numpy(), 2))

# %% [markdown]
# The DiT stage of training (`ardiff_edu.train.encode_latents`) encodes every training clip once, measures each
# channel's mean and standard deviation over all tokens, and stores them in the checkpoint
# (`pipe.latent_mean`, `pipe.latent_std`, shape `(C,)`). `pipe.encode_video` returns
# `z = (tokens − mean) / std`, channel by channel, and `pipe.decode_video` undoes it before decoding, so the sampler
# only ever sees standardised latents. (Exercise 2 writes both directions.)

# %%
z = pipe.encode_video(video)                                                     # (B, F, L, C), standardised
print("latent_mean:", np.round(pipe.latent_mean.numpy(), 2))
print("latent_std: ", np.round(pipe.latent_std.numpy(), 2))
print("standardised held-out latents, per channel: mean", np.round(z.mean(dim=(0, 1, 2)).numpy(), 2))
print("                                            std ", np.round(z.std(dim=(0, 1, 2)).numpy(), 2))
assert z.mean(dim=(0, 1, 2)).abs().max() < 0.3
assert ((z.std(dim=(0, 1, 2)) > 0.7) & (z.std(dim=(0, 1, 2)) < 1.3)).all()
assert torch.allclose(pipe.decode_video(z), recon, atol=1e-4)                   # decode_video undoes it

fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
for ax, data, name in ((axes[0], Z.flatten(0, 1), "raw tokens"), (axes[1], z.flatten(0, 2), "standardised")):
    ax.boxplot([data[:, c].numpy() for c in range(C)], positions=range(C), whis=(1, 99), showfliers=False)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set(xticks=range(C), xlabel="channel c", ylabel="value", title=f"{name}: box 25-75 %, whiskers 1-99 %")
fig.tight_layout()
plt.show()

# %% [markdown]
# Standardising is per **channel**, not per token, so it keeps a token's length: most cells are empty, the mean is
# close to the empty-cell token, and the cells with a ball stand out as long vectors. The length of a standardised
# token says "something is here":

# %%
lengths = z.flatten(0, 1).norm(dim=-1)                                           # (N, L)
print(f"median length of a standardised token: empty cells {float(lengths[~has_ball].median()):.2f}, "
      f"cells with a ball {float(lengths[has_ball].median()):.2f}  (√C = {math.sqrt(C):.2f})")
assert lengths[has_ball].median() > lengths[~has_ball].median()

fig, ax = plt.subplots(figsize=(5.5, 2.6))
bins = np.linspace(0, float(lengths.max()), 40)
ax.hist(lengths[~has_ball].numpy(), bins, alpha=0.6, label="empty cells")
ax.hist(lengths[has_ball].numpy(), bins, alpha=0.6, label="cells with a ball")
ax.axvline(math.sqrt(C), color="k", ls="--", label="√C: every token, L2-normalised")
ax.set(xlabel="length ‖z‖ of a standardised token", ylabel="tokens", title="token lengths (held-out frames)")
ax.legend(fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# > **Paper vs code: how the latents are normalised.** The official pipeline multiplies the tokenizer's latents by
# > `scale_factor = 0.5` and then **L2-normalises every token** over its 4 channels (`norm_preprocess`, in
# > `src/ardiff/base.py` of iva-mzsun/AR-Diffusion, commit 7a37b94), so the 0.5 cancels and every token is a unit
# > vector (per-channel RMS 0.5); its decoder re-normalises whatever the sampler returns. The information then lives
# > in the tokens' **directions** only. We **standardise each channel** with statistics measured on the training
# > latents instead, which keeps the lengths the histogram shows. `FrameTokenizer(l2_normalize=True)` reproduces the
# > official choice, with every token scaled to length `√C` (per-channel RMS 1, the scale of the diffusion noise)
# > inside the tokenizer, the decoder re-normalising its input; `l2_normalize=False` is our default.
# > `tests/test_models.py::test_tokenizer_shapes_and_normalisation` pins both, and
# > `tests/test_train.py::test_latent_pool_is_normalised` pins the per-channel standardisation of the training
# > latents.

# %%
torch.manual_seed(0)
l2 = FrameTokenizer(cfg.image_size, token_dim=C, width=8, l2_normalize=True).eval()
with torch.no_grad():
    unit = l2.encode(frames[:4])
    lens = unit.norm(dim=-1)
print(f"token lengths with l2_normalize=True: min {float(lens.min()):.4f}, max {float(lens.max()):.4f} "
      f"(√C = {math.sqrt(C):.4f})")
assert torch.allclose(lens, torch.full_like(lens, math.sqrt(C)), atol=1e-4)
assert shipped.l2_normalize is cfg.l2_normalize is False                          # the shipped tokenizer: ours

# %% [markdown]
# Decoding *random* standardised latents shows why the diffusion model is needed: every token is plausible on its
# own scale, but together they are not a frame of bouncing balls.

# %%
noise = torch.randn(1, 6, shipped.num_tokens, C, generator=torch.Generator().manual_seed(0))
fig, ax = plt.subplots(figsize=(7.5, 1.7))
draw_clip(ax, pipe.decode_video(noise)[0], labels=[f"sample {i}" for i in range(6)],
          title="decode_video(N(0, I) latents): no structure")
fig.tight_layout()
plt.show()

# %% [markdown]
# > **Paper vs code: the tokenizer itself.** The paper's tokenizer ("AR-VAE") is a TiTok-style ViT-L that turns a
# > 256×256 frame into a 1-D sequence of **32 tokens × 4 channels** (a KL head with weight 0, so effectively an
# > autoencoder), trained with L1 + LPIPS + a GAN loss for hundreds of thousands of steps (`src/vae/titok_kl.py`).
# > On 2 CPU cores we use the conv autoencoder above, a 2-D grid of tokens trained for minutes with a weighted MSE.
# > The interface is the same: frames in, `(L, C)` tokens per frame out, no mixing across frames
# > (`tests/test_models.py::test_tokenizer_shapes_and_normalisation` checks that `encode_video` is per-frame
# > `encode`).
# >
# > An experiment beyond both, not in any shipped model: `train --tok-subgrid K` (`FrameTokenizer(subgrid=K)`) stops
# > the encoder one halving earlier and packs each `K × K` block of the finer grid's cells into one token, so a token
# > keeps its place but tells *which* of its cells a ball covers, in `C / K²` channels per cell
# > (`data/samples/README.md` measures whether that straightens the generated motion).
#
# How the shipped tokenizer was trained (stage 1 of `python -m ardiff_edu train`; notebook 07 runs a tiny one live):

# %%
print("tokenizer steps:", pipe.meta.get("tokenizer_steps"), "| batch:", cfg.tok_batch_size, "frames",
      "| lr:", cfg.tok_lr, "| foreground weight:", cfg.tok_fg_weight)
for line in pipe.meta.get("commands", []):
    if "tokenizer" in line:
        print(line.split("  ", 1)[-1])

# %% [markdown]
# ## 6. Exercises
#
# ### Exercise 1
#
# The compression ratio is the number of pixel values of a frame divided by the number of token values. Predict it
# for a tokenizer with an **8×8 grid and `C = 4`** channels on 32×32 frames, then write
# `ratio(image_size, grid, token_dim)` and check it: the checker builds `FrameTokenizer`s with several grids and
# channel counts and measures the ratio on their outputs. Which has more numbers per frame, our 16 × 8 tokens or
# the paper's 32 × 4? And what does the paper's ratio on 256×256 frames come to?

# %%
from ardiff_edu.exercises.nb05 import check_compression_ratio, check_l2_tokens, check_standardise


def ratio(image_size, grid, token_dim):
    raise NotImplementedError("pixel numbers per frame / token numbers per frame")

# check_compression_ratio(ratio)

# %% tags=["solution"] jupyter={"source_hidden": true}
def ratio(image_size, grid, token_dim):
    return 3 * image_size * image_size / (grid * grid * token_dim)


print(f"8x8 grid, C=4 on 32x32: {ratio(32, 8, 4):g}x;  ours (4x4, C=8): {ratio(32, 4, 8):g}x;  "
      f"the paper: 3·256·256 / (32·4) = {3 * 256 * 256 / (32 * 4):g}x")
print("token shape of FrameTokenizer(grid=8, token_dim=4):",
      tuple(FrameTokenizer(32, token_dim=4, width=4, grid=8).encode(torch.zeros(1, 3, 32, 32)).shape[1:]))
assert check_compression_ratio(ratio)
check_compression_ratio(ratio)

# %% [markdown]
# ### Exercise 2
#
# Write the per-channel standardisation the diffusion stage applies, `standardise(tokens, mean, std)` for tokens
# `(B, F, L, C)` and statistics `(C,)`, and its inverse `unstandardise(z, mean, std)`. The checker compares them
# with `Pipeline.encode_video` on random tokenizers and checks the round trip. Then apply yours to the shipped
# tokens and confirm you get `pipe.encode_video(video)`. What would go wrong if you took the mean over the channels
# of each token instead?

# %%
def standardise(tokens, mean, std):
    raise NotImplementedError


def unstandardise(z, mean, std):
    raise NotImplementedError

# check_standardise(standardise, unstandardise)

# %% tags=["solution"] jupyter={"source_hidden": true}
def standardise(tokens, mean, std):
    return (tokens - mean) / std              # (C,) broadcasts over the last dimension: channel by channel


def unstandardise(z, mean, std):
    return z * std + mean


with torch.no_grad():
    mine = standardise(shipped.encode_video(video[:2]), pipe.latent_mean, pipe.latent_std)
assert torch.allclose(mine, pipe.encode_video(video[:2]), atol=1e-6)
print("standardise(shipped tokens) = pipe.encode_video(video), within 1e-6")
assert check_standardise(standardise, unstandardise)
check_standardise(standardise, unstandardise)

# %% [markdown]
# ### Exercise 3
#
# Make tokens **fixed-length** the official way: write `l2_tokens(tokens)` that scales every token `(C,)` of
# `(N, L, C)` to length `√C` without changing its direction. The checker compares it with
# `FrameTokenizer(l2_normalize=True)`. Then look at the histogram of section 5 again: what would the diffusion model
# lose if our tokenizer's tokens were all put on that sphere after training?

# %%
def l2_tokens(tokens):
    raise NotImplementedError

# check_l2_tokens(l2_tokens)

# %% tags=["solution"] jupyter={"source_hidden": true}
def l2_tokens(tokens):
    return tokens / tokens.norm(dim=-1, keepdim=True).clamp_min(1e-12) * math.sqrt(tokens.shape[-1])


assert check_l2_tokens(l2_tokens)
check_l2_tokens(l2_tokens)
