"""Autoguidance of the first frame: which weight, and why only the first frame.

    python data/samples/autoguidance.py > data/samples/autoguidance.md

The default model's first frame is empty 6 % of the time and holds four or more balls 3 % of the time; real first
frames hold 1-3 balls. Autoguidance (Karras et al. 2024; not in AR-Diffusion) mixes the model's prediction with that
of a weaker model of the same latents, ``D_weak + w · (D − D_weak)``; here the weaker model is the FoPP ablation arm
(the same DiT, tokenizer and timestep sampler, 6000 steps instead of 24 000). Seed 1, one thread, deterministic:

1. **The weight.** 1024 first frames (``generate(..., num_frames=1)``, ``S = 50``) for every ``w``, their ball counts
   against 1024 held-out real first frames, and the total-variation distance between the two count histograms. The
   ``w`` with the smallest distance is :data:`ardiff_edu.pipeline.AUTOGUIDE_SCALE`; the script checks that.
2. **Only the first frame.** 64 videos of 16 frames (``s = 5``, ``S = 50``, seed 0, the quality tables' noise) without
   guidance, with the first frame guided (the package) and with every frame guided the same way (a wrapper that mixes
   the two models' outputs for the whole window, without the KV cache), scored by the ball tracker.
"""

import sys
from pathlib import Path

import torch

from ardiff_edu.metrics import ball_stats, blob_counts
from ardiff_edu.pipeline import AUTOGUIDE_SCALE, generate, load_pipeline, real_clips

sys.path.insert(0, str(Path(__file__).parent))
from first_frame import distance, histogram  # noqa: E402

MODEL, WEAK = "data/checkpoints/balls.pt", "data/checkpoints/ablation/fopp.pt"
DRAWS, S, SEED = 1024, 50, 1
WEIGHTS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
VIDEO_KEYS = ("match_frac", "accel_median", "colour_drift_median", "empty_frac")


class EveryFrameGuided(torch.nn.Module):
    """``model`` with every frame's output mixed with ``weak``'s: ``weak + w · (model − weak)`` (for part 2)."""

    def __init__(self, model, weak, w: float):
        super().__init__()
        self.model, self.weak, self.w = model, weak, w
        self.num_tokens, self.token_dim, self.prediction = model.num_tokens, model.token_dim, model.prediction
        self.cacheable = False

    def forward(self, x, t):
        weak = self.weak(x, t)
        return weak + self.w * (self.model(x, t) - weak)


def main() -> None:
    torch.set_num_threads(1)
    pipe, weak = load_pipeline(MODEL), load_pipeline(WEAK)
    real, _ = real_clips(pipe, DRAWS, 1, seed=SEED)
    real_counts = blob_counts(real)[:, 0]
    print(f"Model `{MODEL}`, weaker model `{WEAK}`.\n")
    print(f"## 1. The weight: first frames ({DRAWS} draws, `S = {S}`, seed {SEED})\n")
    print("| w | 0 / 1 / 2 / 3 / 4+ balls | total-variation distance to real |\n|---|---|---|")
    print(f"| real first frames | {histogram(real_counts)} | 0 |")
    tv = {}
    for w in WEIGHTS:
        frames = generate(pipe, DRAWS, 1, s=0, num_steps=S, seed=SEED, autoguide=weak, autoguide_scale=w)
        counts = blob_counts(frames)[:, 0]
        tv[w] = distance(counts, real_counts)
        print(f"| {w:g}{' (none)' if w == 1 else ''} | {histogram(counts)} | {tv[w]:.3f} |", flush=True)
    best = min(tv, key=tv.get)
    print(f"\nSmallest distance at w = {best:g} (`AUTOGUIDE_SCALE` = {AUTOGUIDE_SCALE:g}).\n")
    assert best == AUTOGUIDE_SCALE, f"the measured best w = {best} is not AUTOGUIDE_SCALE = {AUTOGUIDE_SCALE}"

    w = AUTOGUIDE_SCALE
    print(f"## 2. Only the first frame: 64 videos x 16 frames, `s = 5`, `S = {S}`, seed 0, w = {w:g}\n")
    print("| guided | " + " | ".join(VIDEO_KEYS) + " | empty first frames |\n|---|" + "---|" * (len(VIDEO_KEYS) + 1))
    model = pipe.model
    for name in ("none", "first frame", "every frame"):
        pipe.model = EveryFrameGuided(model, weak.model, w) if name == "every frame" else model
        videos = generate(pipe, 64, 16, s=5, num_steps=S, seed=0,
                          **({"autoguide": weak, "autoguide_scale": w} if name == "first frame" else {}))
        values = ball_stats(videos)[0]
        empty_first = int((blob_counts(videos)[:, 0] == 0).sum())
        print(f"| {name} | " + " | ".join(f"{values[k]:.3f}" for k in VIDEO_KEYS) + f" | {empty_first} of 64 |",
              flush=True)
    pipe.model = model


if __name__ == "__main__":
    main()
