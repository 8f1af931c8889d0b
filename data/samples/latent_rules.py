"""Do the latents of a ball that moves straight move straight? Fixed rules on the latents, against the DiT.

    python data/samples/latent_rules.py data/checkpoints/balls-independent.pt > data/samples/latent_rules.md

``next_frame.py`` finds that the DiT places the next ball 0.26-0.31 px from the real one on average. This script asks
how hard that is *in the tokenizer's latent space*. The clips are ``next_frame.py``'s (held-out, seed 0, one ball in
each of the first ``GIVEN + 1`` frames). Frame ``GIVEN`` is made without any learning, from the normalised latents
``z`` of the real frames before it, and decoded:

* **copy**: ``z_8 = z_7`` (the ball stands still; how far the ball moves in one frame);
* **constant latent velocity**: ``z_8 = 2 z_7 − z_6``;
* **three-point rule**: ``z_8 = 3 z_7 − 3 z_6 + z_5`` (constant latent acceleration).

If a ball's latent moved on a straight line as the ball moves on one, the constant-velocity rule would place it as
well as constant velocity in pixels does. Beside the rules: the **midpoint** ``(z_7 + z_8) / 2``, scored against the
midpoint of the two real balls (is the path straight *between* two frames?), and one sample of each checkpoint's
DiT (seed 0, ``S = 50``, as ``next_frame.py``). Columns: the ball's distance from the real one (median, pixels of
the 32×32 frame), its part along the real motion (signed: negative = lags; then absolute) and across it, and the
mean squared error against the real frame's latent ``z_8`` of the latent of the decoded frame (re-encoded, so that a
rule's latent and a sample are compared alike; per element, normalised latents: what the DiT's training loss
measures; none for the midpoint, which is not frame 8).

``--pixels`` adds a column: the mean squared error of the decoded frame against the real frame in pixels (0-255, over
every pixel and colour channel), what a loss computed through the decoder would measure. It asks whether such a loss
would rank a better-placed ball higher than the latent loss does.

A second table: the mean squared error of each DiT's *prediction* of ``z_8`` (x0-prediction, one call) when frame 8
is noised to timestep ``t`` and the 8 real frames before it are clean, 4 noises per level (generator seeded 0). At
``t = T − 1`` the frame is pure noise and the prediction rests on the history alone; the clips are deterministic, so
a model that had learned their dynamics would have almost no error there. One thread, deterministic.
"""

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import torch

from ardiff_edu.pipeline import check_same_latents, generate, load_pipeline

_spec = importlib.util.spec_from_file_location("next_frame", Path(__file__).with_name("next_frame.py"))
next_frame = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(next_frame)
GIVEN, STEPS = next_frame.GIVEN, next_frame.STEPS      # its clips and its sampler
LEVELS, NOISES = (0, 100, 300, 500, 700, 900, 999), 4


def row(name: str, decoded: np.ndarray, at: np.ndarray, motion: np.ndarray, latent_mse: float | None,
        real: np.ndarray | None = None) -> str:
    """One table row: the lone ball of frame ``GIVEN`` of ``decoded`` against ``at (M, 2)``, and ``latent_mse``; with
    ``real`` frames, a last cell: the pixel MSE of ``decoded``'s frame ``GIVEN`` against ``real``'s."""
    got = next_frame.lone_ball(decoded, GIVEN)
    ok = ~np.isnan(got).any(axis=1) & (np.linalg.norm(motion, axis=1) > 0)
    split = next_frame.along_across((got - at)[ok], motion[ok])
    latent = "" if latent_mse is None else f"{latent_mse:.4f}"
    pixels = "" if real is None else f" {pixel_mse(decoded, real):.1f} |"
    return (f"| {name} | {ok.sum()} | {np.median(np.linalg.norm(got[ok] - at[ok], axis=1)):.3f} "
            f"| {split[0]:+.3f}; {split[1]:.3f} | {split[2]:.3f} | {latent} |{pixels}")


def pixel_mse(decoded: np.ndarray, real: np.ndarray) -> float:
    """Mean squared error of frame ``GIVEN`` of two uint8 videos, over pixels and colour channels (0-255 scale)."""
    return float(((decoded[:, GIVEN].astype(np.float64) - real[:, GIVEN]) ** 2).mean())


