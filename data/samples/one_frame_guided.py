"""Frame 0 from the model of one frame, autoguided: fewer empty first frames than any video DiT draws?

    python data/samples/one_frame_model.py --save runs/one_frame      # first: runs/one_frame/one_frame.pt
    python data/samples/one_frame_guided.py > data/samples/one_frame_guided.md
    python data/samples/one_frame_guided.py --one-frame runs/one_frame_12k/one_frame.pt   # another model of one frame
    python data/samples/one_frame_guided.py --one-frame runs/one_frame16_12k/one_frame.pt --video \
        data/checkpoints/balls-16ch.pt --weak data/checkpoints/balls-16ch-step6000.pt --num-steps 20 --seeds 1 2 3 4

``one_frame_model.py`` trains a DiT of one frame on first frames alone; it draws an empty frame 2.1 % of the time,
against 6.2 % for frame 0 of ``balls.pt``. Here it is autoguided (Karras et al. 2024) by the weaker model that guides
frame 0 of the shipped settings, the FoPP ablation arm: ``D = D_weak + w · (D_one − D_weak)``.

1. **The weight**, chosen as ``autoguidance.py`` chose its own: 1024 first frames (``S = 50``, seed 1) for ``w`` in
   ``WEIGHTS``, and the ``w`` whose ball counts are closest to the real first frames' (total-variation distance).
2. **Videos whose frame 0 it draws.** The video sampler's autoguidance with weight 0 takes frame 0's prediction from
   the guiding model alone (``D_g + 0 · (D − D_g)``); with the guided one-frame model as that model, frame 0 comes
   from it and the video DiT (``balls-independent.pt``) makes every later frame, on the AD schedule as always. Where
   empty frames come from, as ``empty_frames.py`` measures them (seed 1, 128 videos unless ``--videos``), and the
   tables of the quality protocol (``evaluate``'s scorer, seed 0: 64 videos of 16 frames and 32 of 64, ``S = 50``,
   ``s = 5``), each beside the shipped setting (frame 0 of the same DiT autoguided by the FoPP arm, ``w = 4``).

3. **More noise, video by video** (``--seeds``): DDIM with ``η = 0`` makes a video a function of its starting noise,
   so both settings sample the same noise: first frames alone (``draws`` per seed, pooled with a 95 % Wilson interval)
   and ``videos`` videos of 16 frames per seed, compared one by one (``rescued_balls.py``'s pairing).

``--video``, ``--weak`` and ``--num-steps`` take another video DiT, its guide and ``S`` (the 16-channel export,
its 6000-step state, ``S = 20``: the shipped setting of ``balls-16ch.pt``) in every part. ``--eta`` draws every frame
with DDIM's ``η`` (``sample --eta``), in the sweep, the measure and the tables alike.
One thread, deterministic. Not in the paper, and not part of any shipped model.
"""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from autoguidance import EveryFrameGuided  # noqa: E402
from empty_frames import measure  # noqa: E402
from first_frame import distance, histogram  # noqa: E402
from rescued_balls import lost, pct, wilson  # noqa: E402

from ardiff_edu.ddim import check_eta  # noqa: E402
from ardiff_edu.metrics import blob_counts  # noqa: E402
from ardiff_edu.pipeline import AUTOGUIDE_SCALE, generate, load_pipeline, real_clips  # noqa: E402
from ardiff_edu.protocol import run_task  # noqa: E402
from ardiff_edu.results import markdown_table  # noqa: E402
from ardiff_edu.utils import check_int  # noqa: E402

ONE_FRAME, WEAK, VIDEO = "runs/one_frame/one_frame.pt", "data/checkpoints/ablation/fopp.pt", \
    "data/checkpoints/balls-independent.pt"
WEIGHTS, DRAWS, SEED = (1.0, 1.5, 2.0, 3.0, 4.0), 1024, 1


def guided(one, weak, w: float):
    """``one`` (a pipeline of the one-frame model) with its model guided by ``weak``'s with weight ``w``: the mix of
    ``autoguidance.py``, ``D_weak + w · (D − D_weak)`` on every frame, here its only one."""
    return replace(one, model=EveryFrameGuided(one.model, weak.model, w))


