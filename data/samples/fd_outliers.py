"""Which videos carry a Fréchet distance? Each generated video left out in turn.

    python data/samples/fd_outliers.py CHECKPOINT [--num-frames 64] [--num-videos 32] [--num-steps 20] [--seed 0]
        [--s 5] [sampler options of `evaluate`: --autoguide, --history-guidance, ...] > FILE.md

``evaluate`` pools the videonet features of every 16-frame window of every generated video and measures the Fréchet
distance of that pool to held-out real clips (``fd_videonet``). The distance is computed from a mean and a covariance,
so a few windows far from every real one (a scene whose balls have vanished, say) can raise it on their own. This
script generates the videos of ``evaluate``'s protocol (the same noise, sampler and reference clips, so its first line
is ``evaluate``'s ``fd_videonet`` for the same arguments), then prints the distance without each video, the largest
drop first, beside that video's ball counts per window. One thread, deterministic.
"""

import argparse

import numpy as np
import torch

from ardiff_edu.fvd import fd_from_features
from ardiff_edu.metrics import blob_counts
from ardiff_edu.pipeline import add_guidance_arguments, generate, load_autoguide, load_pipeline
from ardiff_edu.protocol import Scorer, reference_clips
from ardiff_edu.videonet import DEFAULT_VIDEONET, load_videonet

SHOWN = 8       # the videos listed: those whose absence lowers the distance most


def leave_one_out(reference: np.ndarray, windows: np.ndarray) -> tuple[float, np.ndarray]:
    """The distance of all videos' window features ``(N, W, D)`` to ``reference`` ``(M, D)``, and ``(N,)``: the
    distance with video ``i``'s windows left out."""
    full = fd_from_features(reference, windows.reshape(-1, windows.shape[-1]))
    without = [fd_from_features(reference, np.delete(windows, i, axis=0).reshape(-1, windows.shape[-1]))
               for i in range(len(windows))]
    return full, np.array(without)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--num-frames", type=int, default=64)
    p.add_argument("--num-videos", type=int, default=32)
    p.add_argument("--num-steps", type=int, default=20)
    p.add_argument("--s", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    add_guidance_arguments(p)
    args = p.parse_args(argv)
    if not 1 <= args.num_steps <= 999 or not 0 <= args.s <= args.num_steps:
        p.error(f"need 1 <= --num-steps <= 999 and 0 <= --s <= --num-steps, got --num-steps {args.num_steps} and "
                f"--s {args.s}")
    torch.set_num_threads(1)
    pipe, net = load_pipeline(args.checkpoint), load_videonet(DEFAULT_VIDEONET)
    window = net.cfg.num_frames
    if args.num_frames < window or args.num_videos < 3:
        raise SystemExit(f"--num-frames must be >= {window} (one videonet window) and --num-videos >= 3, got "
                         f"{args.num_frames} and {args.num_videos}")
    autoguide, w = load_autoguide(args.autoguide, args.autoguide_scale)
    reference = reference_clips(pipe, args.num_videos, args.num_frames, args.seed)
    videos = generate(pipe, args.num_videos, args.num_frames, args.s, num_steps=args.num_steps, seed=args.seed,
                      autoguide=autoguide, autoguide_scale=w, history_guidance=args.history_guidance,
                      history_guidance_max_t=args.history_guidance_max_t, temperature=args.temperature, eta=args.eta)
    scorer = Scorer(reference, net)
    windows, real = scorer.windows(videos), scorer.windows(reference)
    full, without = leave_one_out(real.reshape(-1, real.shape[-1]), windows)
    counts = np.minimum(blob_counts(videos), 4)
    print(f"`{args.checkpoint}`: {args.num_videos} videos of {args.num_frames} frames, s = {args.s}, S = "
          f"{args.num_steps}, seed {args.seed}, autoguide {args.autoguide or 'none'} (w {w:g}), history guidance "
          f"{args.history_guidance:g} (t < {args.history_guidance_max_t}), temperature {args.temperature:g}, "
          f"eta {args.eta:g}\n")
    print(f"fd_videonet of all {args.num_videos} videos: {full:.2f}\n")
    print("| video | fd_videonet without it | its empty frames | frames with 0 / 1 / 2 / 3 / 4+ balls, per window of "
          f"{window} |")
    print("|---|---|---|---|")
    for i in np.argsort(without)[:SHOWN]:
        per_window = "; ".join(" / ".join(str(int((counts[i, k:k + window] == c).sum())) for c in range(5))
                               for k in range(0, args.num_frames - window + 1, window))
        print(f"| {i} | {without[i]:.2f} | {int((counts[i] == 0).sum())} of {args.num_frames} | {per_window} |")


if __name__ == "__main__":
    main()
