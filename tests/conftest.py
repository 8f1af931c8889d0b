"""Fixtures shared by several test modules."""

import dataclasses

import pytest
import torch

from ardiff_edu import pipeline, train


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A real exported checkpoint (balls-smoke, two steps per stage: untrained, but the whole pipeline: tokenizer,
    DiT, latent statistics, export format)."""
    root = tmp_path_factory.mktemp("ckpt")
    cfg = dataclasses.replace(train.PRESETS["balls-smoke"], tok_steps=2, steps=2, num_clips=8, ckpt_every=2)
    for stage in ("tokenizer", "dit"):
        train.train(cfg, out=root / "run", stage=stage, progress=False)
    return pipeline.export(root / "run", root / "tiny.pt")


@pytest.fixture(scope="session")
def one_frame_checkpoint(tiny_checkpoint, tmp_path_factory):
    """A model of one frame of ``tiny_checkpoint``'s latents: its export with other DiT weights and ``num_frames = 1``
    (what ``sample --first-frame`` loads)."""
    ck = torch.load(tiny_checkpoint, weights_only=False)
    torch.manual_seed(1)
    ck["dit"] = {k: v + 0.1 * torch.randn_like(v) if v.is_floating_point() else v for k, v in ck["dit"].items()}
    path = tmp_path_factory.mktemp("one_frame") / "one.pt"
    torch.save({**ck, "config": {**ck["config"], "num_frames": 1}}, path)
    return path
