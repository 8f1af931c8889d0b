# %% [markdown]
# # 05 · The frame tokenizer: from pixels to tokens
#
# AR-Diffusion never denoises pixels. A **tokenizer** first compresses every frame on its own into a few tokens, the
# diffusion model works on those tokens, and the tokenizer's decoder turns the result back into frames. This notebook
# looks at our tokenizer, `ardiff_edu.models.FrameTokenizer`, through the checkpoint shipped in
# `data/checkpoints/balls.pt`:
#
# 1. the shapes: a 32×32 frame becomes a 4×4 grid of `L = 16` tokens with `C = 8` channels each;
# 2. reconstructions of clips the tokenizer never saw, with their error;
# 3. the latent normalisation the diffusion model relies on;
# 4. what the paper's tokenizer does differently.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu.data import bouncing_balls, to_float, to_uint8
from ardiff_edu.models import FrameTokenizer
from ardiff_edu.train import load_checkpoint
from ardiff_edu.utils import DATA_DIR, seed_all

seed_all(0)
torch.set_num_threads(2)
plt.rcParams.update({"figure.dpi": 70, "font.size": 8})

# %% [markdown]
# ## 1. Shapes
#
# The encoder is four convolutions: a 3×3 one at full resolution, then three stride-2 ones, 32 → 16 → 8 → 4 pixels
# (widths 32, 64, 64, 128), and a 1×1 convolution down to `C = 8` channels. Each of the 4×4 output positions is a
# token. The decoder mirrors it with transposed convolutions.

# %%
pipe = load_checkpoint(DATA_DIR / "checkpoints" / "balls.pt")
tok = pipe.tokenizer
frames = torch.zeros(5, 3, 32, 32)
print("frames", tuple(frames.shape), "-> tokens", tuple(tok.encode(frames).shape),
      "-> frames", tuple(tok.decode(tok.encode(frames)).shape))
numbers_in, numbers_out = 3 * 32 * 32, tok.num_tokens * tok.token_dim
print(f"{numbers_in} numbers per frame -> {numbers_out} numbers: {numbers_in // numbers_out}x smaller")
print(f"tokenizer parameters: {sum(p.numel() for p in tok.parameters()) / 1e6:.2f} M")
assert (tok.num_tokens, tok.token_dim) == (16, 8) and numbers_in // numbers_out == 24

# %% [markdown]
# ## 2. Reconstructions of unseen clips
#
# The tokenizer was trained on frames of the clips made with `seed=0`. We draw fresh clips with another seed,
# encode them, decode them, and compare. `encode_video` / `decode_video` apply the tokenizer frame by frame to
# `(B, F, ...)` tensors: there is no mixing across time.

# %%
clips = bouncing_balls(8, num_frames=16, seed=2024)                # uint8 (8, 16, 32, 32, 3)
video = to_float(clips)                                             # float (8, 16, 3, 32, 32) in [-1, 1]
with torch.no_grad():
    tokens = tok.encode_video(video)                                # (8, 16, 16, 8)
    recon = tok.decode_video(tokens).clamp(-1, 1)
mse = float(((recon - video) ** 2).mean())
fg = (video > -0.95).any(dim=2, keepdim=True).expand_as(video)      # pixels covered by a ball
mse_fg = float(((recon - video) ** 2)[fg].mean())
print("tokens:", tuple(tokens.shape))
print(f"reconstruction MSE (range [-1, 1]): all pixels {mse:.3f}, ball pixels {mse_fg:.3f}")
assert mse < 0.03

# %%
shown = to_uint8(torch.stack([video[0, ::3], recon[0, ::3]]))       # (2, 6, 32, 32, 3)
fig, axes = plt.subplots(2, 6, figsize=(7, 2.6))
for r, name in enumerate(("clip", "reconstruction")):
    for c in range(6):
        axes[r, c].imshow(shown[r, c])
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
        if r == 0:
            axes[r, c].set_title(f"frame {3 * c}")
    axes[r, 0].set_ylabel(name)
fig.tight_layout()
plt.show()

