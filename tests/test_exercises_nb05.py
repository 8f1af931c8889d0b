"""The checkers of notebook 05's exercises accept the right answers and refuse wrong ones, naming what is wrong."""

import math

import torch

from ardiff_edu.exercises.nb05 import check_compression_ratio, check_l2_tokens, check_standardise


def test_compression_ratio_checker():
    assert check_compression_ratio(lambda size, grid, c: 3 * size * size / (grid * grid * c))
    wrong = check_compression_ratio(lambda size, grid, c: size * size / (grid * grid * c))      # forgot RGB
    assert not wrong and "ratio(image_size=32, grid=4, token_dim=8) = " in wrong.message and "24x" in wrong.message
    per_row = check_compression_ratio(lambda size, grid, c: 3 * size * size / (grid * c))       # L = g, not g²
    assert not per_row and "grid=4" in per_row.message
    assert "returned str" in check_compression_ratio(lambda *a: "24").message
    assert "raised ZeroDivisionError" in check_compression_ratio(lambda *a: 1 / 0).message


def test_standardise_checker():
    def standardise(tokens, mean, std):
        return (tokens - mean) / std

    def unstandardise(z, mean, std):
        return z * std + mean

    assert check_standardise(standardise, unstandardise)
    per_token = check_standardise(lambda x, m, s: (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True),
                                  unstandardise)
    assert not per_token and "differs from Pipeline.encode_video first at index" in per_token.message
    swapped = check_standardise(standardise, lambda z, m, s: z * m + s)
    assert not swapped and "does not give the tokens back" in swapped.message
    flat = check_standardise(lambda x, m, s: standardise(x, m, s).flatten(), unstandardise)
    assert not flat and "expected a tensor of shape (2, 3, 16, 8)" in flat.message
    raising = check_standardise(standardise, lambda z, m, s: (_ for _ in ()).throw(NotImplementedError("todo")))
    assert not raising and "raises NotImplementedError: write it first" in raising.message


def test_l2_tokens_checker():
    assert check_l2_tokens(lambda t: torch.nn.functional.normalize(t, dim=-1) * math.sqrt(t.shape[-1]))
    unit = check_l2_tokens(lambda t: torch.nn.functional.normalize(t, dim=-1))                   # forgot √C
    assert not unit and "C=8: token (n=0, l=0) has length 1.0000" in unit.message
    wrong_dim = check_l2_tokens(lambda t: torch.nn.functional.normalize(t, dim=-2) * math.sqrt(t.shape[-1]))
    assert not wrong_dim and "(= √C)" in wrong_dim.message
