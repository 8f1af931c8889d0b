"""Speed benchmarks, printed and never asserted: ``python -m ardiff_edu bench [--only NAME ...] [--repeat N]``.

Every figure is a ratio against a baseline timed in the same process, so it means something on any machine. On
shared cores a single timing is noise, so :func:`interleaved` runs the contenders in turn, ``repeat`` rounds, and
every line reports the median with its spread (min–max over the rounds).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from typing import Callable

import torch

from ardiff_edu.utils import interleaved

__all__ = ["interleaved", "spread", "bench_fopp", "bench_sample", "bench_train", "profile_shares", "BENCHMARKS",
           "main"]


def spread(values: list[float], scale: float = 1.0, fmt: str = ".2f") -> str:
    """``median [min–max]`` of ``values × scale``."""
    v = sorted(x * scale for x in values)
    return f"{statistics.median(v):{fmt}} [{v[0]:{fmt}}–{v[-1]:{fmt}}]"


def bench_fopp(repeat: int = 5, batch_size: int = 4096, num_frames: int = 16, num_timesteps: int = 1000,
               reference_samples: int = 256) -> None:
    """Vectorised FoPP (``sample_timesteps("fopp", ...)``) against the official per-sample loop (``fopp_reference``)."""
    import numpy as np

    from ardiff_edu.fopp import fopp_reference, sample_timesteps

    B, F, T = batch_size, num_frames, num_timesteps
    g, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    n = min(reference_samples, B)                       # the loop is slow: time n samples, scale to B
    times = interleaved({"vec": lambda: sample_timesteps("fopp", B, F, T, g),
                         "loop": lambda: fopp_reference(n, F, T, rng)}, repeat=max(2, repeat // 2))
    loop = [t * B / n for t in times["loop"]]
    ratios = [lo / v for lo, v in zip(loop, times["vec"])]
    print(f"fopp: B={B} F={F} T={T}; median [min-max] over {len(ratios)} interleaved rounds")
    print(f"  vectorised (searchsorted)  {spread(times['vec'], 1e3)} ms/batch")
    print(f"  per-sample loop            {spread(loop, 1e3, '.0f')} ms/batch  (timed on {n} samples, scaled)")
    print(f"  speed-up                   {spread(ratios, fmt='.0f')}x")


def _sampling_model(checkpoint=None):
    from pathlib import Path

    from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, load_pipeline

    path = Path(checkpoint or DEFAULT_CHECKPOINT)
    if path.exists():
        pipe = load_pipeline(path)
        return pipe.model, pipe.noise_schedule, f"checkpoint {path.name}"
    from ardiff_edu.models import DiT
    from ardiff_edu.noise import NoiseSchedule

    torch.manual_seed(0)
    return DiT(8, 16, max_frames=16).eval(), NoiseSchedule(), "random DiT of the balls preset's size"


def bench_sample(repeat: int = 3, num_videos: int = 2, num_steps: int = 10, checkpoint=None) -> None:
    """Asynchronous sampling: seconds per video against ``s`` (NFE = S + (F-1)·s), and the KV cache's speed-up over
    the uncached sampler, for 16 frames at s = 0, 1, 5, S and for a 64-frame sliding-window video."""
    from ardiff_edu.ad import ad_schedule
    from ardiff_edu.ddim import sample

    model, ns, what = _sampling_model(checkpoint)
    S, W = num_steps, model.max_frames
    L, C = model.num_tokens, model.token_dim
    print(f"sample: DDIM, {num_videos} videos, S={S}, window={W}, {what}, {torch.get_num_threads()} threads; "
          f"median [min-max] over {repeat} interleaved rounds")
    base = None
    for F, s in [(16, s) for s in sorted({0, min(1, S), min(5, S), S})] + [(64, max(2, -(-S // W)))]:
        sched = ad_schedule(F, S, s, W)
        noise = torch.randn((num_videos, F, L, C), generator=torch.Generator().manual_seed(0))

        times = interleaved({"off": lambda: sample(model, sched, noise, ns, kv_cache=False),
                             "on": lambda: sample(model, sched, noise, ns, kv_cache=True)}, repeat=repeat)
        per_video = [t / num_videos for t in times["off"]]
        base = base or statistics.median(per_video)
        ratios = [a / b for a, b in zip(times["off"], times["on"])]
        print(f"  F={F:<3d} s={s:<3d} NFE={sched.nfe:4d}  uncached {spread(per_video, fmt='.2f')} s/video "
              f"({statistics.median(per_video) / base:5.1f}x s=0)   KV cache: {spread(ratios)}x faster")


def _train_step(cfg, compile: bool = False):
    """One optimizer step of ``cfg``'s DiT on random latents (``step(bf16)``) and its FLOPs, counted in fp32;
    ``compile=True`` runs the forward pass through ``torch.compile`` (as ``train --compile`` does)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ardiff_edu.checkpoint import make_generators
    from ardiff_edu.fopp import sample_timesteps
    from ardiff_edu.noise import NoiseSchedule
    from ardiff_edu.train import build_dit, build_tokenizer, dit_loss

    L = build_tokenizer(cfg).num_tokens
    torch.manual_seed(0)
    model = build_dit(cfg, L)
    net = torch.compile(model) if compile else model
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    ns, gens = NoiseSchedule(cfg.num_timesteps), make_generators(0)
    B, F = cfg.batch_size, cfg.num_frames
    z = torch.randn(B, F, L, cfg.token_dim)

    def step(bf16: bool):
        t = sample_timesteps(cfg.timesteps, B, F, cfg.num_timesteps, generator=gens["time"])
        noise = torch.randn(z.shape, generator=gens["noise"])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = dit_loss(net, z, t, noise, ns, prediction=cfg.prediction).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    if compile:
        return step, None, L
    with FlopCounterMode(display=False) as fc:
        step(False)
    return step, fc.get_total_flops(), L


