"""Run state on disk: atomic checkpoints, exact resume, training logs (appendix notebook A1).

A run directory (``runs/<name>/``, never committed) holds, per training stage (``tokenizer``, ``dit``):

* ``<stage>.pt``: the model, its EMA, the optimizer, the step, the world size and the state of every random
  generator, written atomically (a temporary file renamed over the old one, so a crash leaves the old checkpoint or
  the new one, never half of one);
* ``<stage>.jsonl``: one JSON record per ``log_every`` steps (loss, per-frame loss, learning rate, gradient norm,
  elapsed seconds); records after the checkpoint a resumed run starts from are dropped first;
* ``commands.txt``: every command run on the directory; ``latents.pt``: the DiT stage's encoded clips.

Three explicit ``torch.Generator`` drive the data (clip indices, label dropout), the timesteps and the noise. Every
process draws the same *global* batch from them and keeps its own slice, so their state is the whole run's random
state: resuming restores it and continues exactly where the run stopped, with any number of processes.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ardiff_edu.utils import atomic_open, atomic_torch_save

__all__ = ["RUN_FORMAT", "EXPORT_FORMAT", "GENERATORS", "make_generators", "checkpoint_path", "snapshot_path",
           "log_path", "save_state", "load_state", "read_log", "append_log", "truncate_log", "load_file"]

RUN_FORMAT = "ardiff-edu-run-v1"
EXPORT_FORMAT = "ardiff-edu-checkpoint-v1"
#: One generator per source of randomness, so that no stream depends on how much another one drew.
GENERATORS = ("data", "time", "noise")


def make_generators(seed: int) -> dict[str, torch.Generator]:
    """The run's generators, seeded ``seed * 1000 + i``."""
    return {name: torch.Generator().manual_seed(seed * 1000 + i) for i, name in enumerate(GENERATORS)}


def checkpoint_path(out, stage: str) -> Path:
    return Path(out) / f"{stage}.pt"


def snapshot_path(out, stage: str, step: int) -> Path:
    """Where ``keep_every`` keeps the checkpoint of ``step``: a run checkpoint like ``<stage>.pt``."""
    return Path(out) / f"{stage}-step{step:06d}.pt"


def log_path(out, stage: str) -> Path:
    return Path(out) / f"{stage}.jsonl"


def save_state(path, *, stage: str, config: dict, step: int, model, ema, optimizer, generators: dict,
               world_size: int = 1, **extra) -> Path:
    """Write a run checkpoint atomically (rank 0 only, in a multi-process run)."""
    return atomic_torch_save({"format": RUN_FORMAT, "stage": stage, "config": config, "step": step,
                              "world_size": world_size, "model": model.state_dict(), "ema": ema.state_dict(),
                              "optimizer": optimizer.state_dict(),
                              "generators": {k: g.get_state() for k, g in generators.items()}, **extra}, path)


def load_file(path) -> dict:
    """``torch.load`` a file this package wrote; a clear ``ValueError`` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{str(path)!r} does not exist or is not a file")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # pickle errors, zip errors, truncated files: all mean "not our checkpoint"
        raise ValueError(f"{str(path)!r} is not an ardiff_edu checkpoint (torch.load failed: "
                         f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    if not isinstance(ck, dict) or ck.get("format") not in (RUN_FORMAT, EXPORT_FORMAT):
        raise ValueError(f"{str(path)!r} is not an ardiff_edu checkpoint (no format tag {RUN_FORMAT!r} or "
                         f"{EXPORT_FORMAT!r})")
    return ck


def load_state(path, model, ema, optimizer, generators: dict) -> dict:
    """Restore a run checkpoint into the given objects; returns the checkpoint dict (``step``, ``config``, ...)."""
    ck = load_file(path)
    model.load_state_dict(ck["model"])
    ema.load_state_dict(ck["ema"])
    optimizer.load_state_dict(ck["optimizer"])
    for name, g in generators.items():
        g.set_state(ck["generators"][name])
    return ck


def read_log(path) -> list[dict]:
    """The records of a JSONL training log."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def append_log(path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def truncate_log(path, step: int) -> float:
    """Drop the records after ``step`` (written after the checkpoint a resumed run starts from); return the training
    time logged up to there, so that ``elapsed_s`` keeps counting across resumes."""
    path = Path(path)
    if not path.exists():
        return 0.0
    keep = [r for r in read_log(path) if r["step"] <= step]
    with atomic_open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in keep)
    return keep[-1].get("elapsed_s", 0.0) if keep else 0.0
