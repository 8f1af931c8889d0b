"""The forward process: β schedules, ᾱ (float64), per-frame noising and the x0 / ε / v conversions."""

import math

import pytest
import torch

from ardiff_edu import noise
from ardiff_edu.noise import NoiseSchedule, cosine_betas, linear_betas, q_sample


@pytest.fixture(scope="module")
def sched():
    return NoiseSchedule()


def test_linear_alphas_cumprod_match_the_notes(sched):
    abar = sched.alphas_cumprod
    assert sched.T == 1000 and abar.shape == (1000,)
    assert abar.dtype == torch.float64 and sched.betas.dtype == torch.float64
    assert abar[0].item() == pytest.approx(0.9999, abs=1e-12)
    assert abar[1].item() == pytest.approx(0.99980, abs=5e-6)  # the notes round to 5 places
    assert abar[999].item() == pytest.approx(7.33e-4, rel=2e-3)
    assert math.sqrt(abar[999].item()) == pytest.approx(0.027, abs=5e-4)  # the terminal SNR is not zero


def test_linear_betas_are_linear_in_sqrt_beta():
    b = linear_betas(1000)
    assert b[0].item() == pytest.approx(1e-4) and b[-1].item() == pytest.approx(0.02)
    d = b.sqrt().diff()
    assert torch.allclose(d, d[0].expand_as(d), rtol=1e-9, atol=0)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedules_are_monotone_and_in_range(kind):
    s = NoiseSchedule(kind=kind)
    assert s.alphas_cumprod.dtype == torch.float64
    assert (s.betas > 0).all() and (s.betas < 1).all()
    assert (s.alphas_cumprod.diff() < 0).all()
    assert (s.snr.diff() < 0).all()
    assert 0 < s.alphas_cumprod[-1] < s.alphas_cumprod[0] < 1


def test_cosine_schedule_follows_nichol_dhariwal():
    s = NoiseSchedule(T=1000, kind="cosine")
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 250, 500, 750):   # away from the clipped end, ᾱ_t = f((t+1)/T) / f(0)
        assert s.alphas_cumprod[t].item() == pytest.approx(f((t + 1) / 1000) / f(0), rel=1e-9)
    assert cosine_betas(1000).max().item() == pytest.approx(0.999)


def test_small_T_and_custom_linear_range():
    s = NoiseSchedule(T=1, linear_start=0.01, linear_end=0.01)
    assert s.alphas_cumprod.tolist() == pytest.approx([0.99])
    s = NoiseSchedule(T=200, linear_start=0.00085, linear_end=0.012)
    assert s.betas[-1].item() == pytest.approx(0.012)


def test_each_frame_is_noised_at_its_own_level(sched):
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((4, 3, 64, 64), 0.5)
    t = torch.tensor([[0, 500, 999]] * 4)
    noise = torch.randn(x0.shape, generator=g)
    xt = sched.q_sample(x0, t, noise)
    assert xt.shape == x0.shape and xt.dtype == x0.dtype
    assert (xt[:, 0] - x0[:, 0]).abs().max() < 0.06                    # t=0: nearly unchanged (σ = 0.01)
    for f, tf in enumerate((0, 500, 999)):
        abar = sched.alphas_cumprod[tf].item()
        frame = xt[:, f].double()
        assert frame.mean().item() == pytest.approx(math.sqrt(abar) * 0.5, abs=0.01)
        assert frame.std().item() == pytest.approx(math.sqrt(1 - abar), rel=0.02)
    # the same frame with another frame's t changed is unaffected: frames are independent
    t2 = t.clone()
    t2[:, 2] = 10
    assert torch.equal(sched.q_sample(x0, t2, noise)[:, :2], xt[:, :2])


