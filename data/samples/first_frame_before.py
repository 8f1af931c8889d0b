"""Why balls drawn by the model of frame 0 get lost: the video DiT, the schedule, or the frame?

    python data/samples/first_frame_before.py --lone 4096 --seeds 1 2 3 4 \
        > data/samples/experiments/first_frame_before.md
    python data/samples/first_frame_before.py --seeds 5 6 7 8 > data/samples/experiments/first_frame_before_fresh.md
    python data/samples/first_frame_before.py --seeds 9 10 11 12 > data/samples/experiments/first_frame_before_fresh2.md

With frame 0 from a separate model of one frame (``sample --first-frame``, ``one_frame_model.py``) fewer videos of
``balls-16ch.pt`` start empty, but more of those that start with a ball lose it within a few frames
(``one_frame_guided.py`` part 3). The loss can come from the two places below, or from what the drawn frame holds.

1. **The video DiT and lone balls.** It could fail to keep a single ball whatever frame 0 is. Part 1 gives it real
   ones: the held-out clips (seed ``10 000 + 5``, ``--lone`` of them) whose first frame shows exactly one ball, that
   frame given (``generate(prefix_frames=...)``), five more frames at ``S``; how many lose the ball, by its colour
   (the palette entry nearest the mean of its bright pixels).
2. **The schedule.** On the AD schedule frame 1 starts ``s`` steps after frame 0 and sees frame 0 while it is still
   noisy, here a draw of another model, whose intermediate states the video DiT never learned. Part 2 samples the same
   noise three ways (DDIM with ``η = 0``: a video is a function of its noise): the shipped setting (frame 0 of the
   video DiT, autoguided by ``balls-16ch-step6000.pt``, ``w = 4``), frame 0 from the model of frame 0 on the AD
   schedule (``--first-frame``), and the same frame 0 finished before the video starts: that decoded frame given to
   the video DiT as video prediction gives a frame (``prefix_frames``; frames 1-15 from the same noise), so that
   frame 1 never sees it half drawn. Per seed and pooled: videos that start empty, videos that start with a ball and
   lose it (an empty frame later), empty frames.

``S = 20`` and ``s = 5`` (the shipped setting) unless ``--num-steps`` says otherwise. One thread, deterministic.
Not in the paper.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from one_frame_guided import video_counts  # noqa: E402
from rescued_balls import lost, pct  # noqa: E402

from ardiff_edu.config import HELD_OUT_SEED  # noqa: E402
from ardiff_edu.data.synthetic import PALETTE, PALETTE_NAMES  # noqa: E402
from ardiff_edu.metrics import blob_counts  # noqa: E402
from ardiff_edu.pipeline import AUTOGUIDE_SCALE, generate, load_pipeline, real_clips  # noqa: E402
from ardiff_edu.utils import check_int  # noqa: E402

VIDEO, WEAK, ONE_FRAME = ("data/checkpoints/balls-16ch.pt", "data/checkpoints/balls-16ch-step6000.pt",
                          "runs/one_frame16_12k/one_frame.pt")
LONE_SEED, LONE_FRAMES, VIDEOS, FRAMES, S = 5, 6, 128, 16, 20
SETTINGS = ("shipped setting", "model of frame 0, on the schedule", "the same frame 0, given finished")


def colour_of(frames: np.ndarray) -> np.ndarray:
    """The palette index nearest the mean colour of the bright pixels (any channel > 100) of every frame
    ``(M, H, W, 3)``: the colour of a lone ball."""
    flat = frames.reshape(len(frames), -1, 3).astype(float)
    bright = flat.max(-1) > 100
    return np.array([int(np.argmin(((PALETTE - f[b].mean(0)) ** 2).sum(1))) for f, b in zip(flat, bright)])


def lone_balls(video, clips: int, num_steps: int) -> None:
    """Part 1: real first frames with one ball, given to ``video``; lost balls by colour."""
    real = real_clips(video, clips, 1, seed=LONE_SEED)[0]
    lone = real[blob_counts(real)[:, 0] == 1]
    colour = colour_of(lone[:, 0])
    counts = np.concatenate([blob_counts(generate(video, len(lone[a:a + 256]), LONE_FRAMES, s=5, num_steps=num_steps,
                                                  seed=LONE_SEED, prefix_frames=lone[a:a + 256]))
                             for a in range(0, len(lone), 256)])
    gone = lost(counts)
    print(f"## 1. Real lone balls given as frame 0\n\n{len(lone)} of {clips} held-out first frames (seed "
          f"{HELD_OUT_SEED + LONE_SEED}) show one ball; each given as frame 0, frames 1-{LONE_FRAMES - 1} generated "
          f"(`S = {num_steps}`, `s = 5`):\n")
    print("| colour | videos | ball lost |\n|---|---|---|")
    for c, name in enumerate(PALETTE_NAMES):
        print(f"| {name} | {int((colour == c).sum())} | {int(gone[colour == c].sum())} |")
    print(f"| all | {len(lone)} | {int(gone.sum())} |\n", flush=True)


def three_ways(video, weak, one, seed: int, videos: int, num_steps: int) -> list[np.ndarray]:
    """The videos ``(videos, FRAMES, H, W, 3)`` of the same noise in the three settings of part 2. Frame 0 attends
    only to itself, so frame 0 of the on-schedule video is the model of frame 0's finished draw; the third setting
    gives exactly that frame to the video DiT."""
    common = {"num_frames": FRAMES, "s": 5, "num_steps": num_steps, "seed": seed}
    shipped = generate(video, videos, autoguide=weak, autoguide_scale=AUTOGUIDE_SCALE, **common)
    on_schedule = generate(video, videos, first_frame=one, **common)
    before = generate(video, videos, prefix_frames=on_schedule[:, :1], **common)
    return [shipped, on_schedule, before]


def row(name: str, per_setting: list[np.ndarray]) -> str:
    """A table row: per setting, videos starting empty / videos that lose their ball / empty frames."""
    cells = []
    for n in per_setting:
        start_empty, gone, empty = video_counts(n)
        cells.append(f"{start_empty} / {gone} / {pct(empty / n.size)}")
    return f"| {name} | " + " | ".join(cells) + " |"


def same_noise(video, weak, one, seeds, videos: int, num_steps: int) -> None:
    """Part 2: every seed's noise sampled the three ways; per seed and pooled."""
    print(f"## 2. The same noise three ways: {videos} videos of {FRAMES} frames per seed (`S = {num_steps}`, "
          f"`s = 5`)\n\nEach cell: videos starting empty / videos that start with a ball and lose it / empty frames.\n")
    print("| seed | " + " | ".join(SETTINGS) + " |\n|---|" + "---|" * len(SETTINGS))
    rows = []
    for seed in seeds:
        rows.append([blob_counts(v) for v in three_ways(video, weak, one, seed, videos, num_steps)])
        print(row(str(seed), rows[-1]), flush=True)
    if len(seeds) > 1:
        print(row("all", [np.concatenate(r) for r in zip(*rows)]))


