"""``python -m ardiff_edu evaluate``: score checkpoints on a fixed protocol, with sanity rows and 95 % intervals.

    python -m ardiff_edu evaluate --checkpoint data/checkpoints/balls.pt --s 0 5 --num-videos 32 --out r.json
    python -m ardiff_edu evaluate --task predict --given 4 --s 2 5 --out p.json      # video prediction vs the truth
    python -m ardiff_edu evaluate --task drift --num-frames 256 --s 2 --context-noise 0 100 --out d.json
    python -m ardiff_edu evaluate --report r.json p.json d.json --out all.json    # merge: tables, plots, claims

The protocol (:mod:`ardiff_edu.protocol`) is pinned by the arguments: every checkpoint meets the same held-out real
clips and starts from the same noise, so rows differ only by what is compared. ``generate`` prints the sanity rows
(real clips, the tokenizer alone, uniform noise, black frames, shuffled frames, a frozen first frame) beside the
generated ones; ``--control-s 5`` adds the equal-NFE control (``s = 0`` with as many network calls as ``s = 5``).
Scores: the ball tracker, the frame-to-frame difference, the toy Fréchet distance in the features of the shipped
``data/checkpoints/videonet.pt`` (not FVD), and FVD itself with ``--i3d-weights PATH`` (the TorchScript I3D,
``docs/fvd.md``; never downloaded). ``--out`` writes the JSON (rows, protocol, the command) and a Markdown table
beside it; ``--report`` merges results into one JSON with every table, the claims table and one PNG per metric.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from ardiff_edu.fvd import i3d_protocol, load_i3d
from ardiff_edu.metrics import ball_stats
from ardiff_edu.pipeline import (DEFAULT_CHECKPOINT, add_guidance_arguments, load_autoguide, load_first_frame,
                                 load_pipeline)
from ardiff_edu.protocol import TASKS, run_task
from ardiff_edu.results import (markdown_table, merge, report_markdown, save_json, text_table, write_plots,
                                write_report)
from ardiff_edu.utils import atomic_open, check_int
from ardiff_edu.videonet import DEFAULT_VIDEONET, load_videonet

__all__ = ["build_parser", "evaluate", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ardiff_edu evaluate",
                                description="Score checkpoints on a fixed protocol (ball tracker, toy Fréchet "
                                            "distance, optional FVD) with sanity rows and bootstrap intervals.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--task", choices=TASKS, default="generate",
                   help="generate: unconditional videos; predict: continue given frames, compared with the "
                        "simulator; drift: long videos scored per 16-frame segment")
    p.add_argument("--checkpoint", type=Path, nargs="+", default=[DEFAULT_CHECKPOINT],
                   help="checkpoints to score (several: one row per checkpoint and s, the same noise); each is "
                        "labelled by its file name")
    p.add_argument("--videos", type=Path, nargs="*", default=[],
                   help="generate: also track these uint8 (M, N, H, W, 3) .npy files (from `sample --out x.npy`)")
    p.add_argument("--s", type=int, nargs="+", default=[0, 5], help="AR steps to generate with")
    p.add_argument("--num-videos", type=int, default=16, help="videos per row")
    p.add_argument("--num-frames", type=int, default=16, help="frames per video")
    p.add_argument("--num-steps", type=int, default=20, help="DDIM steps S")
    p.add_argument("--control-s", type=int, default=None,
                   help="add the equal-NFE control: s=0 with S raised to the network calls of this s")
    p.add_argument("--given", type=int, default=4, help="predict: frames given from the real clip")
    p.add_argument("--context-noise", type=int, nargs="+", default=[0],
                   help="drift: noise levels (timesteps) at which finished frames are fed back; 0 = clean")
    add_guidance_arguments(p, scope="generate, drift: ")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise and of the held-out real clips")
    p.add_argument("--videonet", default=str(DEFAULT_VIDEONET),
                   help="the toy video network for the Fréchet distance ('none' to skip)")
    p.add_argument("--i3d-weights", type=Path, default=None,
                   help="the TorchScript I3D file (i3d_torchscript.pt, see docs/fvd.md) for FVD; never downloaded")
    p.add_argument("--num-boot", type=int, default=1000, help="bootstrap draws for the 95 %% intervals")
    p.add_argument("--num-reference", type=int, default=256,
                   help="real clips every row is compared with (at least --num-videos)")
    p.add_argument("--out", type=Path, default=None,
                   help="write the result to this .json (and a Markdown table beside it, .md)")
    p.add_argument("--plots", action="store_true", help="with --out: also one PNG per metric beside it")
    p.add_argument("--report", type=Path, nargs="+", default=None,
                   help="merge these result files into --out: every table, the claims, one PNG per metric")
    p.add_argument("--plot-s", type=int, default=5, help="--report: the s of the predict curves and the claims")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return p


def evaluate(args: argparse.Namespace) -> dict:
    """Run one task as the parsed arguments say; returns the result (without the command)."""
    for name in ("num_videos", "num_frames", "num_steps"):
        check_int(f"--{name.replace('_', '-')}", getattr(args, name), 1 if name == "num_steps" else 2)
    pipelines, paths = {}, {}
    for path in args.checkpoint:
        label = Path(path).stem
        while label in pipelines:                                   # the same file name twice: keep both rows
            label += "'"
        pipelines[label], paths[label] = load_pipeline(path), str(path)
    videonet = None
    if str(args.videonet).lower() != "none":
        if Path(args.videonet) == DEFAULT_VIDEONET and not DEFAULT_VIDEONET.is_file():
            print(f"note: {DEFAULT_VIDEONET} does not exist yet (`python -m ardiff_edu.videonet` trains it): "
                  f"no toy Fréchet distance", file=sys.stderr)
        else:
            videonet = load_videonet(args.videonet)
    i3d = None if args.i3d_weights is None else load_i3d(args.i3d_weights)
    autoguide, w = load_autoguide(args.autoguide, args.autoguide_scale)
    result = run_task(args.task, pipelines, args.s, args.num_videos, args.num_frames, args.num_steps, args.seed,
                      args.control_s, args.given, args.context_noise, videonet, i3d, args.num_boot, paths=paths,
                      num_reference=args.num_reference, progress=not args.no_progress, autoguide=autoguide,
                      autoguide_scale=w, autoguide_path=args.autoguide, first_frame=load_first_frame(args.first_frame),
                      first_frame_path=args.first_frame, history_guidance=args.history_guidance,
                      history_guidance_max_t=args.history_guidance_max_t, temperature=args.temperature,
                      eta=args.eta)
    if i3d is not None:
        result["protocol"]["i3d"] = i3d_protocol(args.i3d_weights, result["protocol"]["i3d"]["feature_dim"],
                                                 args.num_videos, args.num_frames)
    if videonet is not None:
        result["protocol"]["videonet"]["file"] = Path(args.videonet).name
    for p in args.videos:
        values = ball_stats(np.load(p))[0]
        result["rows"].append({"group": "file", "name": p.name, "values": values,
                               "ci": {k: [float("nan")] * 2 for k in values}})
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = "python -m ardiff_edu evaluate " + shlex.join(sys.argv[2:] if argv is None else argv)
    if args.report:
        if args.out is None:
            raise ValueError("--report needs --out (where to write the merged JSON, tables and plots)")
        report = merge(args.report)
        report["command"] = command
        for path in write_report(report, args.out, plot_s=args.plot_s, s=args.plot_s):
            print(f"wrote {path}")
        print(report_markdown(report, args.plot_s).split("## Claims")[-1])
        return 0
    result = evaluate(args)
    result = {"command": command, **result}
    print(text_table(result))
    print("protocol: " + ", ".join(f"{k}={v}" for k, v in result["protocol"].items()
                                   if k not in ("checkpoints", "tracker", "bootstrap", "videonet", "i3d")))
    if args.out is not None:
        save_json(result, args.out)
        with atomic_open(args.out.with_suffix(".md"), "w") as f:
            f.write(f"`{command}`\n\n{markdown_table(result)}\n")
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
        if args.plots:
            for path in write_plots(merge([result]), args.out.parent, prefix=args.out.stem):
                print(f"wrote {path}")
    return 0
