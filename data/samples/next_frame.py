"""Is the next ball misplaced on average, or scattered by the noise? One generated frame after real ones, measured.

    python data/samples/next_frame.py data/checkpoints/balls.pt data/checkpoints/balls-independent.pt --history-guidance 1 1.5 2 > data/samples/next_frame.md

``acceleration.py`` finds the jerky motion in the model's one-step prediction. This script splits that error in two.
Held-out clips (seed 0) whose ``GIVEN + 1`` real frames each hold exactly one ball (so the tracker cannot mismatch)
are given their first ``GIVEN`` frames, and the model generates frame ``GIVEN`` alone (``S = 50``; one frame, so
``s`` does not matter) with ``SEEDS`` different noises. Against the ball's real position in that frame:

* **error**: the median distance of a generated ball from the real one, over clips and noises;
* **bias**: the median distance of the *mean* over the noises from the real one (what the model gets wrong on
  average);
* **spread**: the median distance of a generated ball from that mean (what the noise scatters). The mean of
  ``SEEDS`` noises still carries ``1/sqrt(SEEDS)`` of the spread, so the bias is overstated by up to that much.

Beside them: the same real frame through the tokenizer alone (the floor of any DiT on these latents), and a ball
moved on at the constant velocity of the two frames before (how far the data itself is from straight motion, bounces
included). Clips where a generated frame does not hold exactly one ball for every noise are left out and counted.
``--along`` adds two columns that split the bias by the ball's real motion into frame ``GIVEN``: **along** it (the
signed median, negative = the mean generated ball lags behind the real one, positive = it runs ahead; then the median
of its absolute value) and **across** it (the median of the absolute sideways part). ``--history-guidance W ...``
repeats every checkpoint's row with history guidance of weight ``W`` (:func:`ardiff_edu.ddim.sample`; ``1`` = none),
which shows how that guidance trades the two parts; ``--context-noise TAU ...`` with the given real frames fed noised
to timestep ``TAU`` (``0`` = clean, as the sampler feeds finished frames), which asks whether clean history, rare in
training, is what the model misreads; ``--training-clips`` takes the clips from the first checkpoint's training data
instead, which asks whether the model fits the clips it was trained on more precisely than new ones.
Positions in pixels of the 32×32 frame, the tracker of every other table (:func:`ardiff_edu.metrics.detect_blobs`),
one thread, deterministic.
"""

import argparse

import numpy as np
import torch

from ardiff_edu.metrics import detect_blobs
from ardiff_edu.pipeline import generate, load_pipeline, real_clips
from ardiff_edu.train import load_clips

CLIPS, GIVEN, SEEDS, STEPS, SEED = 128, 8, 8, 50, 0


def lone_ball(videos: np.ndarray, frame: int) -> np.ndarray:
    """The centroid of the one ball in ``frame`` of each video, ``nan`` where there is not exactly one: ``(M, 2)``."""
    blobs = detect_blobs(videos[:, frame:frame + 1])[0]
    return np.array([b[0][0]["centroid"] if len(b[0]) == 1 else (np.nan, np.nan) for b in blobs], dtype=float)


def along_across(offset: np.ndarray, motion: np.ndarray) -> tuple[float, float, float]:
    """Medians of the signed and of the absolute part of ``offset (M, 2)`` along ``motion (M, 2)``, and of the absolute
    part across it."""
    unit = motion / np.linalg.norm(motion, axis=1, keepdims=True)
    along = (offset * unit).sum(axis=1)
    across = offset[:, 0] * unit[:, 1] - offset[:, 1] * unit[:, 0]
    return float(np.median(along)), float(np.median(np.abs(along))), float(np.median(np.abs(across)))


def one_ball_clips(first, path: str, clips: int = CLIPS, training_clips: bool = False):
    """``(real, centres, source)``: the clips of ``clips`` held-out ones (or the first of ``first``'s training data)
    whose first ``GIVEN + 1`` frames each hold one ball, uint8 ``(M, GIVEN + 1, H, W, 3)``; the ball's centre in each
    frame ``(GIVEN + 1, M, 2)``; and where the clips come from, in words."""
    if training_clips:                    # the first clips of the data the first checkpoint was trained on
        real = load_clips(first.config)[0][:clips, :GIVEN + 1].numpy()
        source = f"training clips of `{path}` (its first {clips}: {first.config.num_clips} clips, data seed " \
                 f"{first.config.data_seed})"
    else:
        real, _ = real_clips(first, clips, GIVEN + 1, seed=SEED)
        source = f"held-out clips (seed {SEED})"
    centres = np.stack([lone_ball(real, f) for f in range(GIVEN + 1)])                 # (frames, M, 2)
    keep = ~np.isnan(centres).any(axis=(0, 2))
    return real[keep], centres[:, keep], source