def main(paths: list[str], pixels: bool = False) -> None:
    torch.set_num_threads(1)
    first = load_pipeline(paths[0])
    real, centres, source = next_frame.one_ball_clips(first, paths[0])
    z = first.encode_uint8(real)                                           # (M, GIVEN + 1, L, C)
    truth, motion = centres[GIVEN], centres[GIVEN] - centres[GIVEN - 1]

    def mse(latent):
        return float(((latent - z[:, GIVEN]) ** 2).mean())

    def with_frame(latent):
        v = z.clone()
        v[:, GIVEN] = latent
        return first.decode_uint8(v)

    def reencoded_mse(video):
        return mse(first.encode_uint8(video)[:, GIVEN])

    print(f"{len(real)} {source} with one ball in each of their first {GIVEN + 1} frames; frame {GIVEN} from the "
          f"latents of `{paths[0]}`'s tokenizer. Distances in pixels, medians.\n")
    against = real if pixels else None                  # the pixel column's reference, when asked for
    print("| frame 8 from | clips | ball error | along the motion (signed; absolute) | across it | latent MSE |"
          + (" pixel MSE |" if pixels else ""))
    print("|---|---|---|---|---|---|" + ("---|" if pixels else ""))
    straight = 2 * centres[GIVEN - 1] - centres[GIVEN - 2]
    along = next_frame.along_across(straight - truth, motion)
    print(f"| constant velocity in pixels (no latents) | {len(real)} "
          f"| {np.median(np.linalg.norm(straight - truth, axis=1)):.3f} | {along[0]:+.3f}; {along[1]:.3f} "
          f"| {along[2]:.3f} | |" + (" |" if pixels else ""))
    for name, latent in [("the real frame through the tokenizer", z[:, GIVEN]), ("copy: z_7", z[:, GIVEN - 1]),
                         ("constant latent velocity: 2 z_7 − z_6", 2 * z[:, GIVEN - 1] - z[:, GIVEN - 2]),
                         ("three-point rule: 3 z_7 − 3 z_6 + z_5",
                          3 * z[:, GIVEN - 1] - 3 * z[:, GIVEN - 2] + z[:, GIVEN - 3])]:
        video = with_frame(latent)
        print(row(name, video, truth, motion, reencoded_mse(video), against))
    middle = (z[:, GIVEN - 1] + z[:, GIVEN]) / 2
    print(row("midpoint (z_7 + z_8) / 2, against the real balls' midpoint", with_frame(middle),
              (centres[GIVEN - 1] + truth) / 2, motion, None) + (" |" if pixels else ""))   # not frame 8: no latent
    pipes = [first] + [load_pipeline(p) for p in paths[1:]]
    for pipe in pipes[1:]:
        check_same_latents(first, pipe)                 # one latent space, so that one z_8 scores them all
    for path, pipe in zip(paths, pipes):
        video = generate(pipe, len(real), GIVEN + 1, s=STEPS, num_steps=STEPS, seed=0,
                         prefix_frames=real[:, :GIVEN])
        print(row(f"a DiT sample of `{path}` (seed 0)", video, truth, motion, reencoded_mse(video), against),
              flush=True)

    print(f"\nMean squared error of the DiT's prediction of z_8 (frame 8 noised to t, the {GIVEN} real frames before "
          f"it clean, {NOISES} noises per level):\n")
    print("| checkpoint | " + " | ".join(f"t = {t}" for t in LEVELS) + " |")
    print("|---|" + "---|" * len(LEVELS))
    for path, pipe in zip(paths, pipes):
        gen = torch.Generator().manual_seed(0)
        cells = []
        with torch.no_grad():
            for t in LEVELS:
                tt = torch.zeros(len(z), GIVEN + 1, dtype=torch.long)
                tt[:, GIVEN] = t
                errors = []
                for _ in range(NOISES):
                    eps = torch.randn(z[:, GIVEN:].shape, generator=gen)
                    x = z.clone()
                    x[:, GIVEN:] = pipe.noise_schedule.q_sample(z[:, GIVEN:], tt[:, GIVEN:], noise=eps)
                    x0 = pipe.noise_schedule.x0_from_prediction(pipe.config.prediction, x, tt, pipe.model(x, tt))
                    errors.append(mse(x0[:, GIVEN]))
                cells.append(f"{np.mean(errors):.4f}")
        print(f"| `{path}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="fixed rules on the latents against the DiT, for the next frame")
    parser.add_argument("checkpoints", nargs="+", help="the first one's tokenizer makes the latents")
    parser.add_argument("--pixels", action="store_true", help="add the pixel MSE of each frame against the real one")
    args = parser.parse_args()
    main(args.checkpoints, pixels=args.pixels)
