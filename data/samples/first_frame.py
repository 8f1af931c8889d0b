"""Where is a lone ball lost? The first frame of the default model, restarted from real frames at every noise level.

    python data/samples/first_frame.py > data/samples/first_frame.md

Frame 0 attends only to itself, so it is a draw from the model of one frame (``generate(..., num_frames=1)``). Three
measurements, seed 1, one thread, deterministic:

1. **Which frames are missing.** The ball counts of 1024 generated first frames against 1024 held-out real ones.
2. **Where along the noise levels.** DDIM (``S = 50``) started not from pure noise but from real first frames noised
   to the level ``t0`` of one of its steps, ``q(x_t0 | x0)``, which is exactly the distribution a perfect sampler would
   be in at that step. If the model were right from ``t0`` down, no frame would come out empty; the share that does
   is the damage done below ``t0``. Started at ``t0 = 999`` with the same noise, the loop is the package's sampler
   (checked: the same latents as ``generate``).
3. **Which real frames lose their ball**: the ball counts of the sources of the frames that came out empty. (From pure
   noise the output has no source; its "same count" is the chance level of two independent draws.)
"""

import sys

import numpy as np
import torch

from ardiff_edu.ad import step_template
from ardiff_edu.ddim import ddim_coefficients, ddim_step
from ardiff_edu.metrics import blob_counts, count_shares
from ardiff_edu.pipeline import generate, load_pipeline, real_clips

DRAWS, S, SEED = 1024, 50, 1
RESTART_STEPS = (0, 5, 8, 11, 14, 18, 25)      # step indices k0 of the DDIM template (k0 = 0: pure noise)


def histogram(counts) -> str:
    return " / ".join(f"{h:.3f}" for h in count_shares(counts))


def distance(counts, real) -> float:
    """The total-variation distance between the ball-count shares of ``counts`` and of ``real``."""
    return float(0.5 * np.abs(count_shares(counts) - count_shares(real)).sum())


@torch.no_grad()
def restart(pipe, x0, noise, k0, template, coef, given=None):
    """DDIM from step ``k0`` of ``template`` for one frame ``(M, 1, L, C)``: from ``noise`` itself (``k0 = 0``) or from
    ``x0`` noised to its level; ``given``: clean frames ``(M, K, L, C)`` before it, fed labelled finished
    (``template[S]``), as the sampler feeds given frames (``where_misplaced.py``)."""
    M, K = len(x0), 0 if given is None else given.shape[1]
    x = noise.clone() if k0 == 0 else pipe.noise_schedule.q_sample(x0, torch.full((M, 1), int(template[k0])), noise)
    t = torch.full((M, K + 1), int(template[S]))
    for k in range(max(k0, 1), S + 1):             # step k moves from template[k] down to the next level
        t[:, K] = int(template[k])
        x0_hat = pipe.model(x if given is None else torch.cat([given, x], 1), t)[:, K:]
        x = ddim_step(x, x0_hat, torch.tensor([k]), coef)
    return x


def main(path: str, draws: int = DRAWS) -> None:
    torch.set_num_threads(1)
    pipe = load_pipeline(path)
    template = step_template(S, pipe.noise_schedule.T)
    coef = ddim_coefficients(template, pipe.noise_schedule.alphas_cumprod)
    real, _ = real_clips(pipe, draws, 1, seed=SEED)
    x0, n_real = pipe.encode_uint8(real), blob_counts(real)[:, 0]
    generated, latents = generate(pipe, draws, 1, s=0, num_steps=S, seed=SEED, return_latents=True)
    noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(SEED))   # generate()'s first draw

    print(f"`{path}`, first frames: {draws} generated (`S = {S}`, seed {SEED}) and {draws} held-out real ones "
          f"(seed {SEED}).\n")
    print("| | 0 / 1 / 2 / 3 / 4+ balls |\n|---|---|")
    print(f"| real | {histogram(n_real)} |\n| generated | {histogram(blob_counts(generated)[:, 0])} |\n")
    print("DDIM restarted from the real frames noised to step `k0`'s level (the same noise for every row):\n")
    print("| start | `t0` | 0 / 1 / 2 / 3 / 4+ balls | empty | sources of the empty frames: 1 / 2 / 3 balls "
          "| same count as the source |")
    print("|---|---|---|---|---|---|")
    for k0 in RESTART_STEPS:
        x = restart(pipe, x0, noise, k0, template, coef)
        if k0 == 0:
            assert torch.allclose(x, latents, atol=1e-5), "the restart loop is not the package's sampler"
        n = blob_counts(pipe.decode_uint8(x))[:, 0]
        src = " / ".join(str(int(v)) for v in np.bincount(n_real[n == 0], minlength=4)[1:4]) if k0 else "-"
        print(f"| {'pure noise' if k0 == 0 else f'step {k0}'} | {int(template[k0])} | {histogram(n)} "
              f"| {(n == 0).mean():.3f} | {src} | {(n == n_real).mean():.2f} |",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/checkpoints/balls.pt")
