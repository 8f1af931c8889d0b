"""Why does frame 0 come out empty? A model of one frame trained alone, on the shipped latents and on Gaussian ones.

    python data/samples/one_frame_model.py > data/samples/one_frame_model.md
    python data/samples/one_frame_model.py --latents shipped --steps 12000 --save runs/one_frame_12k   # longer
    python data/samples/one_frame_model.py --checkpoint data/checkpoints/balls-16ch.pt --latents shipped \
        --steps 12000 --save runs/one_frame16_12k                                                 # 16 channels

Under the causal mask frame 0 of every video is a draw from the video DiT's model of one frame, and that draw is empty
(no ball at all) 4-7 % of the time for every shipped or ablation checkpoint, while no real frame is
(``empty_frames.py``, ``first_frame.py``). Two suspects that the video DiT cannot separate:

1. **Frame 0's share of the training.** The video DiT learns its model of one frame from frame 0 of every clip only,
   at the noise levels that FoPP gives frame 0 (mostly low ones), beside fifteen frames that see a history. Here a
   DiT of the same size (the ``balls`` preset's width, depth and heads, ``num_frames = 1``) is trained on nothing
   else: frame 0 of the same 10 000 training clips, at noise levels drawn uniformly from ``[0, T)``, 256 frames a
   step. If it still draws empty frames, the cause is not the share.
2. **The latents' shape.** The shipped latents are standardised per channel, but they are far from Gaussian (ball
   tokens 5-9 times the norm of background tokens, kurtosis 7-13, and the mean latent is close to an empty frame:
   ``latent_stats.py``). The same one-frame model is trained a second time on latents mapped to an exact Gaussian in
   every channel: each channel's values are sent through their own empirical distribution function and the inverse
   Gaussian one, ``y = Φ⁻¹(F_c(z))`` (piecewise linear between 2049 quantiles, extended linearly beyond the ends), a
   monotone map per channel that the sampler's output is sent back through before decoding. If the empty frames
   fall, the shape is a cause.

Both runs: the same seed, data, initial weights, AdamW (the preset's learning rate, weight decay, warm-up and cosine
decay), EMA; x0-prediction and the loss of the DiT stage (:func:`ardiff_edu.losses.dit_loss`). Every ``--every``
steps the EMA model draws 1024 frames with DDIM (``S = 50``, the same starting noise, seed 1) that the shipped
tokenizer decodes and the tracker counts (:func:`ardiff_edu.metrics.blob_counts`, its thresholds as everywhere);
beside them the real first frames and frame 0 of ``balls.pt`` from the same noise. ``--checkpoint`` takes the
tokenizer, latent statistics and video DiT of another export (``balls-16ch.pt``: 16 channels a token), the one-frame
DiT then as many channels wide. Deterministic for a given ``--threads`` (default 2).
Not in the paper, and not part of any shipped model.
"""

import argparse
import copy
import sys
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from first_frame import distance, histogram, restart  # noqa: E402

from ardiff_edu.ad import step_template  # noqa: E402
from ardiff_edu.config import PRESETS, build_dit  # noqa: E402
from ardiff_edu.ddim import ddim_coefficients  # noqa: E402
from ardiff_edu.losses import dit_loss  # noqa: E402
from ardiff_edu.metrics import blob_counts, count_shares  # noqa: E402
from ardiff_edu.pipeline import load_pipeline, real_clips  # noqa: E402
from ardiff_edu.train import ema_update, learning_rate, load_clips  # noqa: E402
from ardiff_edu.utils import atomic_torch_save, check_choice, check_int  # noqa: E402
from ardiff_edu.video import to_float  # noqa: E402

CHECKPOINT, DRAWS, S, SEED, TRAIN_SEED = "data/checkpoints/balls.pt", 1024, 50, 1, 0
QUANTILES = 2049


