"""Do straighter latents give a more precise next frame? The tokenizer fine-tuned with a curvature penalty.

    python data/samples/straight_latents.py --weight 0.3 --out runs/straight3

``latent_rules.py`` finds that the shipped tokenizer's latents of a ball moving on a straight line do not move on
one: the rule ``z_8 = 2 z_7 − z_6`` (constant latent velocity) puts the ball 0.49 px from the real one, while constant
velocity in pixels misses by 0.11 px. A DiT that extrapolates the motion in latent space has to undo that bend. This
script makes a tokenizer whose latents bend less, so that the DiT stage of ``train`` can be run on them and the two
DiTs compared (``data/samples/README.md`` has the commands and the result).

It starts from the tokenizer of ``data/checkpoints/balls.pt`` (its EMA weights, also the start of the new EMA) and
trains it on triplets of consecutive frames of the training clips of the ``balls`` preset with

    loss = reconstruction + weight · curvature,
    curvature = Σ |z_1 − (z_0 + z_2) / 2|² / Σ |(z_2 − z_0) / 2|²   (sums over the batch's triplets)

where the reconstruction is the tokenizer stage's (MSE, ``tok_fg_weight``× on non-black pixels, over all three
frames) and ``z`` the raw tokens of a triplet, flattened. The curvature is a ratio, so shrinking every latent does
not lower it. Adam with a cosine decay from ``--lr`` to 0, EMA ``tok_ema_decay``; the triplets come from a generator
seeded ``--seed``, so a run is deterministic for a given thread count. It writes ``OUT/tokenizer.pt``, a
tokenizer-stage run checkpoint (at step ``tok_steps``, so that ``train --stage tokenizer --resume`` has nothing left
to do) that ``train --stage dit --out OUT`` encodes its latents with, and ``OUT/straight_latents.jsonl``, the loss
every 50 steps. Not in the paper, and not part of any shipped model.

With ``--init-export`` it also writes ``OUT/init.pt``: an export holding the new tokenizer and the DiT of
``balls.pt``, with latent statistics measured through the new tokenizer on the training clips (the DiT stage's own
``latents.encode_latents``, which also leaves its cache in ``OUT``). That DiT was trained on the old tokenizer's
latents, so the file is a starting point, not a model: ``train --init-from OUT/init.pt`` fine-tunes the shipped DiT
on the straightened latents.
"""

import argparse
import copy
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu.config import PRESETS, build_tokenizer
from ardiff_edu.latents import encode_latents
from ardiff_edu.losses import foreground_weight
from ardiff_edu.train import learning_rate, load_clips
from ardiff_edu.utils import atomic_torch_save, check_float, check_int
from ardiff_edu.video import to_float

START = "data/checkpoints/balls.pt"


def curvature(z: torch.Tensor) -> torch.Tensor:
    """``z (n, 3, D)``: the triplets' summed squared distance of the middle latent from its neighbours' midpoint,
    over their summed squared half-span."""
    bend = ((z[:, 1] - (z[:, 0] + z[:, 2]) / 2) ** 2).sum(1)        # |z_1 − (z_0 + z_2)/2|²
    span = ((z[:, 2] - z[:, 0]) ** 2).sum(1) / 4                    # |(z_2 − z_0)/2|²
    return bend.sum() / (span.sum() + 1e-8)


def balls_config(num_clips: int | None = None):
    """The ``balls`` preset, with ``num_clips`` training clips if given (the tests' short runs)."""
    return PRESETS["balls"] if num_clips is None else replace(PRESETS["balls"], num_clips=num_clips)


