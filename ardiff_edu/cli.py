"""The ``train`` and ``sample`` commands (``python -m ardiff_edu train|sample``): argument parsing only.

Every option has a help text and shows its default (``--help``); bad values end in one ``error:`` line naming the
value and the accepted range, with exit status 2 (argument errors) or 1 (everything else).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["train_main", "sample_main"]

_FORMAT = argparse.ArgumentDefaultsHelpFormatter
#: command-line option -> TrainConfig field, for the DiT stage (the tokenizer stage maps a few of them to tok_* and
#: drops the DiT's shape)
_OVERRIDES = ("token_dim", "tok_subgrid", "width", "depth", "heads", "batch_size", "grad_accum", "lr", "lr_schedule",
              "warmup", "timesteps", "sync_fraction", "clean_history_fraction", "snr_weight", "first_frame_band",
              "first_frame_draws", "init_from", "mask", "num_context_tokens", "official_residual", "prediction",
              "ema_decay", "device", "precision", "compile", "seed", "ckpt_every", "keep_every", "log_every", "cache",
              "workers", "num_clips", "data_seed")


def train_parser() -> argparse.ArgumentParser:
    from ardiff_edu.config import HELD_OUT_SEED
    from ardiff_edu.fopp import KINDS
    from ardiff_edu.models import MASKS
    from ardiff_edu.noise import PREDICTIONS
    from ardiff_edu.train import LR_SCHEDULES, PRECISIONS, PRESETS, STAGES

    p = argparse.ArgumentParser(
        prog="python -m ardiff_edu train", formatter_class=_FORMAT,
        description="Train the frame tokenizer (--stage tokenizer), then the AR-Diffusion DiT on its latents "
                    "(--stage dit), into a run directory; --resume continues a run exactly where it stopped. Under "
                    "`torchrun --nproc-per-node N -m ardiff_edu train ...` the N processes share each global batch "
                    "(pass --resume there too: a restarted job then continues from its last checkpoint). The *-paper "
                    "presets train on a cache made by `prepare` (--data). --export writes the small checkpoint that "
                    "`sample` and the notebooks load.",
        epilog="examples: python -m ardiff_edu train --preset balls --stage all --out runs/balls;  "
               "torchrun --nproc-per-node 8 -m ardiff_edu train --preset sky-paper --data data/cache/sky256 "
               "--stage all --out runs/sky-paper --resume")
    p.add_argument("--preset", default="balls", choices=sorted(PRESETS), help="named configuration")
    p.add_argument("--stage", default="dit", choices=STAGES + ("all",), help="what to train ('all': both, in order)")
    p.add_argument("--out", type=Path, default=None, help="run directory (default: runs/<preset>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--steps", type=int, help="total optimizer steps of this stage (default: the preset's)")
    p.add_argument("--token-dim", type=int, metavar="C",
                   help="channels per latent token, both stages (the DiT stage must match its tokenizer)")
    p.add_argument("--tok-subgrid", type=int, metavar="K",
                   help="conv tokenizer: each token a K x K block of a K times finer map, C / K² channels per cell, "
                        "both stages (an experiment, not the paper; default 1)")
    p.add_argument("--width", type=int, help="the DiT's width (default: the preset's)")
    p.add_argument("--depth", type=int, help="the DiT's number of blocks (default: the preset's)")
    p.add_argument("--heads", type=int, help="the DiT's attention heads; must divide --width (default: the preset's)")
    p.add_argument("--batch-size", type=int, help="global batch: clips (DiT) or frames (tokenizer), over every process")
    p.add_argument("--grad-accum", type=int, help="micro-batches per process and step (for batches that don't fit)")
    p.add_argument("--lr", type=float, help="AdamW learning rate (default: the preset's)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, help="constant (the official) or a cosine decay to 0")
    p.add_argument("--warmup", type=int, help="linear warm-up steps")
    p.add_argument("--timesteps", choices=KINDS, help="training timestep sampler (fopp = the paper's)")
    p.add_argument("--sync-fraction", type=float,
                   help="share of clips drawn synchronous instead (an experiment, not the paper; default 0)")
    p.add_argument("--clean-history-fraction", type=float,
                   help="share of clips whose frames before a random cut are clean (t = 0), as the sampler feeds "
                        "finished frames (an experiment, not the paper; default 0)")
    p.add_argument("--snr-weight", type=float, metavar="GAMMA",
                   help="weight each frame's loss by 1 + min(SNR_t, GAMMA), more on the low noise levels (an "
                        "experiment, not the paper; default 0: the plain loss)")
    p.add_argument("--first-frame-band", type=int, nargs=2, metavar=("LO", "HI"),
                   help="also train every clip's frame 0 alone at a timestep in [LO, HI) (an experiment, not the "
                        "paper; default off)")
    p.add_argument("--first-frame-draws", type=int, metavar="K",
                   help="with --first-frame-band: K band draws of frame 0 per clip and step (default 1)")
    p.add_argument("--init-from", metavar="FILE",
                   help="start the DiT from an exported checkpoint (its tokenizer and EMA weights) instead of random "
                        "weights: a fine-tune under this command's recipe (--stage dit only); a larger --depth "
                        "appends new blocks that start as the identity")
    p.add_argument("--mask", choices=MASKS, help="attention mask (leaky needs --num-context-tokens >= 1)")
    p.add_argument("--num-context-tokens", type=int, help="learned context tokens prepended to the sequence")
    p.add_argument("--official-residual", action="store_true", default=None,
                   help="the official block's re-normalised residual stream instead of pre-norm")
    p.add_argument("--prediction", choices=PREDICTIONS, help="what the DiT predicts")
    p.add_argument("--ema-decay", type=float, help="EMA decay of the weights sampling uses")
    p.add_argument("--data", dest="cache", metavar="CACHE",
                   help="a clip cache made by `python -m ardiff_edu prepare`, streamed (the *-paper presets need one)")
    p.add_argument("--workers", type=int, help="data-loader worker processes per training process (with --data)")
    p.add_argument("--num-clips", type=int, help="clips of generated training data (default: the preset's)")
    p.add_argument("--data-seed", type=int, help=f"seed of the generated training data, below {HELD_OUT_SEED} "
                   f"(held-out clips use {HELD_OUT_SEED} and up; default: the preset's)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="where to train (default: the preset's)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="fp32, bf16 autocast, or auto: the faster of the two, measured when the run starts")
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    p.add_argument("--seed", type=int, help="seed of the weights, batches, timesteps and noise")
    p.add_argument("--ckpt-every", type=int, help="steps between checkpoints")
    p.add_argument("--keep-every", type=int, help="also keep a copy of the checkpoint every this many steps, as "
                   "OUT/<stage>-step<N>.pt (loadable like <stage>.pt; for a quality-against-steps table; 0: never)")
    p.add_argument("--log-every", type=int, help="steps between log records")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--export", type=Path, metavar="RUN", help="export RUN's EMA weights (fp16) to --to, then exit")
    p.add_argument("--to", type=Path, metavar="FILE", help="the exported checkpoint (with --export)")
    return p


def train_main(argv: list[str] | None = None) -> int:
    parser = train_parser()
    a = parser.parse_args(argv)
    from ardiff_edu import checkpoint as ckpt
    from ardiff_edu import distributed
    from ardiff_edu.train import PRESETS, STAGES, TrainConfig, preflight, train

    try:
        if a.export:
            if not a.to:
                parser.error("--export needs --to FILE")
            from ardiff_edu.pipeline import export

            print(f"wrote {export(a.export, a.to)}")
            return 0
        out = a.out or Path("runs") / a.preset
        runs = []                   # (stage, config): all checked before anything is written
        for stage in (STAGES if a.stage == "all" else (a.stage,)):
            over = {k: getattr(a, k) for k in _OVERRIDES if getattr(a, k) is not None}
            over["steps"] = a.steps
            if stage == "tokenizer":                     # the DiT's shape is not the tokenizer's
                for k in ("width", "depth", "heads"):
                    over.pop(k, None)
                over.update(tok_steps=over.pop("steps"), tok_batch_size=over.pop("batch_size", None),
                            tok_grad_accum=over.pop("grad_accum", None), tok_lr=over.pop("lr", None),
                            tok_lr_schedule=over.pop("lr_schedule", None))
            over = {k: v for k, v in over.items() if v is not None}
            base = PRESETS[a.preset]
            path = ckpt.checkpoint_path(out, stage)
            if a.resume and path.exists():               # the run's own settings, then what was given explicitly
                base = TrainConfig.from_dict(ckpt.load_file(path)["config"])
            cfg = replace(base, **over)
            preflight(cfg, stage, int(os.environ.get("WORLD_SIZE", "1")), out)
            runs.append((stage, cfg))
        if int(os.environ.get("RANK", "0")) == 0:
            out.mkdir(parents=True, exist_ok=True)
            with open(out / "commands.txt", "a") as f:
                f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}  python -m ardiff_edu train "
                        f"{shlex.join(sys.argv[2:] if argv is None else argv)}\n")
        for stage, cfg in runs:
            path = ckpt.checkpoint_path(out, stage)
            res = train(cfg, out, stage, resume=a.resume, progress=not a.no_progress)
            if distributed.world()[0] == 0:
                done = (f"loss {res['loss']:.4f}" if res["loss"] == res["loss"]
                        else "nothing to do: the run had already reached it")           # NaN: no step was taken
                print(f"{stage}: step {res['step']}, {done}, precision {res['precision']}, checkpoint {path}")
    except (FloatingPointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        distributed.cleanup()
    return 0


def sample_parser() -> argparse.ArgumentParser:
    from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, add_guidance_arguments

    p = argparse.ArgumentParser(
        prog="python -m ardiff_edu sample", formatter_class=_FORMAT,
        description="Generate videos with AR-Diffusion's asynchronous DDIM sampler and write them as a side-by-side "
                    ".mp4/.gif or a uint8 (M, N, H, W, 3) .npy array. Network calls: S + (N-1)*s.",
        epilog="example: python -m ardiff_edu sample --num-frames 64 --s 2 --num-steps 20 --out long.gif")
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                   help="an exported checkpoint or a run's dit.pt")
    p.add_argument("--num-frames", type=int, default=16, help="frames per video, N")
    p.add_argument("--s", "--s-step", dest="s", type=int, default=5,
                   help="AR step s: 0 synchronous ... num-steps frame-by-frame auto-regressive")
    p.add_argument("--num-steps", type=int, default=50, help="DDIM steps S")
    p.add_argument("--window", type=int, default=None, help="frames per network call (default: the training length)")
    p.add_argument("--overflow", choices=["raise", "wait"], default="raise",
                   help="a long video with s*window < S: refuse (raise) or hold new frames back (wait)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting noise")
    p.add_argument("--num-videos", type=int, default=4, help="videos to generate, M")
    p.add_argument("--cfg-scale", type=float, default=1.0, help="classifier-free guidance scale (needs --label)")
    p.add_argument("--label", type=int, default=None, help="class label of a class-conditional model")
    p.add_argument("--prefix-frames", type=int, default=None,
                   help="video prediction: give the first K frames of held-out clips of the model's dataset")
    p.add_argument("--context-noise", type=int, default=0,
                   help="feed finished frames noised to this timestep (0 = clean, the official behaviour)")
    p.add_argument("--no-kv-cache", action="store_true", help="recompute finished frames in every network call")
    add_guidance_arguments(p)
    p.add_argument("--fps", type=int, default=8, help="frames per second of .mp4/.gif")
    p.add_argument("--scale", type=int, default=2, help="upscale .mp4/.gif frames this many times")
    p.add_argument("--batch-size", type=int, default=None, help="videos per sampler call (default: all)")
    p.add_argument("--threads", default="auto",
                   help="torch threads, or 'auto': the faster of 1 and torch's default, measured on this job")
    p.add_argument("--out", type=Path, required=True, help="output file: .mp4, .gif or .npy")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def sample_main(argv: list[str] | None = None) -> int:
    args = sample_parser().parse_args(argv)
    try:
        check_choice("--out suffix", args.out.suffix.lower(), (".npy", ".mp4", ".gif"))
        for name in ("num_videos", "num_frames", "num_steps"):
            check_int(f"--{name.replace('_', '-')}", getattr(args, name), 1)
        check_int("--s", args.s, 0, args.num_steps)
        check_int("--fps", args.fps, 1, 120)
        check_float("--history-guidance", args.history_guidance, 0.0)
        from ardiff_edu.ddim import check_eta, check_temperature

        check_temperature(args.temperature, "--temperature")
        check_eta(args.eta, "--eta")
        if args.prefix_frames is not None:
            check_int("--prefix-frames", args.prefix_frames, 1, args.num_frames - 1)
        if args.cfg_scale != 1.0 and args.label is None:
            raise ValueError(f"--cfg-scale={args.cfg_scale} needs --label (an unconditional model has no guidance)")
        from ardiff_edu.pipeline import choose_threads, generate, load_autoguide, load_first_frame, load_pipeline
        from ardiff_edu.video import write_videos

        autoguide, w = load_autoguide(args.autoguide, args.autoguide_scale)
        first_frame = load_first_frame(args.first_frame)
        pipe = load_pipeline(args.checkpoint)
        if args.threads == "auto":
            choose_threads(pipe, args.batch_size or args.num_videos, args.window)
        else:
            import torch

            torch.set_num_threads(check_int("--threads", int(args.threads) if args.threads.isdigit() else args.threads,
                                            1))
        videos = generate(pipe, num_videos=args.num_videos, num_frames=args.num_frames, s=args.s,
                          num_steps=args.num_steps, window=args.window, seed=args.seed,
                          prefix_frames=args.prefix_frames, labels=args.label, cfg_scale=args.cfg_scale,
                          overflow=args.overflow, context_noise=args.context_noise,
                          kv_cache=False if args.no_kv_cache else None, batch_size=args.batch_size,
                          progress=not args.no_progress, autoguide=autoguide, autoguide_scale=w,
                          first_frame=first_frame, history_guidance=args.history_guidance,
                          history_guidance_max_t=args.history_guidance_max_t, temperature=args.temperature,
                          eta=args.eta)
        from ardiff_edu.ad import ad_nfe

        nfe = ad_nfe(args.num_frames, args.num_steps, args.s, args.window or pipe.config.num_frames, args.overflow,
                     pipe.noise_schedule.T, args.prefix_frames or 0)
        title = (f"{args.checkpoint.stem}: s={args.s}, S={args.num_steps}, NFE={nfe}"
                 + (f", {args.prefix_frames} given" if args.prefix_frames else "")
                 + (", first frame drawn alone" if first_frame is not None else "")
                 + (f", autoguide {w:g}" if autoguide is not None else "")
                 + (f", history {args.history_guidance:g}" if args.history_guidance != 1 else "")
                 + (f" at t<{args.history_guidance_max_t}" if args.history_guidance_max_t is not None else "")
                 + (f", temperature {args.temperature:g}" if args.temperature != 1 else "")
                 + (f", eta {args.eta:g}" if args.eta else ""))
        path = write_videos(args.out, videos, fps=args.fps, scale=args.scale, title=title)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}: {videos.shape[0]} videos x {videos.shape[1]} frames of {videos.shape[2]}x{videos.shape[3]}")
    return 0
