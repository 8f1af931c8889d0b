"""Does a decoder that expects imprecise latents draw steadier balls? The decoder fine-tuned on noised latents.

    python data/samples/robust_decoder.py --sigma 0.3 --out runs/robust3
    python data/samples/robust_decoder.py --response data/checkpoints/balls.pt runs/robust3/balls.pt
    python data/samples/robust_decoder.py --paired data/checkpoints/balls.pt runs/robust3/balls.pt [--num-frames 64]

The DiT never returns the latents of a real frame exactly; its error reaches the pixels through the decoder, which was
trained on clean latents only. How much a small latent error costs is measured by ``--response``: real held-out clips
are encoded, every latent gets independent Gaussian noise of ``sigma`` latent standard deviations (the DiT's own
units, the checkpoint's ``latent_std``), and the decoded clips are scored by the tracker like every other table.
``--paired A B`` decodes the *same* generated latents (A's DiT; ``s = 5``, ``S = 50``, seed 0, the tables' protocol)
with the decoders of A and of B, and gives the difference of the tracker's medians with a bootstrap interval over
videos that resamples both sets alike: two decoders of one generation differ far less than their separate intervals
suggest.

Training mode fine-tunes the decoder of ``--start``'s tokenizer (default ``balls.pt``; its weights, also the start of
the EMA) with the encoder frozen, on frames of the ``balls`` preset's training clips:

    loss = MSE(decode(z + σ · latent_std · ε), x),   z = encode(x),   σ ~ U(0, sigma) per frame,   ε ~ N(0, I)

weighted ``tok_fg_weight``× on non-black pixels as in the tokenizer stage. The decoder learns to return the frame
that a latent near ``z`` most likely came from. The encoder and so the latents do not change, and with them neither
the latent statistics nor any DiT trained on them: the new decoder drops into every checkpoint of the shipped
tokenizer. Adam with a cosine decay from ``--lr`` to 0, EMA with the fixed decay ``tok_ema_decay`` (it starts from a
trained decoder), frames drawn by a generator seeded ``--seed``: a run is deterministic for a given thread count. It
writes ``OUT/robust_decoder.jsonl`` (the loss every 50 steps) and, for each of ``--apply`` (default: ``balls.pt`` and
``balls-independent.pt``), ``OUT/<name>.pt``: that export with its decoder replaced by the EMA decoder (fp16, as
every export). Not in the paper, and not part of any shipped model. Its training loop (``fit``), paired table
(``paired_table``) and options (``add_training_arguments``) also serve ``temporal_decoder.py``.
"""

import argparse
import copy
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu.config import PRESETS, build_tokenizer
from ardiff_edu.losses import foreground_weight
from ardiff_edu.metrics import aggregate, ball_stats, clip_records
from ardiff_edu.pipeline import check_same_latents, generate, load_autoguide, load_pipeline, real_clips
from ardiff_edu.quality import bootstrap_counts, bootstrap_indices, percentile_ci
from ardiff_edu.train import learning_rate, load_clips
from ardiff_edu.utils import atomic_torch_save, check_float, check_int
from ardiff_edu.video import to_float

START = "data/checkpoints/balls.pt"
APPLY = ("data/checkpoints/balls.pt", "data/checkpoints/balls-independent.pt")
SIGMAS = (0.0, 0.1, 0.2, 0.3)
COLUMNS = ("match_frac", "accel_median", "colour_drift_median", "empty_frac")