class GaussianMap:
    """A monotone map per channel from latents ``(..., C)`` to values with a standard Gaussian distribution,
    ``y = Φ⁻¹(F_c(z))``, fitted on ``z``: piecewise linear between the channel's quantiles, linear beyond them."""

    def __init__(self, z: torch.Tensor, quantiles: int = QUANTILES):
        flat = z.reshape(-1, z.shape[-1]).double()
        p = (torch.arange(quantiles, dtype=torch.float64) + 0.5) / quantiles
        self.z_knots = torch.quantile(flat, p, dim=0).T.contiguous()                 # (C, K), increasing
        self.z_knots += 1e-9 * torch.arange(quantiles, dtype=torch.float64)          # strictly increasing
        self.y_knots = torch.special.ndtri(p).expand_as(self.z_knots).contiguous()   # Φ⁻¹(p), the same per channel

    @staticmethod
    def _interp(x: torch.Tensor, xk: torch.Tensor, yk: torch.Tensor) -> torch.Tensor:
        """Per channel ``c``, the piecewise-linear function through ``(xk[c], yk[c])`` at ``x[..., c]``."""
        cols = x.reshape(-1, x.shape[-1]).double().T.contiguous()                    # (C, n)
        i = torch.searchsorted(xk, cols).clamp(1, xk.shape[1] - 1)
        x0, x1 = xk.gather(1, i - 1), xk.gather(1, i)
        y0, y1 = yk.gather(1, i - 1), yk.gather(1, i)
        y = y0 + (cols - x0) / (x1 - x0) * (y1 - y0)                                 # linear beyond the ends too
        return y.T.reshape(x.shape).float()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._interp(z, self.z_knots, self.y_knots)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return self._interp(y, self.y_knots, self.z_knots)


def first_frame_latents(pipe, num_clips: int | None = None) -> torch.Tensor:
    """Frame 0 of every training clip of the ``balls`` preset as the shipped pipeline's latents ``(N, 1, L, C)``."""
    clips, _, _ = load_clips(PRESETS["balls"], num_clips=num_clips)
    return torch.cat([pipe.encode_video(to_float(clips[i:i + 512, :1])) for i in range(0, len(clips), 512)])


@torch.no_grad()
def draw(model, pipe, noise: torch.Tensor, to_latents=None) -> np.ndarray:
    """Ball counts of the frames that DDIM (``S`` steps, the package's loop as ``first_frame.restart`` runs it) draws
    from ``noise`` with the one-frame ``model``; ``to_latents`` maps its output to the shipped latents first."""
    template = step_template(S, pipe.noise_schedule.T)
    coef = ddim_coefficients(template, pipe.noise_schedule.alphas_cumprod)
    x = restart(types.SimpleNamespace(model=model, noise_schedule=pipe.noise_schedule), noise, noise, 0, template,
                coef)
    return blob_counts(pipe.decode_uint8(x if to_latents is None else to_latents(x)))[:, 0]


def train(z: torch.Tensor, pipe, noise: torch.Tensor, steps: int, every: int, batch: int = 256,
          to_latents=None, log=print) -> tuple[list, torch.nn.Module]:
    """Train a one-frame DiT on ``z (N, 1, L, C)`` (``C`` channels a token); every ``every`` steps (and at the end)
    the ball counts of its EMA model's frames from ``noise``. Returns ``([(step, counts), ...], the EMA model)``."""
    cfg = PRESETS["balls"]
    torch.manual_seed(TRAIN_SEED)
    model = build_dit(replace(cfg, num_frames=1, token_dim=z.shape[3]), z.shape[2])
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(TRAIN_SEED + 1)
    T, results = pipe.noise_schedule.T, []
    for step in range(steps):
        idx = torch.randint(len(z), (batch,), generator=gen)
        t = torch.randint(T, (batch, 1), generator=gen)                          # uniform over [0, T)
        eps = torch.randn((batch, *z.shape[1:]), generator=gen)
        for group in opt.param_groups:
            group["lr"] = learning_rate(cfg.lr, step, steps, cfg.lr_schedule, cfg.warmup)
        loss = dit_loss(model, z[idx], t, eps, pipe.noise_schedule, prediction=cfg.prediction).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        ema_update(ema, model, step, cfg.ema_decay)
        if (step + 1) % every == 0 or step + 1 == steps:
            results.append((step + 1, draw(ema, pipe, noise, to_latents)))
            log(step + 1, loss.item(), results[-1][1])
    return results, ema


def export(raw, to, checkpoint: str = CHECKPOINT) -> Path:
    """The one-frame DiT trained on the shipped latents (``raw``: what ``--save`` wrote) as an exported checkpoint
    beside ``checkpoint``'s tokenizer and latent statistics (``num_frames = 1``, float32 weights), so that
    ``sample --autoguide TO --autoguide-scale 0`` takes frame 0's prediction from it alone (``D_weak + 0·(D −
    D_weak)``) and the video DiT continues. An experiment, not a shipped model."""
    saved = torch.load(raw, map_location="cpu", weights_only=False)
    if saved["map"] is not None:
        raise ValueError(f"{raw} was trained on Gaussian latents: only a model of the shipped latents can be exported")
    base = torch.load(checkpoint, map_location="cpu", weights_only=False)
    channels = saved["dit"]["x_embed.weight"].shape[1]                         # the token width it was trained on
    if channels != base["config"]["token_dim"]:
        raise ValueError(f"{raw} was trained on latents of {channels} channels, {checkpoint} has "
                         f"{base['config']['token_dim']}: export it beside the checkpoint whose latents it learnt")
    meta = {"steps": saved["steps"], "seed": TRAIN_SEED, "made_by": "python data/samples/one_frame_model.py --save",
            "tokenizer_and_latents_of": checkpoint}
    atomic_torch_save({**base, "config": {**base["config"], "num_frames": 1}, "dit": saved["dit"], "meta": meta,
                       "log": []}, to)
    return Path(to)