def main(draws: int = DRAWS, videos: int = 128, table_videos: tuple = (64, 32), weights=WEIGHTS,
         one_frame: str = ONE_FRAME, eta: float = 0.0, video_path: str = VIDEO, weak_path: str = WEAK,
         num_steps: int = 50, seeds: tuple = ()) -> None:
    check_int("draws", draws, 1, 10 ** 6)
    eta = check_eta(eta)
    check_int("videos", videos, 1, 10 ** 6)
    check_int("num_steps", num_steps, 5, 999)                        # S >= s = 5
    if not weights or not all(0 <= w <= 100 for w in weights):
        raise ValueError(f"weights must be one or more numbers in [0, 100], got {weights}")
    torch.set_num_threads(1)
    one, weak, video = load_pipeline(one_frame), load_pipeline(weak_path), load_pipeline(video_path)
    if one.config.num_frames != 1:
        raise ValueError(f"{one_frame} is a model of {one.config.num_frames} frames, not of one frame")
    real = blob_counts(real_clips(video, draws, 1, seed=SEED)[0])[:, 0]
    S = num_steps

    print(f"Model of one frame `{one_frame}` (`one_frame_model.py --save`), guided by `{weak_path}`: "
          f"`D_weak + w · (D_one − D_weak)`.{f' DDIM with `η = {eta:g}` in every draw.' if eta else ''}\n")
    print(f"## 1. The weight: {draws} first frames (`S = {S}`, seed {SEED})\n")
    print("| w | 0 / 1 / 2 / 3 / 4+ balls | total-variation distance to real |\n|---|---|---|")
    print(f"| real first frames | {histogram(real)} | 0 |")
    scores = {}
    for w in weights:
        n = blob_counts(generate(guided(one, weak, w), draws, 1, s=0, num_steps=S, seed=SEED, eta=eta))[:, 0]
        scores[w] = distance(n, real)
        print(f"| {w:g}{' (none)' if w == 1 else ''} | {histogram(n)} | {scores[w]:.3f} |", flush=True)
    best = min(scores, key=scores.get)
    print(f"\nSmallest distance at w = {best:g}.\n")

    frame0 = guided(one, weak, best)
    settings = [(f"frame 0 autoguided by `{weak_path}`, w = {AUTOGUIDE_SCALE:g} (the shipped setting)", weak,
                 AUTOGUIDE_SCALE),
                (f"frame 0 from the model of one frame, guided with w = {best:g}", frame0, 0.0)]
    print(f"## 2. Videos of `{video_path}`\n")
    print(f"Where empty frames come from (`empty_frames.py`'s measure: {draws} first frames, {videos} videos of 16 "
          f"frames, `s = 5`, `S = {S}`, seed {SEED}):\n")
    print("| frame 0 | first frame: 0 / 1 / 2 / 3 / 4+ balls | videos: empty frames | first frame empty "
          "| empty frames in videos whose first frame has a ball |\n|---|---|---|---|---|")
    for name, guide, w in settings:
        hist, n, lost_share, _ = measure(video, draws, videos, num_steps=S, autoguide=guide, autoguide_scale=w, eta=eta)
        print(f"| {name} | {' / '.join(f'{h:.3f}' for h in hist)} | {(n == 0).mean():.3f} "
              f"| {int((n[:, 0] == 0).sum())} of {len(n)} | {lost_share:.3f} |", flush=True)
    for frames, m in zip((16, 64), table_videos):
        print(f"\nThe quality protocol, {m} videos of {frames} frames (`S = {S}`, `s = 5`, seed 0):\n")
        for name, guide, w in settings:
            result = run_task("generate", {Path(video_path).stem: video}, [5], m, frames, S, 0, autoguide=guide,
                              autoguide_scale=w, sanity=False, eta=eta)
            print(f"{name}:\n\n{markdown_table(result)}\n", flush=True)
    if seeds:
        more_noise(video, settings, draws, videos, S, seeds, eta)


def video_counts(n: np.ndarray) -> tuple[int, int, int]:
    """Of a ``(videos, frames)`` ball-count array: videos starting empty, videos that start with a ball and show an
    empty frame later, empty frames."""
    return int((n[:, 0] == 0).sum()), int(lost(n).sum()), int((n == 0).sum())


