"""Streaming data for runs on a benchmark cache (notebook 10): frames, pre-encoded latent shards, a resumable sampler.

A run on a real benchmark cannot hold its data in memory. Its two stages read from disk instead:

* the **tokenizer stage** reads single frames of the uint8 clip cache that ``python -m ardiff_edu prepare`` wrote
  (:class:`CacheFrames`, memory-mapped; item ``k`` is frame ``k mod F`` of clip ``k // F``);
* the **DiT stage** first encodes every clip once with the frozen tokenizer into **latent shards**
  (:func:`encode_shards`: float16 ``.npy`` files ``(n, F, L, C)`` plus ``index.json`` with the per-channel mean and
  std), every process encoding its share, and then reads them (:class:`LatentShards`, standardised on the fly).

Both go through PyTorch's ``DistributedSampler`` in a ``DataLoader`` with worker processes (pinned memory on CUDA).
One shuffled permutation per epoch (seeded by the run's seed and the epoch) is dealt out to the processes
interleaved, process ``r`` getting positions ``r, r + W, ...``; both the sampler and the loader drop the ragged end.
Step ``k`` of an epoch then covers positions ``kB .. kB + B − 1`` of the permutation for any number of processes
``W`` that divides the global batch ``B``, with ``N // B`` steps per epoch, so that :func:`batches` can start at any
step (a resume, with the same or another ``W``) and a run matches one process drawing the whole batch.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ardiff_edu import distributed as dist
from ardiff_edu.data import CachedClips
from ardiff_edu.utils import atomic_write_bytes, check_int
from ardiff_edu.video import to_float

__all__ = ["open_cache", "CacheFrames", "LatentShards", "encode_shards", "StepSampler", "steps_per_epoch",
           "sampler_position", "batches", "LATENTS_FORMAT"]

LATENTS_FORMAT = "ardiff-edu-latents-v1"


def open_cache(path, dataset: str, image_size: int, num_frames: int) -> CachedClips:
    """The clip cache at ``path``, checked against what the run needs: ``ValueError`` naming the mismatch."""
    try:
        cache = CachedClips(path)
    except FileNotFoundError as err:
        raise ValueError(str(err)) from None
    info, fix = cache.info, (f"make one with: python -m ardiff_edu prepare --dataset {dataset} --root ... "
                             f"--size {image_size} --num-frames {num_frames} --out ...")
    if info["dataset"] != dataset:
        raise ValueError(f"the clip cache {str(path)!r} holds dataset {info['dataset']!r}; this run trains on "
                         f"{dataset!r}: {fix}")
    if info["size"] != image_size:
        raise ValueError(f"the clip cache {str(path)!r} holds {info['size']}x{info['size']} frames (prepare --size "
                         f"{info['size']}); this run needs image_size={image_size}: {fix}")
    if info["num_frames"] != num_frames:
        raise ValueError(f"the clip cache {str(path)!r} holds clips of {info['num_frames']} frames; this run needs "
                         f"num_frames={num_frames}: {fix}")
    return cache


class CacheFrames(Dataset):
    """Every frame of a clip cache: item ``k`` is float ``(3, H, W)`` in [-1, 1], frame ``k mod F`` of clip
    ``k // F``. The cache is opened lazily in each process (workers included), never pickled."""

    def __init__(self, path):
        self.path = Path(path)
        info = json.loads((self.path / "index.json").read_text())
        self.num_frames, self.length = info["num_frames"], info["num_clips"] * info["num_frames"]
        self._cache = None

    def __len__(self) -> int:
        return self.length

    def __getstate__(self):
        return {**self.__dict__, "_cache": None}

    def __getitem__(self, k: int) -> torch.Tensor:
        if self._cache is None:
            self._cache = CachedClips(self.path)
        clip = self._cache.uint8(int(k) // self.num_frames)
        return to_float(np.array(clip[int(k) % self.num_frames]))


class LatentShards(Dataset):
    """Latent shards written by :func:`encode_shards`: item ``i`` is ``(z (F, L, C) float32, label)``, ``z``
    standardised per channel with the stored mean and std; ``label`` is -1 for unlabelled data."""

    def __init__(self, path):
        self.path = Path(path)
        self.info = json.loads((self.path / "index.json").read_text())
        if self.info.get("format") != LATENTS_FORMAT:
            raise ValueError(f"{str(self.path / 'index.json')!r} is not an {LATENTS_FORMAT} index")
        self.mean = torch.tensor(self.info["mean"], dtype=torch.float32)
        self.std = torch.tensor(self.info["std"], dtype=torch.float32)
        self.labels = None if self.info["labels"] is None else torch.tensor(self.info["labels"], dtype=torch.long)
        self.offsets = np.cumsum([0] + [s["num_clips"] for s in self.info["shards"]])
        self.num_tokens = self.info["shape"][1]
        self._shards = None

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getstate__(self):
        return {**self.__dict__, "_shards": None}

    def __getitem__(self, i: int):
        if self._shards is None:
            self._shards = [np.load(self.path / s["file"], mmap_mode="r") for s in self.info["shards"]]
        i = int(i)
        s = int(np.searchsorted(self.offsets, i, side="right") - 1)
        z = (torch.from_numpy(np.array(self._shards[s][i - self.offsets[s]])).float() - self.mean) / self.std
        return z, self.labels[i] if self.labels is not None else torch.tensor(-1)


@torch.no_grad()
def encode_shards(make_tokenizer, cache: CachedClips, out, key: dict, device, shard_size: int = 256,
                  batch_size: int = 32, bf16: bool = False) -> LatentShards:
    """Encode every clip of ``cache`` with the tokenizer ``make_tokenizer()`` into latent shards in ``out`` (skipped,
    tokenizer unbuilt, when ``out`` holds shards with the same ``key``). Shard ``j`` holds clips
    ``j·n ..`` (``n = min(shard_size, ⌈N / W⌉)``) and is written by process ``j mod W``; the per-channel mean and std
    come from sums over every process. Built in ``out``'s sibling ``.<name>.tmp`` and renamed into place, so an
    interrupted run leaves nothing half-written."""
    out = Path(out)
    if (out / "index.json").exists() and json.loads((out / "index.json").read_text()).get("key") == key:
        return LatentShards(out)
    tokenizer = make_tokenizer()
    rank, world_size = dist.world()
    tmp = out.parent / f".{out.name}.tmp"
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    n, shards = len(cache), []
    shard_size = max(1, min(shard_size, -(-n // world_size)))                 # every process gets a share
    sums = torch.zeros(3, tokenizer.token_dim, dtype=torch.float64)              # count, sum, sum of squares
    for j, start in enumerate(range(0, n, shard_size)):
        stop = min(start + shard_size, n)
        shards.append({"file": f"latents_{j:05d}.npy", "num_clips": stop - start})
        if j % world_size != rank:
            continue
        parts = []
        for a in range(start, stop, batch_size):
            clips = to_float(np.stack([cache.uint8(i) for i in range(a, min(a + batch_size, stop))]))
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
                parts.append(tokenizer.encode_video(clips.to(device)).float().half().cpu())
        z = torch.cat(parts)                                                      # (n_j, F, L, C) float16
        with open(tmp / shards[-1]["file"], "wb") as f:
            np.save(f, z.numpy())
        zd = z.double().flatten(0, 2)
        sums += torch.stack([torch.full((zd.shape[1],), float(len(zd)), dtype=torch.float64), zd.sum(0),
                             (zd ** 2).sum(0)])
    count, s1, s2 = dist.all_reduce_sum(sums)
    mean = s1 / count
    std = ((s2 - count * mean ** 2) / (count - 1)).clamp_min(1e-12).sqrt()
    if rank == 0:
        index = {"format": LATENTS_FORMAT, "key": key, "num_clips": n,
                 "shape": [cache.info["num_frames"], tokenizer.num_tokens, tokenizer.token_dim],
                 "shards": shards, "mean": mean.tolist(), "std": std.tolist(),
                 "labels": None if cache.labels is None else cache.labels.tolist(), "class_names": cache.class_names}
        atomic_write_bytes(tmp / "index.json", json.dumps(index).encode())
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    dist.barrier()
    return LatentShards(out)


class StepSampler(DistributedSampler):
    """PyTorch's ``DistributedSampler`` (shuffled, ``drop_last``) that can start ``start`` items into its share of
    the epoch: the position of a resumed run (:func:`sampler_position`)."""

    def __init__(self, dataset, num_replicas: int, rank: int, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.start = 0

    def __iter__(self):
        return itertools.islice(super().__iter__(), self.start, None)

    def __len__(self) -> int:
        return self.num_samples - self.start


def steps_per_epoch(num_items: int, global_batch: int) -> int:
    """Optimizer steps per pass over ``num_items`` items: ``num_items // global_batch`` for every world size."""
    n = check_int("number of items", num_items, 1) // check_int("global batch", global_batch, 1)
    if n == 0:
        raise ValueError(f"the data holds {num_items} items, fewer than one global batch of {global_batch}: "
                         f"lower --batch-size to at most {num_items}")
    return n


def sampler_position(step: int, num_items: int, global_batch: int, world_size: int) -> tuple[int, int]:
    """``(epoch, start)``: where step ``step`` (0-based) begins, ``start`` counted in one process's share."""
    spe = steps_per_epoch(num_items, global_batch)
    return step // spe, (step % spe) * (global_batch // world_size)


def batches(dataset, global_batch: int, rank: int, world_size: int, seed: int, step: int = 0, workers: int = 0,
            pin_memory: bool = False):
    """This process's share of every global batch from step ``step`` on, forever (epoch after epoch)."""
    local = global_batch // world_size
    sampler = StepSampler(dataset, world_size, rank, seed)
    loader = DataLoader(dataset, batch_size=local, sampler=sampler, num_workers=workers, pin_memory=pin_memory,
                        drop_last=True, persistent_workers=workers > 0)
    epoch, sampler.start = sampler_position(step, len(dataset), global_batch, world_size)
    while True:
        sampler.set_epoch(epoch)
        yield from loader
        epoch, sampler.start = epoch + 1, 0
