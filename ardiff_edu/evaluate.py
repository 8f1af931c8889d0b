"""``python -m ardiff_edu evaluate``: score checkpoints on a fixed protocol, real and generated side by side.

    python -m ardiff_edu evaluate --checkpoint data/checkpoints/balls.pt --s 0 5 --num-videos 32 --out results.json

The protocol is fixed by the arguments: the same held-out real clips (seed ``10 000 + seed``) and the same starting
noise for every checkpoint and every ``s``. Every table carries sanity rows, so that a reader sees what the tracker
rewards and what it punishes: real clips, real clips through the tokenizer alone (the best the DiT can do), and
real clips with their frames shuffled and uniform noise. Writes a JSON (rows, protocol, the command) and a Markdown
table beside it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from ardiff_edu.metrics import ball_stats, format_table, shuffle_frames, uniform_noise
from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, generate, load_pipeline, real_clips
from ardiff_edu.utils import atomic_open, check_int

__all__ = ["score_pipeline", "markdown_table", "main"]


def score_pipeline(pipeline, s_values=(0, 5), num_videos: int = 16, num_frames: int = 16, num_steps: int = 20,
                   seed: int = 0, window: int | None = None, overflow: str = "raise", sanity: bool = True,
                   progress: bool = False) -> tuple[dict, dict]:
    """``({name: ball_stats values}, protocol)``: held-out real clips, their tokenizer reconstruction, generated
    clips for every ``s``, and (``sanity``) the real clips with shuffled frames and uniform noise."""
    real, _ = real_clips(pipeline, num_videos, num_frames, seed)
    rows = {}
    values, protocol = ball_stats(real)
    rows[f"real {num_frames}f"] = values
    rows["real, tokenizer only"] = ball_stats(pipeline.decode_uint8(pipeline.encode_uint8(real)))[0]
    for s in s_values:
        videos = generate(pipeline, num_videos, num_frames, s, num_steps=num_steps, window=window, seed=seed,
                          overflow=overflow, progress=progress)
        rows[f"generated s={s} S={num_steps}"] = ball_stats(videos)[0]
    if sanity:
        rows["real, frames shuffled"] = ball_stats(shuffle_frames(real, seed))[0]
        rows["uniform noise"] = ball_stats(uniform_noise(real.shape, seed))[0]
    return rows, protocol


def markdown_table(rows: dict, keys=("match_frac", "accel_median", "colour_drift_median", "empty_frac",
                                     "count_mean")) -> str:
    """``{name: values}`` → a Markdown table of ``keys``."""
    lines = ["| clips | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, values in rows.items():
        lines.append(f"| {name} | " + " | ".join("nan" if values[k] != values[k] else f"{values[k]:.2f}"
                                               for k in keys) + " |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ardiff_edu evaluate",
                                description="Score checkpoints with the ball tracker (a toy statistic, not FVD) on "
                                            "held-out real clips and generated clips with the same noise.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", type=Path, nargs="+", default=[DEFAULT_CHECKPOINT],
                   help="checkpoints to score (several: one row per checkpoint and s, the same noise)")
    p.add_argument("--videos", type=Path, nargs="*", default=[],
                   help="also score these uint8 (M, N, H, W, 3) .npy files (from `sample --out x.npy`)")
    p.add_argument("--s", type=int, nargs="*", default=[0, 5], help="AR steps to generate with")
    p.add_argument("--num-videos", type=int, default=16, help="videos per row")
    p.add_argument("--num-frames", type=int, default=16, help="frames per video")
    p.add_argument("--num-steps", type=int, default=20, help="DDIM steps S")
    p.add_argument("--window", type=int, default=None, help="frames per network call (default: the training length)")
    p.add_argument("--overflow", choices=["raise", "wait"], default="raise",
                   help="a long video with s*window < S: refuse or hold new frames back")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise and of the held-out real clips")
    p.add_argument("--out", type=Path, default=None, help="write the rows and the protocol to this .json "
                                                          "(and a Markdown table beside it, .md)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("num_videos", "num_frames", "num_steps"):
        check_int(f"--{name.replace('_', '-')}", getattr(args, name), 1)
    rows, protocol = {}, {}
    for i, path in enumerate(args.checkpoint):
        pipe = load_pipeline(path)
        got, protocol = score_pipeline(pipe, args.s, args.num_videos, args.num_frames, args.num_steps, args.seed,
                                       args.window, args.overflow, sanity=i == 0, progress=not args.no_progress)
        for name, values in got.items():
            if len(args.checkpoint) > 1 and name.startswith("generated "):       # one row per checkpoint and s
                name = f"{Path(path).stem} ({pipe.meta.get('steps')} steps) {name.removeprefix('generated ')}"
            rows.setdefault(name, values)
    for p in args.videos:
        rows[p.name] = ball_stats(np.load(p))[0]
    sanity = [n for n in rows if n in ("real, frames shuffled", "uniform noise")]
    rows = {**{n: v for n, v in rows.items() if n not in sanity}, **{n: rows[n] for n in sanity}}   # sanity rows last
    print(format_table(rows))
    print("protocol: " + ", ".join(f"{k}={v}" for k, v in protocol.items()))
    if args.out is not None:
        command = "python -m ardiff_edu evaluate " + shlex.join(sys.argv[2:] if argv is None else argv)
        with atomic_open(args.out, "w") as f:
            json.dump({"command": command, "protocol": protocol, "rows": rows}, f, indent=1)
        with atomic_open(args.out.with_suffix(".md"), "w") as f:
            f.write(f"`{command}`\n\n{markdown_table(rows)}\n")
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0
