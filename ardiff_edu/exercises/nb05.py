"""Checkers for the exercises of notebook 05 (the frame tokenizer).

* :func:`check_compression_ratio` — ``ratio(image_size, grid, token_dim)``: how many times fewer numbers a frame's
  tokens hold than its pixels, measured on real :class:`~ardiff_edu.models.FrameTokenizer` outputs.
* :func:`check_standardise` — ``standardise(tokens, mean, std)`` and ``unstandardise(z, mean, std)``: the per-channel
  standardisation of :meth:`ardiff_edu.pipeline.Pipeline.encode_video` and its inverse.
* :func:`check_l2_tokens` — ``l2_tokens(tokens)``: the official fixed-length tokens, as
  ``FrameTokenizer(l2_normalize=True)`` makes them.
"""

from __future__ import annotations

import torch

from ardiff_edu.exercises import Result, call, failed, passed
from ardiff_edu.models import FrameTokenizer
from ardiff_edu.pipeline import Pipeline

__all__ = ["RATIO_CASES", "check_compression_ratio", "check_standardise", "check_l2_tokens"]

#: ``(image_size, grid, token_dim)`` the compression-ratio checker tries, in this order.
RATIO_CASES = ((32, 4, 8), (32, 8, 4), (32, 2, 16), (64, 4, 8), (64, 16, 4), (16, 4, 3), (32, 16, 1))


def check_compression_ratio(ratio) -> Result:
    """``ratio(image_size, grid, token_dim)`` must return pixel numbers / token numbers of one frame (a number),
    for every case of :data:`RATIO_CASES`, measured from a ``FrameTokenizer`` with that grid and channel count."""
    for image_size, grid, token_dim in RATIO_CASES:
        tok = FrameTokenizer(image_size=image_size, token_dim=token_dim, width=2, grid=grid)
        frame = torch.zeros(1, 3, image_size, image_size)
        with torch.no_grad():
            tokens = tok.encode(frame)
        expected = frame.numel() / tokens.numel()
        got, err = call(ratio, image_size, grid, token_dim)
        if err is not None:
            return err
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return failed(f"ratio({image_size}, {grid}, {token_dim}) returned {type(got).__name__}, expected a "
                          f"number")
        if abs(got - expected) > 1e-9 * expected:
            return failed(f"ratio(image_size={image_size}, grid={grid}, token_dim={token_dim}) = {got}, but the "
                          f"tokenizer turns {frame.numel()} numbers into {tuple(tokens.shape[1:])} = "
                          f"{tokens.numel()} numbers: {expected:g}x")
    return passed(f"all {len(RATIO_CASES)} (image_size, grid, token_dim) cases give the measured ratio")


def _pipeline_like(token_dim: int, seed: int) -> Pipeline:
    """A pipeline holding just a small random tokenizer and latent statistics (enough for ``encode_video``)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    tok = FrameTokenizer(image_size=16, token_dim=token_dim, width=4, grid=4).eval()
    mean = torch.randn(token_dim, generator=g) * 3
    std = torch.rand(token_dim, generator=g) * 2 + 0.2
    return Pipeline(tok, None, None, None, mean, std)


def check_standardise(standardise, unstandardise) -> Result:
    """``standardise(tokens (B, F, L, C), mean (C,), std (C,))`` must equal what ``Pipeline.encode_video`` feeds the
    DiT, and ``unstandardise`` must undo it (within 1e-5), for a few random tokenizers and statistics."""
    for seed, token_dim in ((0, 8), (1, 4), (2, 3)):
        pipe = _pipeline_like(token_dim, seed)
        g = torch.Generator().manual_seed(100 + seed)
        video = torch.rand(2, 3, 3, 16, 16, generator=g) * 2 - 1
        with torch.no_grad():
            tokens = pipe.tokenizer.encode_video(video)
        expected = pipe.encode_video(video)
        got, err = call(standardise, tokens.clone(), pipe.latent_mean.clone(), pipe.latent_std.clone())
        if err is not None:
            return err
        where = f"(tokens {tuple(tokens.shape)}, C={token_dim}, seed {seed})"
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return failed(f"standardise {where} returned {shape}, expected a tensor of shape {tuple(expected.shape)}")
        if not torch.allclose(got, expected, atol=1e-5, rtol=1e-5):
            idx = tuple(int(i) for i in ((got - expected).abs() > 1e-5).nonzero()[0])
            return failed(f"standardise {where} differs from Pipeline.encode_video first at index {idx} (b, f, l, c): "
                          f"{float(got[idx]):.4f} vs {float(expected[idx]):.4f}; every channel c has its own "
                          f"mean[c] and std[c]")
        back, err = call(unstandardise, expected.clone(), pipe.latent_mean.clone(), pipe.latent_std.clone())
        if err is not None:
            return err
        if not isinstance(back, torch.Tensor) or back.shape != tokens.shape or not torch.allclose(back, tokens,
                                                                                                   atol=1e-4):
            return failed(f"unstandardise(standardise(tokens)) does not give the tokens back {where}")
    return passed("standardise equals Pipeline.encode_video and unstandardise undoes it, for C = 8, 4 and 3")


def check_l2_tokens(l2_tokens) -> Result:
    """``l2_tokens(tokens (N, L, C))`` must equal the tokens of ``FrameTokenizer(l2_normalize=True)`` with the same
    weights: every token scaled to length ``√C`` (within 1e-5)."""
    for seed, token_dim in ((0, 8), (1, 4), (2, 3)):
        torch.manual_seed(seed)
        plain = FrameTokenizer(image_size=16, token_dim=token_dim, width=4, grid=4).eval()
        l2 = FrameTokenizer(image_size=16, token_dim=token_dim, width=4, grid=4, l2_normalize=True).eval()
        l2.load_state_dict(plain.state_dict())
        frames = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        with torch.no_grad():
            tokens, expected = plain.encode(frames), l2.encode(frames)
        got, err = call(l2_tokens, tokens.clone())
        if err is not None:
            return err
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return failed(f"l2_tokens returned {shape} for tokens {tuple(tokens.shape)}, expected the same shape")
        if not torch.allclose(got, expected, atol=1e-5):
            n, l = (int(i) for i in ((got - expected).abs() > 1e-5).any(-1).nonzero()[0])
            return failed(f"C={token_dim}: token (n={n}, l={l}) has length {float(got[n, l].norm()):.4f}, "
                          f"FrameTokenizer(l2_normalize=True) gives length {float(expected[n, l].norm()):.4f} "
                          f"(= √C) in the direction of the raw token")
    return passed("l2_tokens equals FrameTokenizer(l2_normalize=True) for C = 8, 4 and 3")