#: bench_train times bf16 autocast only where a bf16 matmul runs at least this share of an fp32 one's speed
BF16_MIN_SHARE = 0.1


def bench_train(repeat: int = 5, preset: str = "balls", before: str = "balls-v1") -> None:
    """Training throughput of a preset's DiT on random latents against the recipe it replaced (``before``, in its own
    precision) and of the same DiT 1.5x and 2x wider, each shape in fp32 and in bf16 autocast, with achieved FLOP/s as
    a fraction of a plain fp32 matmul, all timed in turn. Which dtype is faster depends on the CPU (bf16 matrix units
    or none), so every shape is timed in both and the faster one is marked: the choice is a measurement, not a rule
    (on a CPU whose bf16 matmul is under ``BF16_MIN_SHARE`` of the fp32 one's speed, bf16 is left out). Last, the
    preset's shape in its faster dtype through ``torch.compile`` (``train --compile``) against the same eager step, in
    rounds of their own."""
    from ardiff_edu.train import PRESETS

    cfg, old = PRESETS[preset], PRESETS[before]
    old_step, old_flops, _ = _train_step(old)
    old_bf16 = old.precision == "bf16"
    # the same DiT made 1.5x and 2x wider, at the same width per head: how the FLOP/s share depends on the shape
    head_dim = cfg.width // cfg.heads
    widths = [cfg.width] + [w for w in (cfg.width * 3 // 2, cfg.width * 2) if w % head_dim == 0 and w % 4 == 0]
    shapes = {w: _train_step(cfg if w == cfg.width else replace(cfg, width=w, heads=w // head_dim)) for w in widths}
    L = shapes[cfg.width][2]
    a, a16 = torch.randn(1024, 1024), torch.randn(1024, 1024).bfloat16()
    per_matmul = 2 * 1024 ** 3                                                    # one 1024² matmul
    # one matmul in each dtype first: a CPU without bf16 units runs a bf16 matmul 100x slower than an fp32 one
    # (seconds per DiT step), and a dtype whose matmul is under BF16_MIN_SHARE as fast cannot win, so it is not timed
    first = interleaved({"fp32": lambda: a @ a, "bf16": lambda: a16 @ a16}, repeat=repeat, warmup=1)
    bf16_shares = [f / b for f, b in zip(first["fp32"], first["bf16"])]
    dtypes = ("fp32", "bf16") if statistics.median(bf16_shares) >= BF16_MIN_SHARE else ("fp32",)
    contenders = {"matmul": lambda: [a @ a for _ in range(8)],
                  "before": lambda: old_step(old_bf16 and "bf16" in dtypes)}
    for w, (step, _, _) in shapes.items():
        for dtype in dtypes:
            contenders[f"{w} {dtype}"] = lambda step=step, bf16=dtype == "bf16": step(bf16)
    times = interleaved(contenders, repeat=repeat, warmup=2)
    mm = [8 * per_matmul / t for t in times["matmul"]]
    B, F = cfg.batch_size, cfg.num_frames
    print(f"train: {cfg.name} DiT, B={B} F={F} L={L} width={cfg.width} depth={cfg.depth} heads={cfg.heads}, "
          f"{shapes[cfg.width][1] / 1e9:.1f} GFLOP/step, {torch.get_num_threads()} threads; median [min-max] over "
          f"{repeat} rounds; * = the faster dtype of that shape")
    print(f"  1024² fp32 matmul   {spread(mm, 1e-9, '.0f')} GFLOP/s (the reference)")
    print(f"  1024² bf16 matmul   {spread([per_matmul / t for t in first['bf16']], 1e-9, '.0f')} GFLOP/s = "
          f"{spread(bf16_shares)}x the fp32 one (timed apart)")
    if len(dtypes) == 1:
        print(f"  bf16 autocast not timed: its matmul is under {BF16_MIN_SHARE}x as fast as the fp32 one")
    faster = {w: min(dtypes, key=lambda d: statistics.median(times[f"{w} {d}"])) for w in shapes}
    names = {"fp32": "fp32", "bf16": "bf16 autocast"}
    rows = []
    for w, (_, fl, _) in shapes.items():
        shape = f"{cfg.name} (width {w})" if w == cfg.width else f"width {w}"
        rows += [(f"{w} {d}", f"{shape}, {names[d]}" + (" *" if faster[w] == d else ""), fl, B) for d in dtypes]
    old_dtype = old.precision if "bf16" in dtypes else "fp32"
    rows.append(("before", f"before: {old.name}, {old.heads} heads, {old_dtype}", old_flops, old.batch_size))
    best = faster[cfg.width]
    again_labels = {"eager": f"{cfg.name}, {names[best]}, eager (again)",
                    "compiled": f"{cfg.name}, {names[best]}, torch.compile"}
    pad = max(len(label) for label in [r[1] for r in rows] + list(again_labels.values()))
    for key, label, fl, b in rows:
        print(_throughput(label.ljust(pad), times[key], fl, b, mm))
    # torch.compile (inductor) of the default shape in its faster dtype, against the same eager step and the matmul
    # again; the first two (untimed) calls compile, which takes about a minute on a CPU (a second call can recompile)
    compiled = _train_step(cfg, compile=True)[0]
    eager = shapes[cfg.width][0]
    again = interleaved({"matmul": contenders["matmul"], "eager": lambda: eager(best == "bf16"),
                         "compiled": lambda: compiled(best == "bf16")}, repeat=repeat, warmup=2)
    mm = [8 * per_matmul / t for t in again["matmul"]]
    for key, label in again_labels.items():
        print(_throughput(label.ljust(pad), again[key], shapes[cfg.width][1], B, mm))
    print(f"  torch.compile speed-up: {spread([e / c for e, c in zip(again['eager'], again['compiled'])])}x "
          f"(train --compile)")
    shares = profile_shares(lambda: shapes[cfg.width][0](best == "bf16"), steps=repeat)
    print(f"  where one {names[best]} step of {cfg.name} spends its time (self CPU time over {repeat} steps, "
          f"torch.profiler): " + ", ".join(f"{name} {share:.0%}" for name, share in shares))


def _throughput(label: str, sec: list[float], flops: float, batch: int, matmul_flops: list[float]) -> str:
    """One row: steps/s and clips/s of ``sec`` (seconds per step), and FLOP/s as a share of the matmul's, round by
    round."""
    share = spread([flops / t / m for t, m in zip(sec, matmul_flops)])
    return (f"  {label} {spread([1 / t for t in sec])} steps/s  {spread([batch / t for t in sec], fmt='.0f')} clips/s  "
            f"= {share}x the matmul's FLOP/s")


def profile_shares(fn: Callable[[], None], steps: int = 3, top: int = 6) -> list[tuple[str, float]]:
    """The ``top`` operators by share of self CPU time over ``steps`` calls of ``fn``, then the rest as "other"."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            fn()
    rows = sorted(((e.key.removeprefix("aten::"), e.self_cpu_time_total) for e in prof.key_averages()),
                  key=lambda r: -r[1])
    total = sum(t for _, t in rows) or 1.0
    head = [(name, t / total) for name, t in rows[:top]]
    return head + [("other", 1.0 - sum(share for _, share in head))]


#: name -> benchmark function; ``--only NAME`` runs one of them.
BENCHMARKS: dict[str, Callable[..., None]] = {"fopp": bench_fopp, "sample": bench_sample, "train": bench_train}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ardiff_edu bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only this benchmark (repeatable); one of {sorted(BENCHMARKS)}")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds per benchmark (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(sorted(BENCHMARKS)))
        return 0
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; expected one of {sorted(BENCHMARKS)}")
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    for name in names:
        BENCHMARKS[name](repeat=args.repeat)
    return 0