# %% [markdown]
# Positions and colours survive; edges get soft. The loss that trained it weights the pixels covered by a ball five
# times more than the black background (balls cover ~5 % of a frame; with a plain MSE the network first learns to
# paint everything black).
#
# What does a token hold? Each channel of a frame's tokens is a 4×4 map, one value per 8×8-pixel cell:

# %%
fig, axes = plt.subplots(1, 9, figsize=(9, 1.4))
axes[0].imshow(clips[0, 0])
axes[0].set_title("frame")
for ch in range(8):
    axes[ch + 1].imshow(tokens[0, 0, :, ch].reshape(4, 4), cmap="RdBu")
    axes[ch + 1].set_title(f"channel {ch}")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Latent normalisation
#
# Diffusion mixes the latents with unit Gaussian noise, so the latents should have a comparable scale. The training
# stage measures every channel's mean and standard deviation once, over all training latents, and stores them in
# the checkpoint; `pipe.encode_video` / `pipe.decode_video` apply and undo `z = (tokens − mean) / std`, so the
# sampler only ever sees normalised latents.

# %%
z = pipe.encode_video(video)
print("raw tokens: per-channel std", np.round(tokens.std(dim=(0, 1, 2)).numpy(), 2))
print("normalised: per-channel mean", np.round(z.mean(dim=(0, 1, 2)).numpy(), 2))
print("normalised: per-channel std ", np.round(z.std(dim=(0, 1, 2)).numpy(), 2))
assert z.mean(dim=(0, 1, 2)).abs().max() < 0.3
assert ((z.std(dim=(0, 1, 2)) > 0.7) & (z.std(dim=(0, 1, 2)) < 1.3)).all()
assert torch.allclose(pipe.decode_video(z), recon, atol=1e-4)      # decode_video undoes the normalisation

# %% [markdown]
# Decoding *random* normalised latents shows why the diffusion model is needed: every token is plausible on its own
# scale, but together they are not a frame of bouncing balls.

# %%
noise = torch.randn(1, 6, 16, 8, generator=torch.Generator().manual_seed(0))
dec = to_uint8(pipe.decode_video(noise))[0]
fig, axes = plt.subplots(1, 6, figsize=(7, 1.4))
for c in range(6):
    axes[c].imshow(dec[c])
    axes[c].set_xticks([])
    axes[c].set_yticks([])
axes[0].set_title("decoded N(0, I) latents", loc="left")
fig.tight_layout()
plt.show()

# %% [markdown]
# > **Paper vs code: the tokenizer.** The paper's tokenizer ("AR-VAE") is a TiTok-style ViT-L that turns a 256×256
# > frame into a 1-D sequence of **32 tokens × 4 channels** (a KL head with weight 0, so effectively an
# > autoencoder), trained with L1 + LPIPS + a GAN loss for hundreds of thousands of steps. Its latents are
# > **L2-normalised per token** (each token is a unit vector; the `scale_factor = 0.5` cancels). On 2 CPU cores we use
# > a conv autoencoder with a 2-D 4×4 grid of **16 tokens × 8 channels**, trained for minutes with a weighted MSE,
# > and we **standardise each channel** instead of normalising each token: `l2_normalize=False` is our default
# > (`tests/test_models.py::test_tokenizer_shapes_and_normalisation` pins it). `FrameTokenizer(l2_normalize=True)`
# > reproduces the paper's choice, with the tokens scaled to length `√C` so each channel keeps RMS 1:

# %%
l2 = FrameTokenizer(l2_normalize=True)
lengths = l2.encode(video[0, :2]).norm(dim=-1)
print("token lengths with l2_normalize=True:", np.round(lengths[0, :4].detach().numpy(), 3), "...")
assert torch.allclose(lengths, torch.full_like(lengths, 8 ** 0.5), atol=1e-4)

# %% [markdown]
# ## 4. How the shipped tokenizer was trained
#
# Stage 1 of `python -m ardiff_edu train` (notebook 07 runs a tiny version live):

# %%
print("tokenizer steps:", pipe.meta["tokenizer_steps"], "| batch:", pipe.config.tok_batch_size, "frames",
      "| lr:", pipe.config.tok_lr, "| foreground weight:", pipe.config.tok_fg_weight)
for line in pipe.meta["commands"]:
    if "tokenizer" in line:
        print(line.split("  ", 1)[1])