def main(paths: list[str], clips: int = CLIPS, seeds: int = SEEDS, weights=(1.0,), along: bool = False,
         context_noise=(0,), training_clips: bool = False) -> None:
    torch.set_num_threads(1)
    first = load_pipeline(paths[0])
    real, centres, source = one_ball_clips(first, paths[0], clips, training_clips)
    truth = centres[GIVEN]
    print(f"{len(real)} of {clips} {source} hold one ball in each of their first {GIVEN + 1} "
          f"frames; frame {GIVEN} generated after {GIVEN} real ones with {seeds} noises (seeds 0-{seeds - 1}), "
          f"`S = {STEPS}`. Distances in pixels (32×32 frames), medians.\n")
    extra = " bias along the motion (signed; absolute) | bias across it |" if along else ""
    print("| frame 8 from | clips | error | bias (mean over noises) | spread (around that mean) |" + extra)
    print("|---|---|---|---|---|" + "---|---|" * along)
    blank = " | |" if along else ""
    straight = 2 * centres[GIVEN - 1] - centres[GIVEN - 2]
    print(f"| constant velocity of frames {GIVEN - 2}-{GIVEN - 1} | {len(real)} "
          f"| {np.median(np.linalg.norm(straight - truth, axis=1)):.3f} | | |{blank}")
    through = lone_ball(first.decode_uint8(first.encode_uint8(real)), GIVEN)
    ok = ~np.isnan(through).any(axis=1)
    print(f"| the real frame through the tokenizer | {ok.sum()} "
          f"| {np.median(np.linalg.norm(through[ok] - truth[ok], axis=1)):.3f} | | |{blank}", flush=True)
    for path in paths:
        pipe = load_pipeline(path)
        for w, tau in [(w, tau) for w in weights for tau in context_noise]:
            got = np.stack([lone_ball(generate(pipe, len(real), GIVEN + 1, s=STEPS, num_steps=STEPS, seed=seed,
                                               prefix_frames=real[:, :GIVEN], history_guidance=w,
                                               context_noise=tau), GIVEN)
                            for seed in range(seeds)])
            ok = ~np.isnan(got).any(axis=(0, 2))
            got, at = got[:, ok], truth[ok]
            mean = got.mean(axis=0)
            name = (f"`{path}`" + (f", history guidance w = {w:g}" if w != 1 else "")
                    + (f", the real frames fed at t = {tau}" if tau else ""))
            split = ""
            if along:
                moved = at - centres[GIVEN - 1][ok]
                still = np.linalg.norm(moved, axis=1) == 0            # no direction to split by
                split = " {:+.3f}; {:.3f} | {:.3f} |".format(*along_across((mean - at)[~still], moved[~still]))
            print(f"| {name} | {ok.sum()} | {np.median(np.linalg.norm(got - at, axis=2)):.3f} "
                  f"| {np.median(np.linalg.norm(mean - at, axis=1)):.3f} "
                  f"| {np.median(np.linalg.norm(got - mean, axis=2)):.3f} |{split}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="one generated frame after real ones: error, bias and spread")
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--history-guidance", type=float, nargs="+", default=[1.0],
                        help="weights of history guidance, one row each (1 = none)")
    parser.add_argument("--along", action="store_true", help="split the bias along and across the real motion")
    parser.add_argument("--context-noise", type=int, nargs="+", default=[0], metavar="TAU",
                        help="feed the given real frames noised to timestep TAU, one row each (0 = clean)")
    parser.add_argument("--training-clips", action="store_true",
                        help="the first checkpoint's training clips instead of held-out ones")
    args = parser.parse_args()
    main(args.checkpoints, weights=tuple(args.history_guidance), along=args.along,
         context_noise=tuple(args.context_noise), training_clips=args.training_clips)