def test_q_sample_matches_the_formula_and_keeps_dtype(sched):
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(2, 5, 3, 4, 4, generator=g, dtype=torch.float32)
    t = torch.randint(1000, (2, 5), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    # coefficients gathered in float64, then cast to the clip's dtype
    a = sched.alphas_cumprod[t].sqrt()[..., None, None, None].float()
    b = (1 - sched.alphas_cumprod[t]).sqrt()[..., None, None, None].float()
    expected = a * x0 + b * eps
    assert torch.equal(q_sample(x0, t, eps), expected)                  # module-level, default schedule
    assert torch.equal(q_sample(x0, t, eps, schedule=sched), expected)
    assert q_sample(x0.double(), t, eps.double()).dtype == torch.float64


def test_q_sample_draws_noise_from_the_generator(sched):
    x0 = torch.zeros(2, 3, 8)
    t = torch.full((2, 3), 999)
    a = sched.q_sample(x0, t, generator=torch.Generator().manual_seed(5))
    b = sched.q_sample(x0, t, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.abs().sum() > 0


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_conversions_round_trip(kind):
    s = NoiseSchedule(kind=kind)
    g = torch.Generator().manual_seed(2)
    x0 = torch.randn(3, 6, 16, 4, generator=g, dtype=torch.float64)
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    t = torch.tensor([[0, 1, 10, 500, 900, 998]] * 3)
    xt = s.q_sample(x0, t, eps)
    torch.testing.assert_close(s.x0_from_eps(xt, t, eps), x0, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(s.eps_from_x0(xt, t, x0), eps, rtol=1e-6, atol=1e-6)
    v = s.v_from_x0_eps(x0, eps, t)
    torch.testing.assert_close(s.x0_from_v(xt, t, v), x0, rtol=1e-9, atol=1e-9)
    for prediction, out in (("x0", x0), ("eps", eps), ("v", v)):      # the sampler's one entry point
        torch.testing.assert_close(s.x0_from_prediction(prediction, xt, t, out), x0, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(s.target(prediction, x0, eps, t), out)
    # v = √ᾱ ε − √(1−ᾱ) x0 has unit variance when x0 and ε do
    assert v.std().item() == pytest.approx(1.0, abs=0.05)


def test_conversions_keep_float32():
    s = NoiseSchedule()
    x0 = torch.randn(1, 2, 4)
    eps = torch.randn(1, 2, 4)
    t = torch.tensor([[3, 700]])
    xt = s.q_sample(x0, t, eps)
    for out in (s.x0_from_eps(xt, t, eps), s.eps_from_x0(xt, t, x0), s.v_from_x0_eps(x0, eps, t)):
        assert out.dtype == torch.float32
    torch.testing.assert_close(s.x0_from_eps(xt, t, eps), x0, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    ({"T": 0}, r"T must be >= 1, got 0"),
    ({"kind": "sigmoid"}, r"kind must be one of \['cosine', 'linear'\], got 'sigmoid'"),
    ({"linear_start": 0.0}, r"linear_start must be in \(0, 1\), got 0.0"),
    ({"linear_start": 0.02, "linear_end": 1e-4}, r"linear_end must be >= linear_start=0.02, got 0.0001"),
])
def test_bad_schedule_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NoiseSchedule(**kwargs)


@pytest.mark.parametrize("t, match", [
    (torch.tensor([[0, 1000]]), r"t must be in \[0, 999\], got 1000"),
    (torch.tensor([[-1, 3]]), r"t must be in \[0, 999\], got -1"),
    (torch.tensor([0, 1]), r"t must have shape \(B, F\) = \(1, 2\).*got \(2,\)"),
    (torch.tensor([[0, 1, 2]]), r"t must have shape \(B, F\) = \(1, 2\).*got \(1, 3\)"),
    (torch.tensor([[0.0, 1.0]]), r"t must hold integers in \[0, 999\], got dtype torch.float32"),
])
def test_bad_timesteps(sched, t, match):
    x0 = torch.zeros(1, 2, 4)
    with pytest.raises(ValueError, match=match):
        sched.q_sample(x0, t, torch.zeros_like(x0))


def test_bad_clip_and_noise_shapes(sched):
    with pytest.raises(ValueError, match=r"floating-point tensor of shape \(B, F, \.\.\.\), got \(\(4,\)"):
        sched.q_sample(torch.zeros(4), torch.zeros(4, dtype=torch.long), torch.zeros(4))
    with pytest.raises(ValueError, match=r"noise must be a tensor of the clip's shape \(1, 2, 4\), got \(1, 2, 3\)"):
        sched.q_sample(torch.zeros(1, 2, 4), torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match=r"the clip must be a floating-point tensor .*torch.uint8"):
        sched.q_sample(torch.zeros(1, 2, 4, dtype=torch.uint8), torch.zeros(1, 2, dtype=torch.long))


def test_default_schedule_is_built_once():
    assert noise.default_schedule() is noise.default_schedule()