def main(lone: int = 0, seeds=(), videos: int = VIDEOS, num_steps: int = S, video_path: str = VIDEO,
         weak_path: str = WEAK, one_frame: str = ONE_FRAME) -> None:
    check_int("lone", lone, 0)
    check_int("videos", videos, 1)
    check_int("num_steps", num_steps, 5, 999)
    if not lone and not seeds:
        raise ValueError("nothing to do: give --lone N (part 1) and/or --seeds (part 2)")
    torch.set_num_threads(1)
    video = load_pipeline(video_path)
    print(f"`{video_path}`; its guide `{weak_path}`; the model of frame 0 `{one_frame}`.\n")
    if lone:
        lone_balls(video, lone, num_steps)
    if seeds:
        same_noise(video, load_pipeline(weak_path), load_pipeline(one_frame), tuple(seeds), videos, num_steps)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lone", type=int, default=0, help="part 1: held-out clips to look for lone balls in")
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="part 2: noise seeds")
    parser.add_argument("--videos", type=int, default=VIDEOS, help="part 2: videos per seed")
    parser.add_argument("--num-steps", type=int, default=S, help="S, the DDIM steps of every draw")
    parser.add_argument("--video", default=VIDEO, help="the video DiT")
    parser.add_argument("--weak", default=WEAK, help="the weaker model that guides frame 0 in the shipped setting")
    parser.add_argument("--one-frame", default=ONE_FRAME, help="the model of frame 0 (one_frame_model.py --save)")
    a = parser.parse_args()
    main(a.lone, a.seeds, a.videos, a.num_steps, a.video, a.weak, a.one_frame)
