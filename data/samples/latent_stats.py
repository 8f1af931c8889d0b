"""How Gaussian are the latents the DiT learns? One suspect for the empty first frame (issue 14).

    python data/samples/latent_stats.py [CHECKPOINT] > data/samples/latent_stats.md

The DiT diffuses the tokenizer's latents after a per-channel normalisation (zero mean, unit variance over every token
of the training clips). Diffusion assumes nothing about their shape, but an x0-predictor at high noise predicts
something near the data mean, and the sampler has to leave it. This prints, for 256 held-out first frames (seed 3):
the norm of a token (background tokens against ball tokens), each channel's kurtosis, and where a frame without balls
lies: its distance to the mean latent against a real frame's distance to it. Deterministic, one thread.
"""

import sys

import numpy as np
import torch

from ardiff_edu.pipeline import load_pipeline, real_clips


def main(path) -> None:
    torch.set_num_threads(1)
    pipe = load_pipeline(path)
    clips, _ = real_clips(pipe, 256, 1, seed=3)
    z = pipe.encode_uint8(clips)[:, 0]                                      # (B, L, C), normalised
    C = z.shape[-1]
    levels = torch.tensor([0.1, 0.5, 0.9, 0.99])
    q = torch.quantile(z.norm(dim=-1).flatten(), levels).tolist()
    gauss = torch.randn(100_000, C, generator=torch.Generator().manual_seed(0)).norm(dim=-1)
    qg = torch.quantile(gauss, levels).tolist()
    flat = z.reshape(-1, C)
    kurt = (((flat - flat.mean(0)) ** 4).mean(0) / flat.var(0) ** 2).tolist()   # 3 for a Gaussian
    background = np.full_like(clips[:1], np.median(clips.reshape(-1, 3), axis=0))   # the median colour everywhere
    zb = pipe.encode_uint8(background)[0, 0]                                # a frame with no ball
    mean = z.mean(0)
    print(f"`{path}`: 256 held-out first frames (seed 3), {z.shape[1]} tokens x {C} channels, normalised.\n")
    print("| | 10 % | 50 % | 90 % | 99 % |\n|---|---|---|---|---|")
    for label, values in (("token norm, real latents", q),
                          (f"token norm, a Gaussian with the same variance ({C} channels)", qg)):
        print(f"| {label} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    print(f"\nkurtosis per channel (3 for a Gaussian): {', '.join(f'{k:.1f}' for k in kurt)}\n")
    print(f"distance to the mean latent: a frame without balls {float((zb - mean).norm()):.1f}, "
          f"a real frame {float((z - mean).flatten(1).norm(dim=1).median()):.1f} (median)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/checkpoints/balls.pt")
