"""Checkers for the exercises of notebook 10 (full benchmarks at scale).

1. :func:`check_rank_rows`: the rows of the global batch one process trains on;
2. :func:`check_sampler_position`: where a resumed run starts in the shuffled epochs, for any number of processes;
3. :func:`check_grad_accum_that_fits`: the smallest gradient accumulation whose micro-batch fits in memory.
"""

from __future__ import annotations

from ardiff_edu.distributed import rank_rows
from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.loaders import sampler_position
from ardiff_edu.plan import grad_accum_that_fits

__all__ = ["check_rank_rows", "check_sampler_position", "check_grad_accum_that_fits"]


def _raises_value_error(fn, *args) -> bool:
    try:
        fn(*args)
    except ValueError:
        return True
    except Exception:  # noqa: BLE001 - any other error is a wrong answer, reported by the caller
        return False
    return False


def check_rank_rows(fn) -> Result:
    """``fn(global_batch, rank, world_size)`` -> the row indices (a list of ints) that process ``rank`` trains on."""
    for B, W in [(4, 1), (4, 2), (6, 3), (8, 4), (12, 2), (12, 6)]:
        for r in range(W):
            want = list(range(B))[rank_rows(B, r, W)]
            got, err = call(fn, B, r, W, case=f"fn({B}, {r}, {W})", convert=lambda v: [int(i) for i in v])
            if err is not None:
                return err
            if got != want:
                return failed(f"fn({B}, {r}, {W}) (global batch {B}, rank {r} of {W}): expected rows {want}, "
                              f"got {got}")
    if not _raises_value_error(fn, 6, 0, 4):
        return failed("fn(6, 0, 4) must raise ValueError: 6 clips cannot be split evenly over 4 processes")
    return passed("every process takes rows rank, rank + W, ...: the clips DistributedSampler deals it")


def check_sampler_position(fn) -> Result:
    """``fn(step, num_items, global_batch, world_size)`` -> ``(epoch, start)``, ``start`` counted in one process's
    share of the epoch."""
    cases = [(0, 23, 4, 1), (4, 23, 4, 1), (5, 23, 4, 1), (7, 23, 4, 2), (7, 23, 4, 4), (12, 100, 10, 5),
             (29, 100, 10, 2), (30, 100, 10, 2)]
    for case in cases:
        want = sampler_position(*case)
        got, err = call(fn, *case, case=f"fn{case}", convert=lambda v: tuple(map(int, v)))
        if err is not None:
            return err
        if got != want:
            step, n, B, W = case
            return failed(f"fn{case} (step {step}, {n} items, global batch {B}, {W} processes): expected "
                          f"(epoch, start) = {want}, got {got}")
    return passed("a resumed run, with any number of processes, starts at the same place in the same epoch")


def check_grad_accum_that_fits(fn) -> Result:
    """``fn(global_batch, gpus, activation_bytes_per_item, free_bytes)`` -> the smallest accumulation that fits."""
    gib = 2 ** 30
    cases = [(768, 8, 0.6 * gib, 60 * gib), (768, 8, 0.6 * gib, 20 * gib), (80, 8, 1.0 * gib, 3 * gib),
             (96, 1, 0.35 * gib, 10 * gib), (48, 2, 0.5 * gib, 4.1 * gib), (7, 7, 1.0, 1.0)]
    for case in cases:
        want = grad_accum_that_fits(*case)
        got, err = call(fn, *case, case=f"fn{case}", convert=int)
        if err is not None:
            return err
        if got != want:
            B, n, act, free = case
            return failed(f"fn({B}, {n}, {act / gib:.2f} GiB, {free / gib:.2f} GiB): expected {want} micro-batches "
                          f"of {B // n // want}, got {got}")
    if not _raises_value_error(fn, 8, 1, 2.0 * gib, 1.0 * gib):
        return failed("when even one item does not fit (2 GiB each, 1 GiB free) fn must raise ValueError")
    return passed("the smallest accumulation that divides the per-GPU batch and fits in memory")
