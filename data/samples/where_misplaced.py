"""Where along the sampler is the next ball misplaced? Frame 8 restarted from the real frame at every noise level.

    python data/samples/where_misplaced.py data/checkpoints/ablation/fopp.pt data/checkpoints/balls-independent.pt > data/samples/where_misplaced.md

``next_frame.py`` finds the model's next frame off the real ball by about 0.3 px on average. This script asks at which
noise levels that error is made, as ``first_frame.py`` asks it for lost balls. The clips of ``next_frame.py`` (held-out,
seed 0, one ball in each of their first 9 frames) give their first 8 frames, clean and labelled finished as the
sampler feeds them; frame 8 is not drawn from pure noise but from the **real** frame 8 noised to the level ``t0`` of
one of the sampler's steps (``S = 50``), the distribution a perfect sampler would be in there, and DDIM runs on from
that step alone (``SEEDS`` noises per clip). A perfect model would return the real ball from any ``t0``; what it
misses from ``t0`` on is the error made below ``t0``. Started from pure noise (``t0 = 999``) the loop is the package's
sampler (checked against ``generate``). Columns as in ``next_frame.py``: **error** (median distance of a generated
ball from the real one) and **bias** (of the mean over the noises). Positions in pixels, one thread, deterministic.
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from first_frame import S, restart  # noqa: E402
from next_frame import GIVEN, lone_ball, one_ball_clips  # noqa: E402

from ardiff_edu.ad import step_template  # noqa: E402
from ardiff_edu.ddim import ddim_coefficients  # noqa: E402
from ardiff_edu.pipeline import generate, load_pipeline  # noqa: E402

SEEDS = 4
RESTART_STEPS = (0, 10, 20, 25, 30, 35, 40, 45, 48, 50)     # k0 = 0: pure noise; k0 = S: the last step alone


def main(paths: list[str], seeds: int = SEEDS, steps=RESTART_STEPS) -> None:
    torch.set_num_threads(1)
    first = load_pipeline(paths[0])
    real, centres, source = one_ball_clips(first, paths[0])
    truth = centres[GIVEN]
    template = step_template(S, first.noise_schedule.T)
    print(f"{len(real)} {source} with one ball in each of their first {GIVEN + 1} frames; frame {GIVEN} after the "
          f"{GIVEN} real ones, DDIM (`S = {S}`) from the real frame {GIVEN} noised to the level `t0` of step `k0` "
          f"({seeds} noises, seeds 0-{seeds - 1}; `k0 = 0`: pure noise). Distances in pixels, medians.\n")
    print("| checkpoint | " + " | ".join(f"`t0` = {int(template[k])}" for k in steps) + " |")
    print("|---|" + "---|" * len(steps))
    for path in paths:
        pipe = load_pipeline(path)
        z = pipe.encode_uint8(real)
        template = step_template(S, pipe.noise_schedule.T)
        coef = ddim_coefficients(template, pipe.noise_schedule.alphas_cumprod)
        # frame GIVEN's noise for each seed: generate()'s draw for a clip of GIVEN + 1 frames
        noises = [torch.randn(z.shape, generator=torch.Generator().manual_seed(seed))[:, GIVEN:]
                  for seed in range(seeds)]
        cells = []
        for k0 in steps:
            got = []
            for seed, noise in enumerate(noises):
                x = restart(pipe, z[:, GIVEN:], noise, k0, template, coef, given=z[:, :GIVEN])
                if k0 == 0 and seed == 0:
                    plain = generate(pipe, len(real), GIVEN + 1, s=S, num_steps=S, seed=0,
                                     prefix_frames=real[:, :GIVEN], return_latents=True)[1]
                    assert torch.allclose(x[:, 0], plain[:, GIVEN], atol=1e-4), "the loop is not the package's sampler"
                got.append(lone_ball(pipe.decode_uint8(torch.cat([z[:, :GIVEN], x], 1)), GIVEN))
            got = np.stack(got)
            ok = ~np.isnan(got).any(axis=(0, 2))
            error = np.median(np.linalg.norm(got[:, ok] - truth[ok], axis=2))
            bias = np.median(np.linalg.norm(got[:, ok].mean(0) - truth[ok], axis=1))
            cells.append(f"{error:.3f} / {bias:.3f}" + (f" ({ok.sum()})" if ok.sum() < len(real) else ""))
        print(f"| `{path}`: error / bias | " + " | ".join(cells) + " |", flush=True)
    print("\nA cell's clip count in brackets where a generated frame 8 did not hold one ball for every noise.")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python data/samples/where_misplaced.py CHECKPOINT [CHECKPOINT ...]")
    main(sys.argv[1:])