def noised_latents(z: torch.Tensor, sigma, std: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``z (..., L, C)`` plus Gaussian noise of ``sigma`` (a number, or one per leading row) times ``std (C,)``."""
    sigma = torch.as_tensor(sigma, dtype=z.dtype).reshape(-1, *[1] * (z.ndim - 1))
    return z + sigma * std * torch.randn(z.shape, generator=gen)


@torch.no_grad()
def response(path, sigmas=SIGMAS, num_videos: int = 64, num_frames: int = 16, seed: int = 0) -> list[dict]:
    """Tracker scores of ``num_videos`` held-out real clips through checkpoint ``path``'s tokenizer, each latent
    noised by ``sigma`` latent standard deviations (seed ``seed``; the same noise for every checkpoint)."""
    pipe = load_pipeline(path)
    real = real_clips(pipe, num_videos, num_frames, seed)[0]
    z = torch.cat([pipe.encode_uint8(real[i:i + 16]) for i in range(0, len(real), 16)])      # normalised latents
    rows = []
    for sigma in sigmas:
        noisy = noised_latents(z, check_float("sigma", sigma, 0.0, 10.0), torch.ones(()),
                               torch.Generator().manual_seed(seed))
        videos = np.concatenate([pipe.decode_uint8(noisy[i:i + 16]) for i in range(0, len(noisy), 16)])
        scores = ball_stats(videos)[0]
        rows.append({"checkpoint": str(path), "sigma": sigma, **{k: float(scores[k]) for k in COLUMNS}})
    return rows


def choose(generated: dict, tokenizer_only: dict, real_speed: float, colour_limit: float = 4.9) -> float:
    """The rule that picks ``--sigma``, written before the seed-2 sweep that applies it: among the σ whose decoder
    changes a real ball's colour by at most ``colour_limit`` (issue 14's tokenizer target) and whose generated balls
    keep within 10 % of the real speed, the one whose generated clips change a ball's colour least.
    ``generated``: ``{σ: {"colour_drift_median", "speed_median"}}``, ``tokenizer_only``: ``{σ: colour change of real
    clips through that decoder}``."""
    ok = [s for s, v in generated.items() if tokenizer_only[s] <= colour_limit
          and abs(v["speed_median"] - real_speed) <= 0.1 * real_speed]
    if not ok:
        raise ValueError(f"no sigma passes the guards: {sorted(generated)}")
    return min(ok, key=lambda s: generated[s]["colour_drift_median"])


def response_table(rows: list[dict]) -> str:
    lines = ["| decoder of | σ (latent std) | match | acceleration | colour change | empty frames |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r['checkpoint']}` | {r['sigma']:g} | {r['match_frac']:.2f} | {r['accel_median']:.2f} "
                     f"| {r['colour_drift_median']:.1f} | {100 * r['empty_frac']:.0f} % |")
    return "\n".join(lines)


def paired_table(head: str, labels: list, videos: list, columns=COLUMNS, extra=None, num_boot: int = 1000,
                 seed: int = 0) -> str:
    """A markdown table: the tracker's ``columns`` for two decodings ``videos`` of the same latents (and the means of
    each ``extra`` function of the videos, ``{name: f}``, ``f((N, F, H, W, 3)) -> (N,)``), and their difference
    with a 95 % bootstrap interval that resamples the same videos for both."""
    records = [clip_records(v)["records"] for v in videos]
    counts = bootstrap_counts(bootstrap_indices(len(videos[0]), num_boot, seed))
    point = [aggregate(r) for r in records]
    boots = [aggregate(r, counts) for r in records]
    for name, per_video in (extra or {}).items():
        for p, b, v in zip(point, boots, videos):
            x = per_video(v)
            p[name], b[name] = x.mean(), counts @ x / counts.sum(1)
    lines = [head, "", f"| | {labels[0]} | {labels[1]} | difference [95 % paired interval] |", "|---|---|---|---|"]
    for key in tuple(columns) + tuple(extra or ()):
        lo, hi = percentile_ci(np.asarray(boots[1][key]) - np.asarray(boots[0][key]))
        a, b = point[0][key], point[1][key]
        lines.append(f"| {key} | {a:.3f} | {b:.3f} | {b - a:+.3f} [{lo:+.3f}, {hi:+.3f}] |")
    return "\n".join(lines)


@torch.no_grad()
def paired(first, second, num_videos: int = 64, num_frames: int = 16, seed: int = 0, autoguide=None,
           num_boot: int = 1000) -> str:
    """A markdown table: the tracker's medians of ``first``'s generated videos decoded by ``first`` and by
    ``second`` (same latents), and their difference with a paired 95 % bootstrap interval over videos."""
    a, b = load_pipeline(first), load_pipeline(second)
    check_same_latents(a, b)
    guide, w = load_autoguide(autoguide, None)
    z = generate(a, num_videos, num_frames, s=5, num_steps=50, seed=seed, overflow="wait", autoguide=guide,
                 autoguide_scale=w, return_latents=True)[1]
    head = f"{num_videos} videos of {num_frames} frames, `s = 5`, `S = 50`, seed {seed}"
    if autoguide:
        head += f", frame 0 autoguided by `{autoguide}` (weight {w:g})"
    return paired_table(head, [f"decoder of `{first}`", f"decoder of `{second}`"],
                        [a.decode_uint8(z), b.decode_uint8(z)], num_boot=num_boot, seed=seed)


def fit(model: torch.nn.Module, batch_loss, steps: int, lr: float, ema_decay: float, log_path: Path):
    """``steps`` Adam updates of ``model`` on ``batch_loss()`` (which draws its own batch), the learning rate decaying
    from ``lr`` to 0 on a cosine; returns the EMA of the weights, with the fixed ``ema_decay`` (the model starts
    trained). The loss every 50 steps goes to stdout and to ``log_path`` as JSON lines."""
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    t0 = time.time()
    with open(log_path, "w") as log:
        for step in range(1, steps + 1):
            loss = batch_loss()
            rate = learning_rate(lr, step - 1, steps, "cosine")
            for group in opt.param_groups:
                group["lr"] = rate
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(pm, 1 - ema_decay)
            if step % 50 == 0 or step == 1:
                record = {"step": step, "loss": loss.item(), "lr": rate, "s": round(time.time() - t0)}
                print(json.dumps(record), flush=True)
                log.write(json.dumps(record) + "\n")
                log.flush()
    return ema


def add_training_arguments(parser, items: str) -> None:
    """The options shared by the decoder fine-tunes of this folder; ``items``: what a batch is drawn from."""
    parser.add_argument("--sigma", type=float, help="the largest noise, in latent standard deviations")
    parser.add_argument("--out", help="the run directory for the loss log and what the run writes")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=7, help=f"the seed of the {items} and the noise drawn")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (a run is deterministic per count)")
    parser.add_argument("--start", default=START, help="the export whose tokenizer (and latent_std) to start from")


def main(sigma: float, out, steps: int = 1000, lr: float = 3e-4, batch: int = 128, seed: int = 7,
         num_clips: int | None = None, threads: int = 2, start: str = START, apply=APPLY) -> list[Path]:
    check_float("sigma", sigma, 0.0, 10.0)
    check_int("steps", steps, 1, 10 ** 6)
    check_int("batch", batch, 1, 4096)
    out = Path(out)
    targets = [out / Path(p).name for p in apply]
    for t in targets + [out / "robust_decoder.jsonl"]:
        if t.exists():
            raise ValueError(f"{t} exists: pass another --out")
    first = ckpt.load_file(start)
    cfg = PRESETS["balls"] if num_clips is None else replace(PRESETS["balls"], num_clips=num_clips)
    tok = build_tokenizer(cfg)
    tok.load_state_dict({k: v.float() for k, v in first["tokenizer"].items()})
    exports = [ckpt.load_file(p) for p in apply]
    for path, ck in zip(apply, exports):                             # before anything is written
        if any(not torch.equal(ck["tokenizer"][k], first["tokenizer"][k]) for k in tok.encoder_state_dict()):
            raise ValueError(f"{path} has another encoder than {start}: its latents are not the ones trained on")
    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    tok.encoder.requires_grad_(False)
    std = first["latent_std"].float()
    frames = load_clips(cfg)[0].flatten(0, 1)                        # (N·F, H, W, 3) uint8
    gen = torch.Generator().manual_seed(seed)

    def batch_loss():
        x = to_float(frames[torch.randint(len(frames), (batch,), generator=gen)])         # (n, C, H, W)
        with torch.no_grad():
            z = noised_latents(tok.encode(x), sigma * torch.rand(batch, generator=gen), std, gen)
        return (foreground_weight(x, cfg.tok_fg_weight) * (tok.decode(z).float() - x) ** 2).mean()

    ema = fit(tok.decoder, batch_loss, steps, lr, cfg.tok_ema_decay, out / "robust_decoder.jsonl")
    decoder = {f"decoder.{k}": v.half() for k, v in ema.state_dict().items()}
    for ck, target in zip(exports, targets):
        ck["tokenizer"] = dict(ck["tokenizer"], **decoder)
        ck["meta"] = dict(ck["meta"], decoder_from=f"robust_decoder.py --sigma {sigma:g} --steps {steps}")
        atomic_torch_save(ck, target)
    return targets


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="fine-tune the shipped tokenizer's decoder on noised latents")
    add_training_arguments(parser, "frames")
    parser.add_argument("--apply", nargs="+", default=list(APPLY), help="exports that get the new decoder")
    parser.add_argument("--response", nargs="+", metavar="CHECKPOINT",
                        help="instead: print how each checkpoint's decoder scores noised latents of real clips")
    parser.add_argument("--paired", nargs=2, metavar=("A", "B"),
                        help="instead: score A's generated latents through A's and B's decoders, paired")
    parser.add_argument("--num-frames", type=int, default=16, help="with --paired (64: 32 videos, sliding window)")
    parser.add_argument("--autoguide", help="with --paired: autoguide frame 0 with this checkpoint")
    a = parser.parse_args()
    if a.response:
        torch.set_num_threads(a.threads)
        print(response_table([r for p in a.response for r in response(p)]))
    elif a.paired:
        torch.set_num_threads(a.threads)
        print(paired(*a.paired, num_videos=64 if a.num_frames <= 16 else 32, num_frames=a.num_frames,
                     autoguide=a.autoguide))
    elif a.sigma is None or a.out is None:
        parser.error("--sigma and --out are required unless --response or --paired is given")
    else:
        main(a.sigma, a.out, steps=a.steps, lr=a.lr, seed=a.seed, threads=a.threads, start=a.start, apply=a.apply)