def row(name: str, counts: np.ndarray, real: np.ndarray) -> str:
    return f"| {name} | {histogram(counts)} | {count_shares(counts)[0]:.3f} | {distance(counts, real):.3f} |"


LATENTS = ("both", "shipped")


def main(steps: int = 6000, every: int = 1500, num_clips: int | None = None, draws: int = DRAWS,
         threads: int = 2, save=None, latents: str = "both", checkpoint: str = CHECKPOINT) -> None:
    check_choice("latents", latents, LATENTS)
    check_int("steps", steps, 1, 10 ** 6)
    check_int("every", every, 1, 10 ** 6)
    check_int("draws", draws, 1, 10 ** 6)
    if num_clips is not None:
        check_int("num_clips", num_clips, 1, PRESETS["balls"].num_clips)
    torch.set_num_threads(check_int("threads", threads, 1, 256))
    pipe = load_pipeline(checkpoint)
    real = blob_counts(real_clips(pipe, draws, 1, seed=SEED)[0])[:, 0]
    z = first_frame_latents(pipe, num_clips)
    noise = torch.randn((draws, *z.shape[1:]), generator=torch.Generator().manual_seed(SEED))
    video = draw(pipe.model, pipe, noise)
    variants = [("shipped latents", z, None)]
    if latents == "both":
        gauss = GaussianMap(z)
        assert torch.allclose(gauss.inverse(gauss.forward(z)), z, atol=1e-4), "the Gaussian map does not invert"
        variants.append(("Gaussian latents", gauss.forward(z), gauss.inverse))

    print(f"Frame 0 of {len(z)} training clips of the `balls` preset; {draws} frames drawn by each model (DDIM, "
          f"`S = {S}`, the same starting noise, seed {SEED}) against {draws} held-out real first frames (seed "
          f"{SEED}). One-frame DiTs: the preset's width, depth and heads, 256 frames a step, `t` uniform, "
          f"train seed {TRAIN_SEED}; EMA weights. TV: total-variation distance of the ball counts to the real ones.\n")
    print("| model | 0 / 1 / 2 / 3 / 4+ balls | empty | TV |\n|---|---|---|---|")
    print(row("real first frames", real, real))
    print(row(f"frame 0 of `{checkpoint}` (the video DiT)", video, real), flush=True)
    for name, inputs, back in variants:
        results, ema = train(inputs, pipe, noise, steps, every, to_latents=back,
                             log=lambda step, loss, n: print(f"{name}: step {step}, loss {loss:.4f}, empty "
                                                             f"{(n == 0).mean():.3f}", file=sys.stderr, flush=True))
        for step, counts in results:
            print(row(f"one-frame DiT, {name}, {step} steps", counts, real), flush=True)
        if save is not None:                  # the EMA weights (and the map) for a later experiment, not a model
            Path(save).mkdir(parents=True, exist_ok=True)
            torch.save({"dit": ema.state_dict(), "steps": steps, "map": None if back is None else
                        (gauss.z_knots, gauss.y_knots)}, Path(save) / f"one_frame_{name.split()[0].lower()}.pt")
    if save is not None:
        export(Path(save) / "one_frame_shipped.pt", Path(save) / "one_frame.pt", checkpoint)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--every", type=int, default=1500, help="draw and count every this many steps")
    parser.add_argument("--num-clips", type=int, default=None, help="fewer training clips (the tests' short runs)")
    parser.add_argument("--draws", type=int, default=DRAWS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", default=None, help="a folder for the EMA weights of the one-frame DiTs")
    parser.add_argument("--latents", choices=LATENTS, default="both",
                        help="train on both latent variants, or on the shipped latents alone")
    parser.add_argument("--checkpoint", default=CHECKPOINT, help="the export whose tokenizer, latent statistics and "
                        "video DiT to use")
    a = parser.parse_args()
    main(a.steps, a.every, a.num_clips, a.draws, a.threads, a.save, a.latents, a.checkpoint)
