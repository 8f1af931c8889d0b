"""Autoguiding frame 0, video by video on the same noise: which videos it rescues, and whether their ball lasts.

    python data/samples/rescued_balls.py data/checkpoints/balls-16ch.pt data/checkpoints/balls-16ch-step6000.pt --num-steps 20 --seeds 1 2 3 4 > data/samples/rescued_balls.md
    python data/samples/rescued_balls.py data/checkpoints/balls-16ch.pt data/checkpoints/balls-16ch-step6000.pt --num-steps 50 --seeds 1 > data/samples/rescued_balls_S50.md

``empty_frames.py --autoguide`` counts both sources of empty frames with and without autoguidance, but on the whole
set: the empty first frames fall and the balls lost on the way rise. Deterministic DDIM (``η = 0``) makes a video a
function of its starting noise, so the same noise can be sampled twice, once plain and once with frame 0 autoguided
(by the weaker model, at the CLI's default weight), and the two videos compared one by one:

1. **Videos.** 128 videos of 16 frames per seed (``s = 5``); a video is *rescued* when its plain frame 0 is empty and
   its guided frame 0 is not, and *emptied* the other way round. Per seed: how many start empty, how many are rescued
   and emptied, how many of the rescued lose their ball again (and at which frame the first empty frame comes), how
   many of the other videos lose balls, and the share of empty frames, plain and guided, with the part of the guided
   ones that lies in videos starting empty.
2. **First frames alone.** Frame 0 of a video is the one-frame draw with the same noise (the strictly causal mask), so
   1024 guided draws per seed (``num_frames=1``) count the empty first frames on more noise; pooled over the seeds with
   a 95 % Wilson interval.

One thread; the tracker and its thresholds are those of every other table (:func:`ardiff_edu.metrics.blob_counts`).
"""

import argparse
import math

import numpy as np
import torch

from ardiff_edu.metrics import blob_counts
from ardiff_edu.pipeline import generate, load_autoguide, load_pipeline

VIDEOS, FIRST_FRAMES, FRAMES, S_AR = 128, 1024, 16, 5


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a share ``k / n``."""
    p, d = k / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def lost(counts: np.ndarray) -> np.ndarray:
    """Videos (rows of ball counts ``(videos, frames)``) that start with a ball and show an empty frame later."""
    return (counts[:, 0] > 0) & (counts == 0).any(1)


def split(plain: np.ndarray, guided: np.ndarray) -> dict:
    """The paired split of two ``(videos, frames)`` ball-count arrays of the same noise (plain, frame 0 guided)."""
    start_empty_p, start_empty_g = plain[:, 0] == 0, guided[:, 0] == 0
    lose_p, lose_g = lost(plain), lost(guided)
    rescued, emptied = start_empty_p & ~start_empty_g, ~start_empty_p & start_empty_g
    first_empty = [int(np.argmax(guided[i] == 0)) for i in np.flatnonzero(rescued & lose_g)]
    return {"videos": len(plain), "start_empty": (int(start_empty_p.sum()), int(start_empty_g.sum())),
            "rescued": int(rescued.sum()), "emptied": int(emptied.sum()),
            "rescued_lost": int((rescued & lose_g).sum()), "lost_at": first_empty,
            "others_lost": (int((lose_p & ~rescued).sum()), int((lose_g & ~rescued).sum())),
            "empty": (int((plain == 0).sum()), int((guided == 0).sum())),
            "empty_in_empty_starts": int((guided[start_empty_g] == 0).sum()), "frames": plain.size}


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def row(name: str, r: dict) -> str:
    n, (ep, eg) = r["frames"], r["empty"]
    lost_at = ", ".join(map(str, r["lost_at"])) or "-"
    share = f"{100 * r['empty_in_empty_starts'] / eg:.0f} %" if eg else "-"
    return (f"| {name} | {r['start_empty'][0]} / {r['start_empty'][1]} of {r['videos']} | {r['rescued']} "
            f"| {r['emptied']} | {r['rescued_lost']} ({lost_at}) | {r['others_lost'][0]} / {r['others_lost'][1]} "
            f"| {pct(ep / n)} / {pct(eg / n)} | {share} |")


def main(checkpoint: str, weak_path: str, num_steps: int, seeds: list[int], videos: int = VIDEOS,
         first_frames: int = FIRST_FRAMES) -> None:
    torch.set_num_threads(1)
    pipe = load_pipeline(checkpoint)
    weak, w = load_autoguide(weak_path, None)
    print(f"Model `{checkpoint}`, frame 0 autoguided by `{weak_path}` (w {w:g}); `S = {num_steps}`, `s = {S_AR}`, "
          f"DDIM η 0.\n")
    print(f"## 1. The same noise, plain and guided: {videos} videos of {FRAMES} frames per seed\n")
    print("| seed | videos starting empty: plain / guided | rescued (plain frame 0 empty, guided not) "
          "| emptied (plain frame 0 has a ball, guided not) | rescued that lose the ball again (first empty frame) "
          "| other videos that lose balls: plain / guided "
          "| empty frames: plain / guided | guided empty frames in videos starting empty |")
    print("|---|---|---|---|---|---|---|---|")
    plain, guided = [], []
    for seed in seeds:
        for counts, kw in ((plain, {}), (guided, {"autoguide": weak, "autoguide_scale": w})):
            counts.append(blob_counts(generate(pipe, videos, FRAMES, s=S_AR, num_steps=num_steps, seed=seed, **kw)))
        print(row(str(seed), split(plain[-1], guided[-1])), flush=True)
    if len(seeds) > 1:                                   # the seeds pooled: the split of all their videos together
        print(row("all", split(np.concatenate(plain), np.concatenate(guided))))
    print(f"\n## 2. First frames alone, guided: {first_frames} draws per seed (`num_frames=1`)\n")
    print("| seed | empty first frames | share | 95 % interval |")
    print("|---|---|---|---|")
    empty = []
    for seed in seeds:
        n = blob_counts(generate(pipe, first_frames, 1, s=0, num_steps=num_steps, seed=seed, autoguide=weak,
                                 autoguide_scale=w))[:, 0]
        empty.append(int((n == 0).sum()))
        lo, hi = wilson(empty[-1], first_frames)
        print(f"| {seed} | {empty[-1]} of {first_frames} | {pct(empty[-1] / first_frames)} | [{pct(lo)}, {pct(hi)}] |",
              flush=True)
    if len(seeds) > 1:
        k, n = sum(empty), first_frames * len(seeds)
        lo, hi = wilson(k, n)
        print(f"| all | {k} of {n} | {pct(k / n)} | [{pct(lo)}, {pct(hi)}] |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("weak", help="the weaker checkpoint that guides every frame 0")
    parser.add_argument("--num-steps", type=int, default=20, help="S, the DDIM steps (default 20)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="noise seeds (default 1)")
    args = parser.parse_args()
    if not S_AR <= args.num_steps <= 999:
        parser.error(f"--num-steps must be in [{S_AR}, 999] (s = {S_AR} <= S), got {args.num_steps}")
    main(args.checkpoint, args.weak, args.num_steps, args.seeds)
