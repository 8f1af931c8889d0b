"""Fixtures shared by several test modules."""

import dataclasses

import pytest

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
