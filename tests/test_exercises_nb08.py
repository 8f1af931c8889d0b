"""Checkers of notebook 08's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import torch

from ardiff_edu.ddim import ddim_step
from ardiff_edu.exercises.nb08 import check_cooled_noise, check_keep_step, check_nfe, keep_step_cases


def test_nfe_checker():
    assert check_nfe(lambda F, S, s, K: S + (F - K - 1) * s)
    result = check_nfe(lambda F, S, s, K: S + (F - K) * s)
    assert not result and "F=16, S=50, s=1, K=0" in result.message and "F - K - 1" in result.message
    result = check_nfe(lambda F, S, s, K: S + (F - 1) * s)
    assert not result and "K=3" in result.message and "Given frames cost nothing" in result.message
    result = check_nfe(lambda F, S, s, K: F * S)
    assert not result and "share calls" in result.message

    def todo(F, S, s, K):
        raise NotImplementedError

    assert "NotImplementedError" in check_nfe(todo).message


def right_keep_step(x, x0_hat, k, update, coef):
    return torch.where(update.reshape(1, -1, 1, 1), ddim_step(x, x0_hat, k, coef), x)


def test_keep_step_cases_cover_every_kind_of_frame():
    for x, x0_hat, k, update, coef in keep_step_cases():
        S = len(coef["c_x"]) - 1
        assert sorted(k.tolist()) == list(range(S + 1))
        assert update.any() and not update[k == S].any() and not update[k == 0].any()


def test_keep_step_checker():
    assert check_keep_step(right_keep_step)

    def official(x, x0_hat, k, update, coef):            # the mask on the network output, then step every frame
        return ddim_step(x, torch.where(update.reshape(1, -1, 1, 1), x0_hat, x), k, coef)

    def no_mask(x, x0_hat, k, update, coef):
        return ddim_step(x, x0_hat, k, coef)

    def in_place(x, x0_hat, k, update, coef):
        x[:, update] = ddim_step(x, x0_hat, k, coef)[:, update]
        return x

    result = check_keep_step(official)
    assert not result and "must stay bit-for-bit unchanged" in result.message and "official keep" in result.message
    result = check_keep_step(no_mask)
    assert not result and "must stay bit-for-bit unchanged" in result.message
    result = check_keep_step(in_place)
    assert not result and "in place" in result.message
    assert "NotImplementedError" in check_keep_step(lambda *a: (_ for _ in ()).throw(NotImplementedError)).message


def test_cooled_noise_checker():
    def right(noise, tau):
        out = noise.clone()
        out[:, 1:] *= tau
        return out

    def in_place(noise, tau):
        noise[:, 1:] *= tau
        return noise

    assert check_cooled_noise(right)
    result = check_cooled_noise(lambda noise, tau: noise * tau)
    assert not result and "frame 0 too" in result.message and "tau=0.8" in result.message
    result = check_cooled_noise(lambda noise, tau: torch.cat([noise[:, :1], noise[:, 1:] / tau], 1))
    assert not result and "divided by tau" in result.message
    result = check_cooled_noise(lambda noise, tau: torch.cat([noise[:, :-1] * tau, noise[:, -1:]], 1))
    assert not result and "every frame but the last" in result.message
    result = check_cooled_noise(in_place)
    assert not result and "in place" in result.message
    result = check_cooled_noise(lambda noise, tau: right(noise, tau)[:, 1:])
    assert not result and "expected a tensor of shape" in result.message
    assert "NotImplementedError" in check_cooled_noise(lambda *a: (_ for _ in ()).throw(NotImplementedError)).message
