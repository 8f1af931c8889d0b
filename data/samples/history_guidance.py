"""History guidance against the jerky motion: the weight ``w`` swept, and the rule that picks one.

    python data/samples/history_guidance.py data/checkpoints/balls-independent.pt data/checkpoints/balls.pt > data/samples/history_guidance.md

``next_frame.md`` found the model's one-step prediction off, not the sampler. History guidance (beyond the paper;
the "vanilla history guidance" of Song et al. 2025, :func:`ardiff_edu.ddim.sample`) asks the network twice for each
frame, with its history and alone, and moves the prediction further in the direction the history pulls it:
``D_alone + w · (D − D_alone)``; ``w = 1`` is the plain sampler. This script generates the same free-running videos
(16 frames, ``s = 5``, ``S = 50``) for every ``w`` of ``WEIGHTS`` and scores them with the tracker of every other
table (:func:`ardiff_edu.metrics.ball_stats`), beside held-out real clips.

The weight is chosen here, on the noise of seed 1, and the quality tables then report it on seed 0, so the choice is
not fitted to the videos it is reported on. The rule, fixed before this sweep was first run (after a prototype on
the tables' seed-0 noise, w = 1, 1.5, 2, 3, had shown that guidance slows the balls): the smallest median
acceleration among the weights whose median ball speed stays within 10 % of the real clips' (guidance can also slow
the balls down, which straightens motion by changing the data). One thread, deterministic.
"""

import sys
import time

import torch

from ardiff_edu.metrics import ball_stats
from ardiff_edu.pipeline import generate, load_pipeline, real_clips

VIDEOS, FRAMES, S_AR, STEPS, SEED = 32, 16, 5, 50, 1
WEIGHTS = (1.0, 1.25, 1.5, 2.0, 3.0)
SPEED_TOLERANCE = 0.10
KEYS = (("match_frac", 2), ("accel_median", 2), ("colour_drift_median", 1), ("empty_frac", 3), ("speed_median", 2))


def cells(videos) -> dict:
    v, _ = ball_stats(videos)
    return {k: v[k] for k, _ in KEYS}


def choose(rows: dict, real_speed: float, tolerance: float = SPEED_TOLERANCE) -> float:
    """The rule of the module docstring: ``{w: cells}`` → the chosen ``w`` (``1.0`` if no weight keeps the speed)."""
    kept = [w for w, c in rows.items() if abs(c["speed_median"] - real_speed) <= tolerance * real_speed]
    return min(kept, key=lambda w: (rows[w]["accel_median"], w)) if kept else 1.0


def main(paths: list[str], videos: int = VIDEOS, weights=WEIGHTS) -> dict:
    torch.set_num_threads(1)
    first = load_pipeline(paths[0])
    real = cells(real_clips(first, videos, FRAMES, seed=SEED)[0])
    print(f"{videos} videos of {FRAMES} frames, `s = {S_AR}`, `S = {STEPS}`, noise of seed {SEED}; held-out real clips "
          f"of seed {SEED}. Medians over tracked balls; the last column is the time to generate, one thread.\n")
    print("| clips | w | " + " | ".join(k for k, _ in KEYS) + " | seconds |")
    print("|---|---|" + "---|" * (len(KEYS) + 1))
    print("| real | | " + " | ".join(f"{real[k]:.{d}f}" for k, d in KEYS) + " | |", flush=True)
    chosen = {}
    for path in paths:
        pipe = load_pipeline(path)
        rows = {}
        for w in weights:
            start = time.perf_counter()
            rows[w] = cells(generate(pipe, videos, FRAMES, s=S_AR, num_steps=STEPS, seed=SEED, history_guidance=w))
            print(f"| `{path}` | {w:g} | " + " | ".join(f"{rows[w][k]:.{d}f}" for k, d in KEYS)
                  + f" | {time.perf_counter() - start:.0f} |", flush=True)
        chosen[path] = choose(rows, real["speed_median"])
    print()
    for path, w in chosen.items():
        print(f"Chosen for `{path}` (smallest median acceleration with the median speed within "
              f"{SPEED_TOLERANCE:.0%} of the real clips'): **w = {w:g}**.")
    return chosen


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python data/samples/history_guidance.py CHECKPOINT [CHECKPOINT ...]")
    main(sys.argv[1:])
