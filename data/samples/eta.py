"""DDIM's η: fresh noise in every step instead of the deterministic sampler, measured on empty frames and motion.

    python data/samples/eta.py > data/samples/eta.md

``η`` (:func:`ardiff_edu.ddim.sample`'s ``eta``; ``sample --eta``) is the knob of the DDIM family between the
deterministic sampler the paper's code runs (``η = 0``) and DDPM's ancestral sampler (``η = 1``). Stochastic steps are
said to correct errors made in earlier steps; here that would show as fewer empty frames (the first frame's model
loses a lone ball between noise levels 900 and 500, ``first_frame.md``) or straighter paths. The measurements of
``empty_frames.py`` (seed 1, one thread: 1024 first frames alone, 128 videos of 16 frames, ``s = 5``, ``S = 50``) for
both settings of the quality tables (``balls.pt`` plain; ``balls-independent.pt`` with frame 0 autoguided by the FoPP
ablation arm) at every ``η`` of ``ETAS``, with the tracker's median acceleration and colour change over the same 128
videos (``ardiff_edu.metrics.ball_stats``). Deterministic: the fresh noise comes from the seed like the starting noise.

That table (seed 1) showed straighter motion and less colour change with more ``η``, so a sweep on new noise follows,
as for the temperature (``temperature.py``):

    python data/samples/eta.py 16 > data/samples/eta16.md
    python data/samples/eta.py 64 > data/samples/eta64.md

draw **seed 2**: the two settings generate 32 videos (``s = 5``, ``S = 50``; 64 frames slide the window) for every
``η`` of ``CANDIDATES``, scored by the protocol of every table (:func:`ardiff_edu.protocol.run_task`). The rule,
written before the sweep was first run: the rule of ``history_guidance64.py`` over the ``η`` values (the smallest
median acceleration among those whose median ball speed stays within 10 % of the real clips' and whose toy Fréchet
distance stays below the "frames shuffled" row's); ``η = 0`` if none qualifies. Like that rule it does not look at
empty frames; the table shows them.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))     # the sibling scripts, importable in the worker processes too
import empty_frames  # noqa: E402
import history_guidance_interval as HGI  # noqa: E402

from ardiff_edu.metrics import ball_stats  # noqa: E402
from ardiff_edu.pipeline import load_autoguide, load_pipeline  # noqa: E402

FIRST_FRAMES, VIDEOS, SEED = empty_frames.FIRST_FRAMES, empty_frames.VIDEOS, empty_frames.SEED
ETAS = (0.0, 0.5, 1.0)                     # the seed-1 table
CANDIDATES = (0.0, 0.25, 0.5, 0.75, 1.0)   # the seed-2 sweeps
SETTINGS = HGI.HG64.SETTINGS               # the two settings of the quality tables


def main(etas=ETAS, first_frames: int = FIRST_FRAMES, videos: int = VIDEOS) -> None:
    torch.set_num_threads(1)
    print(f"First frame alone: {first_frames} draws (`num_frames=1`, `S = 50`, seed {SEED}); 16-frame videos: "
          f"{videos} (`s = 5`, `S = 50`, seed {SEED}). Shares of frames; acceleration and colour change: medians "
          f"over the tracked balls of those videos.\n")
    print("| checkpoint | η | first frame: 0 / 1 / 2 / 3 / 4+ balls | videos: empty frames | empty frames in videos "
          "whose first frame has a ball | acceleration | colour change |")
    print("|---|---|---|---|---|---|---|")
    for path, weak in SETTINGS:
        pipe = load_pipeline(path)
        weak_pipe, w = load_autoguide(weak, None)                  # (None, 1): no guidance
        name = f"`{path}`" + ("" if weak is None else f", frame 0 autoguided by `{weak}`")
        for eta in etas:
            hist, n, lost, clips = empty_frames.measure(pipe, first_frames, videos, eta=eta, autoguide=weak_pipe,
                                                            autoguide_scale=w)
            stats = ball_stats(clips)[0]
            print(f"| {name} | {eta:g} | {' / '.join(f'{h:.3f}' for h in hist)} | {(n == 0).mean():.3f} "
                  f"| {lost:.3f} | {stats['accel_median']:.2f} | {stats['colour_drift_median']:.1f} |", flush=True)


def choose(rows: dict, real_speed: float, shuffled_fd: float) -> float:
    """``history_guidance64.choose`` over ``{η: values}`` → the chosen ``η`` (``0``, deterministic, if none
    qualifies)."""
    return HGI.HG64.choose(rows, real_speed, shuffled_fd, none=0.0)


def sweep(frames: int, candidates=CANDIDATES, videos: int = HGI.VIDEOS, steps: int = HGI.STEPS,
          workers: int = 2) -> dict:
    return HGI.option_sweep("eta", "η", "DDIM with fresh noise in every step, `η` (0: deterministic).", choose,
                            frames, candidates, SETTINGS, videos, steps, workers)


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["16"], ["64"]):
        sys.exit("usage: python data/samples/eta.py [16 | 64] > data/samples/eta{,16,64}.md")
    sweep(int(sys.argv[1])) if sys.argv[1:] else main()