def paired(shipped: np.ndarray, model: np.ndarray) -> dict:
    """Two ``(videos, frames)`` ball-count arrays of the same noise (the shipped setting's frame 0, the model of
    frame 0's): :func:`video_counts` of each, and the videos that start empty in both."""
    return {"videos": len(shipped), "frames": shipped.size, "shipped": video_counts(shipped),
            "model": video_counts(model), "both_start_empty": int(((shipped[:, 0] == 0) & (model[:, 0] == 0)).sum())}


def more_noise(video, settings, draws: int, videos: int, S: int, seeds, eta: float) -> None:
    """Part 3: first frames alone and videos of 16 frames of every seed in ``seeds``, both settings on the same
    noise, printed per seed and pooled."""
    print(f"## 3. More noise: seeds {', '.join(map(str, seeds))}, `S = {S}`\n")
    print(f"First frames alone, {draws} draws per seed (`num_frames=1`):\n")
    print("| seed | empty first frames, shipped setting | empty first frames, model of frame 0 |\n|---|---|---|")
    empty = np.zeros((len(seeds), len(settings)), dtype=int)
    for i, seed in enumerate(seeds):
        for j, (_, guide, w) in enumerate(settings):
            n = blob_counts(generate(video, draws, 1, s=0, num_steps=S, seed=seed, eta=eta, autoguide=guide,
                                     autoguide_scale=w))[:, 0]
            empty[i, j] = int((n == 0).sum())
        print(f"| {seed} | " + " | ".join(f"{k} of {draws} ({pct(k / draws)})" for k in empty[i]) + " |", flush=True)
    total = draws * len(seeds)
    cells = [f"{k} of {total}: {pct(k / total)} [{', '.join(pct(v) for v in wilson(int(k), total))}]"
             for k in empty.sum(0)]
    print("| all (95 % interval) | " + " | ".join(cells) + " |")
    print(f"\nThe same noise, {videos} videos of 16 frames per seed (`s = 5`); each cell: shipped setting / model of "
          "frame 0:\n")
    print("| seed | videos starting empty | of them, empty in both | videos that start with a ball and lose it "
          "| empty frames |\n|---|---|---|---|---|")
    rows = []
    for seed in seeds:
        rows.append([blob_counts(generate(video, videos, 16, s=5, num_steps=S, seed=seed, eta=eta, autoguide=guide,
                                          autoguide_scale=w)) for _, guide, w in settings])
        print(paired_row(str(seed), paired(*rows[-1])), flush=True)
    if len(seeds) > 1:
        print(paired_row("all", paired(*(np.concatenate(r) for r in zip(*rows)))))


def paired_row(name: str, r: dict) -> str:
    (a0, a1, a2), (b0, b1, b2), n = r["shipped"], r["model"], r["frames"]
    return (f"| {name} | {a0} / {b0} of {r['videos']} | {r['both_start_empty']} | {a1} / {b1} "
            f"| {pct(a2 / n)} / {pct(b2 / n)} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--one-frame", default=ONE_FRAME, help="an exported model of one frame "
                        "(`one_frame_model.py --save FOLDER` writes FOLDER/one_frame.pt)")
    parser.add_argument("--weights", type=float, nargs="+", default=WEIGHTS, help="the autoguidance weights to sweep")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM's η in every draw (`sample --eta`; 0: none)")
    parser.add_argument("--videos", type=int, default=128, help="videos of 16 frames for where empty frames come from")
    parser.add_argument("--video", default=VIDEO, help="the video DiT that continues after frame 0")
    parser.add_argument("--weak", default=WEAK, help="the weaker model that guides frame 0 in both settings")
    parser.add_argument("--num-steps", type=int, default=50, help="S, the DDIM steps of every draw (default 50)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="noise seeds of part 3 (default: none)")
    a = parser.parse_args()
    main(videos=a.videos, weights=tuple(a.weights), one_frame=a.one_frame, eta=a.eta, video_path=a.video,
         weak_path=a.weak, num_steps=a.num_steps, seeds=tuple(a.seeds))
