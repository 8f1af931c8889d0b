"""Where does the jerky motion come from? The median acceleration of tracked balls, with the context told apart.

    python data/samples/acceleration.py data/checkpoints/balls.pt data/checkpoints/balls-independent.pt > data/samples/acceleration.md

A generated frame continues frames that are themselves generated. If the model placed the next ball well given a
*real* past, the jitter would come from its own earlier frames (errors that compound); if it jitters as much after
real frames, the one-step prediction itself is off. So, on the same held-out clips (seed 0, 64 clips of 16 frames):

1. the real clips, and the same clips through the tokenizer alone (the floor of any DiT on these latents);
2. **continuations**: the first ``GIVEN`` frames real (``generate(prefix_frames=GIVEN)``), the rest generated, at the
   sampler's default ``s = 5`` and fully autoregressive (``s = S``: every given or finished frame clean before the
   next one starts);
3. free generation (``s = 5``), the noise of the quality tables.

Every row of that table is scored on the last ``16 - GIVEN`` frames only (the generated part of a continuation),
with ``S = 50``. A second table scores whole free-running videos (the noise of the quality tables) against the two
settings of the sampler, ``S`` and ``s``: ``s / S`` says how far a frame is ahead of the next one (``s = S``: fully
autoregressive). Both with the tracker and thresholds of every other table (:func:`ardiff_edu.metrics.ball_stats`),
one thread, deterministic.
"""

import sys

import numpy as np
import torch

from ardiff_edu.metrics import ball_stats
from ardiff_edu.pipeline import generate, load_pipeline, real_clips

VIDEOS, FRAMES, GIVEN, STEPS, SEED = 64, 16, 8, 50, 0
SETTINGS = ((50, 5), (50, 12), (50, 25), (50, 50), (20, 5), (20, 20), (10, 5))     # (S, s); (50, 5): the default


def row(name: str, videos: np.ndarray, first: int = GIVEN, speed: bool = False) -> str:
    v, _ = ball_stats(videos[:, first:])
    return (f"| {name} | {v['accel_median']:.2f} | {v['accel_mean']:.2f} | {v['match_frac']:.2f} "
            f"| {v['colour_drift_median']:.1f} | {v['empty_frac']:.3f} |" + (f" {v['speed_median']:.2f} |" * speed))


def main(paths: list[str], videos: int = VIDEOS, settings=SETTINGS) -> None:
    torch.set_num_threads(1)
    print(f"{videos} held-out clips of {FRAMES} frames (seed {SEED}), `S = {STEPS}`; every row scored on frames "
          f"{GIVEN}-{FRAMES - 1} only.\n")
    print("| clips | accel_median | accel_mean | match_frac | colour_drift_median | empty_frac |")
    print("|---|---|---|---|---|---|")
    pipes = {path: load_pipeline(path) for path in paths}
    first = pipes[paths[0]]
    real, _ = real_clips(first, videos, FRAMES, seed=SEED)
    print(row("real", real))
    print(row("real, tokenizer only", first.decode_uint8(first.encode_uint8(real))), flush=True)
    free = {}                       # free generation at the defaults (S = 50, s = 5): a row of both tables
    for path, pipe in pipes.items():
        for s, what in ((5, "s = 5"), (STEPS, "s = S")):
            cont = generate(pipe, videos, FRAMES, s=s, num_steps=STEPS, seed=SEED, prefix_frames=GIVEN)
            print(row(f"`{path}`: {GIVEN} real frames, then {what}", cont), flush=True)
        free[path] = generate(pipe, videos, FRAMES, s=5, num_steps=STEPS, seed=SEED)
        print(row(f"`{path}`: free generation, s = 5", free[path]), flush=True)
    print(f"\nWhole videos (frames 0-{FRAMES - 1}), free generation, seed {SEED}: the sampler's settings. NFE = S + "
          f"{FRAMES - 1}·s network calls per video.\n")
    print("| clips | accel_median | accel_mean | match_frac | colour_drift_median | empty_frac | speed_median |")
    print("|---|---|---|---|---|---|---|")
    print(row("real", real, 0, speed=True))
    for path, pipe in pipes.items():
        for S, s in settings:
            clips = free[path] if (S, s) == (STEPS, 5) else generate(pipe, videos, FRAMES, s=s, num_steps=S, seed=SEED)
            print(row(f"`{path}`: S = {S}, s = {s}, NFE {S + (FRAMES - 1) * s}", clips, 0, speed=True), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python data/samples/acceleration.py CHECKPOINT [CHECKPOINT ...]")
    main(sys.argv[1:])
