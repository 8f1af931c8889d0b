"""The DiT's training data: every clip encoded once by the frozen tokenizer (its EMA weights), every channel
standardised, ``z = (tokens − mean) / std``, so that each has unit variance like the noise it is mixed with.

Clips generated in memory (the toy presets) are encoded into one tensor cached in ``out/latents.pt``; a benchmark
cache (``--data``) is encoded into latent shards in ``out/latents/`` that :mod:`ardiff_edu.loaders` streams. Both are
reused while the tokenizer checkpoint and the data stay the same, and both build the tokenizer on a forked random
state, so the DiT's initial weights do not depend on whether the latents had to be written.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu import distributed as dist
from ardiff_edu import loaders
from ardiff_edu.config import TrainConfig, build_tokenizer
from ardiff_edu.utils import atomic_torch_save

__all__ = ["frozen_tokenizer", "encode_latents", "shard_latents"]


def frozen_tokenizer(tok_ck: dict, device):
    """The tokenizer of a tokenizer-stage checkpoint with its EMA weights, in eval mode on ``device``; built on a
    forked random state, so that building it does not consume the random numbers of the DiT's initialisation."""
    with torch.random.fork_rng(devices=[]):
        tok = build_tokenizer(TrainConfig.from_dict(tok_ck["config"]))
    tok.load_state_dict(tok_ck["ema"])
    return tok.eval().to(device)


def encode_latents(cfg: TrainConfig, out, clips: torch.Tensor, device) -> dict:
    """Encode every training clip once with the frozen tokenizer (EMA weights) and standardise every channel;
    cached in ``out/latents.pt``. Returns ``{"latents", "mean", "std", "key"}``."""
    from ardiff_edu.video import to_float

    tok_ck = ckpt.load_file(ckpt.checkpoint_path(out, "tokenizer"))
    cache = Path(out) / "latents.pt"
    key = {"tokenizer_step": tok_ck["step"], "num_clips": cfg.num_clips, "data_seed": cfg.data_seed,
           "num_frames": cfg.num_frames, "dataset": cfg.dataset}
    if cache.exists():
        c = torch.load(cache, map_location="cpu", weights_only=False)
        if c["key"] == key:
            return c
    tok = frozen_tokenizer(tok_ck, device)
    with torch.no_grad():
        z = torch.cat([tok.encode_video(to_float(clips[i:i + 128]).to(device)).float().cpu()
                       for i in range(0, len(clips), 128)])                       # (N, F, L, C)
    mean, std = z.mean(dim=(0, 1, 2)), z.std(dim=(0, 1, 2))
    c = {"key": key, "latents": (z - mean) / std, "mean": mean, "std": std}
    if dist.world()[0] == 0:
        atomic_torch_save(c, cache)
    return c


def shard_latents(cfg: TrainConfig, out, cache, device) -> loaders.LatentShards:
    """The DiT stage's data on a benchmark cache: every clip encoded once with the frozen tokenizer (EMA weights)
    into latent shards in ``out/latents/`` (by every process, each its share; reused while the tokenizer checkpoint
    and the cache are the same)."""
    tok_ck = ckpt.load_file(ckpt.checkpoint_path(out, "tokenizer"))
    key = {"tokenizer_step": tok_ck["step"], "cache": str(Path(cfg.cache).resolve()), "num_clips": len(cache),
           "dataset": cfg.dataset, "image_size": cfg.image_size, "num_frames": cfg.num_frames}

    return loaders.encode_shards(lambda: frozen_tokenizer(tok_ck, device), cache, Path(out) / "latents", key, device,
                                 bf16=cfg.precision == "bf16")
