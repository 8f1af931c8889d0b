"""Small helpers shared by every module: seeding, argument checks, atomic writes, repository paths."""

from __future__ import annotations

import contextlib
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

#: The repository root (the folder holding ``ardiff_edu/``, ``data/`` and ``notebooks/``).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where shipped checkpoints, sample videos and caches live.
DATA_DIR = REPO_ROOT / "data"


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global random generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int if ``low <= value <= high`` (``high=None``: no upper bound).

    Raises ``ValueError`` naming the argument, the bad value and the accepted range otherwise.
    """
    accepted = f"in [{low}, {high}]" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer {accepted}, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be {accepted}, got {value}")
    return value


def check_float(name: str, value, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number within the bounds (``None``: unbounded on that side;
    ``low_open`` / ``high_open`` exclude the bound itself).

    Raises ``ValueError`` naming the argument, the bad value and the accepted range otherwise.
    """
    if low is not None and high is not None:
        bounds = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        bounds = f"{'>' if low_open else '>='} {low}"
    elif high is not None:
        bounds = f"{'<' if high_open else '<='} {high}"
    else:
        bounds = "(finite)"
    numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not numeric or not math.isfinite(value):
        raise ValueError(f"{name} must be a number {bounds}, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return float(value)


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise raise ``ValueError`` listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


@contextlib.contextmanager
def atomic_open(path, mode: str = "wb"):
    """Open a temporary file next to ``path``; on success rename it onto ``path`` (atomic on POSIX).

    A crash at any point leaves either the old file or the new one, never a half-written file. The temporary file
    keeps ``path``'s suffix (some writers pick the format from it) and the result gets the usual permissions
    (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp.", suffix=path.suffix)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path) as f:
        f.write(data)
    return Path(path)


def atomic_torch_save(obj, path) -> Path:
    """``torch.save`` that never leaves a half-written file (see :func:`atomic_open`)."""
    with atomic_open(path) as f:
        torch.save(obj, f)
    return Path(path)


def interleaved(fns: dict[str, Callable[[], object]], repeat: int = 5, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per call of every function, timed in turn (``a b c a b c ...``) so that a slow moment of a shared
    machine hits all of them alike; ``warmup`` untimed rounds first."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def fastest(fns: dict[str, Callable[[], object]], repeat: int = 3) -> str:
    """The name of the function with the smallest median time over ``repeat`` interleaved rounds."""
    times = interleaved(fns, repeat=repeat)
    return min(times, key=lambda name: statistics.median(times[name]))
