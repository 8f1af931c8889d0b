"""Speed benchmarks, printed (never asserted): ``python -m ardiff_edu bench [--only NAME ...] [--list]``.

Each benchmark is a function ``bench_xxx() -> None`` that prints its own lines, registered in :data:`BENCHMARKS`.
A benchmark measures a ratio against a baseline run in the same process, so its number means something on any
machine. To add one, define the function in your module or here and add ``BENCHMARKS["name"] = bench_xxx``.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable


def best_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """The best wall-clock time of ``number`` calls of ``fn``, over ``repeat`` tries, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def bench_fopp(batch_size: int = 4096, num_frames: int = 16, num_timesteps: int = 1000,
               reference_samples: int = 512) -> None:
    """Vectorised FoPP (``sample_timesteps("fopp", ...)``) vs the per-sample loop (``fopp_reference``)."""
    import numpy as np
    import torch

    from ardiff_edu.timesteps import fopp_reference, sample_timesteps

    B, F, T = batch_size, num_frames, num_timesteps
    g = torch.Generator().manual_seed(0)
    sample_timesteps("fopp", B, F, T, g)                 # builds and caches the DP tables once
    vec = best_time(lambda: sample_timesteps("fopp", B, F, T, g), repeat=7)
    n = min(reference_samples, B)                        # the loop is slow: time n samples, scale per sample
    rng = np.random.default_rng(0)
    loop = best_time(lambda: fopp_reference(n, F, T, rng), repeat=2) * (B / n)
    print(f"fopp: B={B} F={F} T={T}")
    print(f"  vectorised (searchsorted)  {vec * 1e3:9.2f} ms/batch")
    print(f"  per-sample loop            {loop * 1e3:9.2f} ms/batch  (timed on {n} samples, scaled to {B})")
    print(f"  speed-up                   {loop / vec:9.0f}x  (target >= 100x)")


def bench_sample(num_videos: int = 2, num_frames: int = 16, num_steps: int = 10, s_values=(0, 1, 5, None),
                 checkpoint=None) -> None:
    """AD sampling cost vs ``s``: seconds per generated frame next to the network calls (NFE = S + (F-1)*s), relative
    to synchronous sampling (``s = 0``) measured in the same run. ``None`` in ``s_values`` means ``s = S``. Uses the
    shipped checkpoint's DiT when it exists (else a random DiT of the ``balls`` preset's size); decoding excluded."""
    from pathlib import Path

    import torch

    from ardiff_edu.sample import DEFAULT_CHECKPOINT, ddim_sample
    from ardiff_edu.schedules import ad_schedule

    path = Path(checkpoint or DEFAULT_CHECKPOINT)
    if path.exists():
        from ardiff_edu.train import load_checkpoint

        pipe = load_checkpoint(path)
        model, ns, what = pipe.model, pipe.noise_schedule, f"checkpoint {path.name}"
    else:
        from ardiff_edu.diffusion import NoiseSchedule
        from ardiff_edu.models import DiT

        model, ns, what = DiT(8, 16, max_frames=num_frames).eval(), NoiseSchedule(), "random DiT, balls preset size"
    F, S = num_frames, num_steps
    noise = torch.randn((num_videos, F, model.num_tokens, model.token_dim), generator=torch.Generator().manual_seed(0))
    print(f"sample: AD DDIM, {num_videos} videos x {F} frames, S={S}, window={F}, {what}, "
          f"{torch.get_num_threads()} torch threads")
    base = None
    for s in [S if v is None else v for v in s_values]:
        sched = ad_schedule(F, S, s, F)
        seconds = best_time(lambda: ddim_sample(model, sched, noise, ns), repeat=2 if s == 0 else 1)
        per_frame = seconds / (num_videos * F)
        base = base or per_frame
        print(f"  s={s:<3d} NFE={sched.nfe:4d} ({sched.nfe / S:5.1f}x)  {per_frame * 1e3:8.2f} ms/frame  "
              f"{per_frame / base:6.2f}x s=0")


#: name -> benchmark function; ``--only NAME`` runs one of them.
BENCHMARKS: dict[str, Callable[[], None]] = {
    "fopp": bench_fopp,
    "sample": bench_sample,
    "train": lambda: __import__("ardiff_edu.train", fromlist=["bench_train"]).bench_train(),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ardiff_edu bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only this benchmark (repeatable); one of {sorted(BENCHMARKS)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(sorted(BENCHMARKS)))
        return 0
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; expected one of {sorted(BENCHMARKS)}")
    for name in names:
        BENCHMARKS[name]()
    return 0