def losses(tok, frames: torch.Tensor, fg_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``frames (n, 3, C, H, W)`` in [-1, 1]: ``(reconstruction, curvature)`` of the tokenizer ``tok``."""
    flat = frames.flatten(0, 1)
    z = tok.encode(flat)
    recon = tok.decode(z).float()
    rec = (foreground_weight(flat, fg_weight) * (recon - flat) ** 2).mean()      # the tokenizer stage's loss
    return rec, curvature(z.float().reshape(len(frames), 3, -1))


def main(weight: float, out, steps: int = 1500, lr: float = 3e-4, triplets: int = 42, seed: int = 7,
         num_clips: int | None = None, threads: int = 2, start: str = START) -> Path:
    check_float("weight", weight, 0.0, 100.0)
    check_int("steps", steps, 1, 10 ** 6)
    check_int("triplets", triplets, 1, 4096)
    out = Path(out)
    if (out / "tokenizer.pt").exists():
        raise ValueError(f"{out / 'tokenizer.pt'} exists: pass another --out")
    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    cfg = balls_config(num_clips)
    tok = build_tokenizer(cfg)
    tok.load_state_dict({k: v.float() for k, v in ckpt.load_file(start)["tokenizer"].items()})
    ema = copy.deepcopy(tok).requires_grad_(False)
    opt = torch.optim.Adam(tok.parameters(), lr=lr)
    clips = load_clips(cfg)[0]                                       # (N, F, H, W, 3) uint8
    gen = torch.Generator().manual_seed(seed)
    N, F = clips.shape[:2]
    t0 = time.time()
    with open(out / "straight_latents.jsonl", "w") as log:
        for step in range(1, steps + 1):
            ci = torch.randint(N, (triplets,), generator=gen)
            fi = torch.randint(F - 2, (triplets,), generator=gen)
            frames = to_float(clips[ci[:, None], fi[:, None] + torch.arange(3)])     # (n, 3, C, H, W)
            rec, bend = losses(tok, frames, cfg.tok_fg_weight)
            rate = learning_rate(lr, step - 1, steps, "cosine")
            for group in opt.param_groups:
                group["lr"] = rate
            opt.zero_grad()
            (rec + weight * bend).backward()
            opt.step()
            # a fixed decay, not train.ema_update's warm-up: that is for an EMA that starts untrained, this one
            # starts from the trained tokenizer
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), tok.parameters()):
                    pe.lerp_(pm, 1 - cfg.tok_ema_decay)
            if step % 50 == 0 or step == 1:
                record = {"step": step, "rec": rec.item(), "straight": bend.item(), "lr": rate,
                          "s": round(time.time() - t0)}
                print(json.dumps(record), flush=True)
                log.write(json.dumps(record) + "\n")
                log.flush()
    return ckpt.save_state(out / "tokenizer.pt", stage="tokenizer", config=asdict(cfg), step=cfg.tok_steps,
                           model=tok, ema=ema, optimizer=opt, generators=ckpt.make_generators(cfg.seed))


def init_export(out, num_clips: int | None = None, start: str = START) -> Path:
    """``OUT/init.pt``: the export ``start`` with its tokenizer replaced by ``OUT/tokenizer.pt``'s EMA (fp16, as
    every export) and its latent statistics re-measured through that tokenizer."""
    out = Path(out)
    ck = ckpt.load_file(start)
    cfg = balls_config(num_clips)
    tok = ckpt.load_file(out / "tokenizer.pt")
    pool = encode_latents(cfg, out, load_clips(cfg)[0], "cpu")
    ck["tokenizer"] = {k: v.half() if v.is_floating_point() else v for k, v in tok["ema"].items()}
    ck["latent_mean"], ck["latent_std"] = pool["mean"], pool["std"]
    ck["meta"] = dict(ck["meta"], tokenizer_from=str(out / "tokenizer.pt"))
    return atomic_torch_save(ck, out / "init.pt")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="fine-tune balls.pt's tokenizer with a curvature penalty")
    parser.add_argument("--weight", type=float, required=True, help="the curvature term's weight")
    parser.add_argument("--out", required=True, help="the run directory the DiT stage will train in")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (a run is deterministic per count)")
    parser.add_argument("--init-export", action="store_true",
                        help="also write OUT/init.pt (the new tokenizer with balls.pt's DiT) for train --init-from")
    a = parser.parse_args()
    main(a.weight, a.out, steps=a.steps, lr=a.lr, threads=a.threads)
    if a.init_export:
        init_export(a.out)
