"""Checkers of notebook 07's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import math

import numpy as np
import torch

from ardiff_edu.exercises.nb07 import (check_accumulated_grads, check_ema_initial_weight, check_mean_timestep,
                                       ema_initial_weight_truth, mean_timestep_truth)
from ardiff_edu.fopp import sample_timesteps
from ardiff_edu.train import dit_loss


def test_mean_timestep_checker_accepts_exact_and_sampled_answers():
    assert check_mean_timestep(mean_timestep_truth)

    def sampled(kind, F, T):
        t = sample_timesteps(kind, 20000, F, T, generator=torch.Generator().manual_seed(0))
        return t.double().mean(dim=0)

    result = check_mean_timestep(sampled)
    assert result and "FoPP rises" in repr(result)


def test_mean_timestep_checker_names_the_mistake():
    def reversed_(kind, F, T):
        return mean_timestep_truth(kind, F, T)[::-1].copy()

    def per_clip(kind, F, T):
        return sample_timesteps(kind, 50, F, T, generator=torch.Generator().manual_seed(0)).double().mean(dim=1)

    def todo(kind, F, T):
        raise NotImplementedError

    result = check_mean_timestep(reversed_)
    assert not result and "frame 0" in result.message and "reversed" in result.message
    result = check_mean_timestep(per_clip)
    assert not result and "one mean per clip" in result.message
    result = check_mean_timestep(todo)
    assert not result and "NotImplementedError" in result.message
    assert not check_mean_timestep(lambda kind, F, T: np.full(F, (T - 1) / 2))     # flat: wrong for FoPP


def right_accumulated(model, z0, t, eps, schedule, parts):
    for idx in torch.arange(len(z0)).chunk(parts):
        (dit_loss(model, z0[idx], t[idx], eps[idx], schedule).mean() / parts).backward()


def test_accumulated_grads_checker():
    assert check_accumulated_grads(right_accumulated)

    def no_division(model, z0, t, eps, schedule, parts):
        for idx in torch.arange(len(z0)).chunk(parts):
            dit_loss(model, z0[idx], t[idx], eps[idx], schedule).mean().backward()

    def divided_twice(model, z0, t, eps, schedule, parts):
        for idx in torch.arange(len(z0)).chunk(parts):
            (dit_loss(model, z0[idx], t[idx], eps[idx], schedule).mean() / parts ** 2).backward()

    def last_part_only(model, z0, t, eps, schedule, parts):
        for idx in torch.arange(len(z0)).chunk(parts):
            model.zero_grad()
            dit_loss(model, z0[idx], t[idx], eps[idx], schedule).mean().backward()

    result = check_accumulated_grads(no_division)
    assert not result and "2 times too large" in result.message
    result = check_accumulated_grads(divided_twice)
    assert not result and "too small" in result.message
    result = check_accumulated_grads(last_part_only)
    assert not result and "parts=2" in result.message
    assert "never" not in check_accumulated_grads(lambda *a: None).message
    assert "is None" in check_accumulated_grads(lambda *a: None).message


def test_ema_initial_weight_checker():
    def right(n, decay):
        return math.prod(min((1 + k) / (10 + k), decay) for k in range(n))

    assert abs(ema_initial_weight_truth(1, 0.999) - 0.1) < 1e-12 and ema_initial_weight_truth(0, 0.999) == 1.0
    assert check_ema_initial_weight(right)
    result = check_ema_initial_weight(lambda n, decay: decay ** n)
    assert not result and "without its warm-up" in result.message and "n=1," in result.message

    def from_one(n, decay):                     # counts the updates from 1: d = min((2 + k) / (11 + k), decay)
        return math.prod(min((2 + k) / (11 + k), decay) for k in range(n))

    result = check_ema_initial_weight(from_one)
    assert not result and "n=1, decay=0.999" in result.message
