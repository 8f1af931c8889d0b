"""Where do empty frames come from? Two sources, measured apart, for any number of checkpoints.

    python data/samples/empty_frames.py data/checkpoints/balls.pt data/checkpoints/ablation/*.pt > data/samples/empty_frames.md
    python data/samples/empty_frames.py CHECKPOINT ... --autoguide WEAK     # frame 0 of every draw autoguided by WEAK

1. **The first frame alone.** Under the strictly causal mask frame 0 attends only to itself, so frame 0 of every video
   is a draw from the model of one frame: ``generate(..., num_frames=1)`` with its noise gives exactly that frame. We
   draw many of them (cheap: one frame) and count the balls the tracker finds in each.
2. **Balls that vanish later.** 16-frame videos at the sampler's defaults (``s = 5``, ``S = 50``): the share of empty
   frames, and the share of empty frames *inside videos whose first frame has a ball* (the ball was lost on the way).

Both with seed 1 (``regenerate.sh`` uses seed 0 for the GIFs and tables), one thread, deterministic. The tracker and its
thresholds are those of every other table (:func:`ardiff_edu.metrics.blob_counts`).
"""

import argparse

import torch

from ardiff_edu.metrics import blob_counts, count_shares
from ardiff_edu.pipeline import generate, load_autoguide, load_pipeline

FIRST_FRAMES, VIDEOS, SEED = 1024, 128, 1


def measure(pipe, first_frames: int, videos: int, num_steps: int = 50, **sampler) -> tuple:
    """Both sources for one pipeline (``num_steps``: ``S``; ``sampler``: more options of :func:`generate`): the first
    frame's ball-count shares, the ``(videos, 16)`` ball counts of the videos, the share of empty frames in the videos
    whose first frame has a ball, and the videos themselves (``eta.py`` scores their motion too)."""
    first = blob_counts(generate(pipe, first_frames, 1, s=0, num_steps=num_steps, seed=SEED, **sampler))[:, 0]
    clips = generate(pipe, videos, 16, s=5, num_steps=num_steps, seed=SEED, **sampler)
    n = blob_counts(clips)
    return count_shares(first), n, float((n[n[:, 0] > 0] == 0).mean()), clips


def main(paths: list[str], autoguide: str | None = None) -> None:
    """One row per checkpoint; ``autoguide``: a weaker checkpoint of the same latents that guides every frame 0
    (``sample --autoguide``, its default weight)."""
    torch.set_num_threads(1)
    weak, w = load_autoguide(autoguide, None)
    print(f"First frame alone: {FIRST_FRAMES} draws (`num_frames=1`, `S = 50`, seed {SEED}); "
          f"16-frame videos: {VIDEOS} (`s = 5`, `S = 50`, seed {SEED}). Shares of frames."
          + ("" if weak is None else f" Frame 0 autoguided by `{autoguide}` (w {w:g}).") + "\n")
    print("| checkpoint | first frame: 0 / 1 / 2 / 3 / 4+ balls | videos: empty frames | first frame empty "
          "| empty frames in videos whose first frame has a ball |")
    print("|---|---|---|---|---|")
    for path in paths:
        hist, n, lost, _ = measure(load_pipeline(path), FIRST_FRAMES, VIDEOS, autoguide=weak, autoguide_scale=w)
        print(f"| `{path}` | {' / '.join(f'{h:.3f}' for h in hist)} | {(n == 0).mean():.3f} "
              f"| {int((n[:, 0] == 0).sum())} of {len(n)} | {lost:.3f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT")
    parser.add_argument("--autoguide", metavar="WEAK", help="a weaker checkpoint that guides every frame 0")
    args = parser.parse_args()
    main(args.checkpoints, args.autoguide)
