"""Checkers of notebook 01's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import numpy as np
import torch

from ardiff_edu.exercises.nb01 import (
    check_half_signal,
    check_q_sample,
    half_signal_truth,
)
from ardiff_edu.noise import NoiseSchedule, cosine_betas, linear_betas

NS = NoiseSchedule()


def _abar(t, x0):
    return NS.alphas_cumprod[t].reshape(*t.shape, *([1] * (x0.ndim - 2)))


def right_q_sample(x0, t, eps):
    a = _abar(t, x0)
    return (a.sqrt() * x0 + (1 - a).sqrt() * eps).to(x0.dtype)


def test_q_sample_checker_accepts_the_per_frame_forward_process():
    result = check_q_sample(right_q_sample)
    assert result and "(1, 8, 16, 8)" in repr(result)


def test_q_sample_checker_names_the_mistake():
    def one_t_per_clip(x0, t, eps):
        return right_q_sample(x0, t[:, :1].expand_as(t), eps)

    def swapped(x0, t, eps):
        a = _abar(t, x0)
        return ((1 - a).sqrt() * x0 + a.sqrt() * eps).float()

    def pixels_only(x0, t, eps):
        a = NS.alphas_cumprod[t].reshape(*t.shape, 1, 1, 1)
        return (a.sqrt() * x0 + (1 - a).sqrt() * eps).float()

    def todo(x0, t, eps):
        raise NotImplementedError

    r = check_q_sample(one_t_per_clip)
    assert not r and "clip 0, frame 1" in r.message and "frame 0's timestep" in r.message
    assert "swapped" in check_q_sample(swapped).message
    r = check_q_sample(pixels_only)
    assert not r and "(1, 8, 16, 8)" in r.message and "one 1 per trailing dimension" in r.message
    assert "NotImplementedError" in check_q_sample(todo).message
    assert "expected a tensor" in check_q_sample(lambda x0, t, eps: None).message


def right_half_signal(betas):
    abar = np.cumprod(1 - betas)
    return int(np.argmax(abar / (1 - abar) < 1))


def test_half_signal_checker():
    assert check_half_signal(right_half_signal)
    assert check_half_signal(lambda b: torch.tensor(right_half_signal(b)))          # a 0-d integer tensor is fine
    assert half_signal_truth(linear_betas(1000).numpy()) == 418 and half_signal_truth(cosine_betas(1000).numpy()) == 496
    r = check_half_signal(lambda b: right_half_signal(b) - 1)
    assert not r and "t = 417" in r.message and "one step later" in r.message
    r = check_half_signal(lambda b: int(np.argmax(np.cumsum(b) > 0.5)))              # a sum instead of a product
    assert not r and "linear, T=1000" in r.message and "running product" in r.message
    assert "expected an integer" in check_half_signal(lambda b: 418.0).message
    assert "outside [0, 999]" in check_half_signal(lambda b: 5000).message
