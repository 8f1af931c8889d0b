"""ardiff_edu.ddim: DDIM over any schedule, keep-mask, windows, given frames, CFG, noisy context, the KV cache."""

import numpy as np
import pytest
import torch
from torch import nn

from ardiff_edu.ad import ad_schedule, ddim_timesteps, step_template
from ardiff_edu.ddim import KVCache, ddim_coefficients, ddim_step
from ardiff_edu.ddim import sample as ddim_sample
from ardiff_edu.models import DiT
from ardiff_edu.noise import NoiseSchedule

NS = NoiseSchedule()
B, L, C = 2, 3, 2


class Oracle(nn.Module):
    """Returns the true clean latents of the frames in the current window (x0, eps or v, as asked).

    It knows the window by counting its calls along the schedule (every iteration here makes one call)."""

    def __init__(self, target, schedule, prediction="x0"):
        super().__init__()
        self.target, self.windows, self.calls = target, schedule.windows, 0
        self.prediction = self.kind = prediction
        self.seen = []

    def forward(self, x, t, labels=None):
        lo, hi = (int(v) for v in self.windows[self.calls])
        self.calls += 1
        self.seen.append((x.shape[1], t.clone()))
        x0 = self.target[:, lo:hi].to(x)
        if self.kind == "x0":
            return x0
        eps = NS.eps_from_x0(x, t, x0)
        return eps if self.kind == "eps" else NS.v_from_x0_eps(x0, eps, t)


class Wobbly(nn.Module):
    """A deterministic, input-dependent stand-in network (no training needed)."""

    prediction = "x0"

    def forward(self, x, t, labels=None):
        return torch.tanh(x.flip(1) * 0.7 + t[..., None, None].to(x) / 1000.0)


def _noise(F, seed=0, dtype=torch.float32):
    return torch.randn((B, F, L, C), generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_coefficients_are_the_official_extended_arrays():
    abar = NS.alphas_cumprod
    for S in (1, 5, 50):
        ddim = ddim_timesteps(S)
        # the official arrays, indexed by the DDIM index j = S - k, extended by one entry
        alphas = torch.cat([abar[ddim], abar[-1:]])
        alphas_prev = torch.cat([abar[:1], abar[ddim[:-1]], abar[-1:]])
        coef = ddim_coefficients(step_template(S), abar)
        assert coef["a"].dtype == torch.float64 and coef["a"].shape == (S + 1,)
        assert torch.equal(coef["a"].flip(0), alphas) and torch.equal(coef["a_prev"].flip(0), alphas_prev)
        assert coef["c_x"][0] == 1.0 and coef["c_x0"][0] == 0.0     # untouched frame: exactly the identity
        assert abs(float(coef["c_x"][S] + coef["c_x0"][S]) - 1.0000212) < 1e-7   # the official drift when done


@pytest.mark.parametrize("F,S,s,window,overflow", [(5, 4, 1, None, "raise"), (7, 4, 1, 4, "raise"),
                                                   (7, 6, 1, 3, "wait"), (6, 5, 1, 4, "drop")])
def test_only_scheduled_frames_change_and_the_network_sees_the_window(F, S, s, window, overflow):
    sched = ad_schedule(F, S, s, window, overflow=overflow)
    seen, states = [], []
    model = Wobbly()
    fwd = model.forward
    model.forward = lambda x, t, labels=None: (seen.append((x.shape[1], t[0].tolist())), fwd(x, t))[1]
    x = _noise(F)
    ddim_sample(model, sched, x, NS, callback=lambda i, xi, x0: states.append((i, xi.clone())))
    prev = x
    called = [i for i in range(sched.num_iterations) if sched.update_mask[i].any()]
    assert [i for i, _ in states] == called and len(seen) == len(called)
    for (i, xi), (width, t) in zip(states, seen):
        lo, hi = sched.windows[i]
        assert width == sched.window_size == hi - lo
        assert t == sched.timesteps[i, lo:hi].tolist()           # window-relative labels: template[step_index]
        keep = torch.as_tensor(~sched.update_mask[i])
        assert torch.equal(xi[:, keep], prev[:, keep])           # bit-for-bit: untouched, finished, outside window
        assert not torch.equal(xi[:, ~keep], prev[:, ~keep])
        prev = xi
    if overflow == "drop":
        assert sched.skipped_mask.any()


def test_s0_equals_plain_synchronous_ddim():
    S, F = 6, 4
    x, model = _noise(F, dtype=torch.float64), Wobbly()
    ours = ddim_sample(model, ad_schedule(F, S, 0), x, NS)
    # plain DDIM (eta = 0), written independently: LDM "uniform" timesteps, descending, first step from pure noise
    abar = NS.alphas_cumprod
    ref, ts = x.clone(), ddim_timesteps(S)[::-1]
    for n, t in enumerate(ts):
        a, a_prev = abar[t], (abar[ts[n + 1]] if n + 1 < S else abar[0])
        x0 = model(ref, torch.full((B, F), int(t), dtype=torch.long))
        eps = (ref - a.sqrt() * x0) / (1 - a).sqrt()
        ref = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    assert torch.allclose(ours, ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("prediction", ["x0", "eps", "v"])
@pytest.mark.parametrize("F,S,s,window,overflow", [(4, 5, 0, None, "raise"), (5, 5, 1, None, "raise"),
                                                   (4, 5, 2, None, "raise"), (3, 5, 5, None, "raise"),
                                                   (9, 6, 2, 4, "raise"), (8, 6, 1, 3, "wait")])
def test_an_oracle_model_recovers_x0(prediction, F, S, s, window, overflow):
    target = torch.randn((B, F, L, C), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    sched = ad_schedule(F, S, s, window, overflow=overflow)
    model = Oracle(target, sched, prediction)
    out = ddim_sample(model, sched, _noise(F, dtype=torch.float64), NS)
    assert model.calls == sched.nfe
    # DDIM ends at level ᾱ[0] = 0.9999: x = 0.99995 x0 + 0.01 eps_hat, so up to ~0.05 from x0
    assert (out - target).abs().max() < 0.05
    assert (out - target).abs().max() < 0.02 * (_noise(F) - target).abs().max()


class ClassConstant(nn.Module):
    """Predicts x0 = a constant per label (label K is the null label); counts its calls and batch sizes."""

    prediction, null_label = "x0", 3

    def __init__(self):
        super().__init__()
        self.values, self.batches = torch.tensor([1.0, -2.0, 0.5, 0.25]), []

    def forward(self, x, t, labels=None):
        self.batches.append(x.shape[0])
        return self.values[labels].to(x).reshape(-1, 1, 1, 1).expand_as(x)


def test_cfg_scale_one_is_the_conditional_branch_and_guidance_is_one_batched_call():
    F, S = 3, 5
    sched, x, labels = ad_schedule(F, S, 1), _noise(F, dtype=torch.float64), torch.tensor([0, 1])
    m1 = ClassConstant()
    plain = ddim_sample(m1, sched, x, NS, labels=labels)
    assert m1.batches == [B] * sched.nfe
    assert torch.equal(ddim_sample(ClassConstant(), sched, x, NS, labels=labels, cfg_scale=1.0), plain)
    m2 = ClassConstant()
    guided = ddim_sample(m2, sched, x, NS, labels=labels, cfg_scale=2.0)
    assert m2.batches == [2 * B] * sched.nfe                      # both branches in one call
    want = 0.25 + 2.0 * (m2.values[labels] - 0.25)               # uncond + g (cond - uncond), null value 0.25
    assert torch.allclose(guided.mean(dim=(1, 2, 3)), want.double(), atol=0.02)
    with pytest.raises(ValueError, match="cfg_scale=2.0"):
        ddim_sample(Wobbly(), sched, x, NS, cfg_scale=2.0)
    with pytest.raises(ValueError, match="one label per video"):
        ddim_sample(ClassConstant(), sched, x, NS, labels=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="class-conditional"):
        ddim_sample(Wobbly(), sched, x, NS, labels=labels, cfg_scale=2.0)


def test_bad_inputs_raise():
    sched = ad_schedule(4, 5, 1)
    with pytest.raises(ValueError, match="num_frames=4"):
        ddim_sample(Wobbly(), sched, _noise(5), NS)
    with pytest.raises(ValueError, match="noise must be"):
        ddim_sample(Wobbly(), sched, torch.zeros(4, 5), NS)
    with pytest.raises(ValueError, match="cfg_scale"):
        ddim_sample(Wobbly(), sched, _noise(4), NS, cfg_scale=-1.0)
    with pytest.raises(ValueError, match="context_noise must be in"):
        ddim_sample(Wobbly(), sched, _noise(4), NS, context_noise=1000)


def test_keep_exact_vs_official_pins_the_finished_frame_drift():
    """Paper vs code (notebook 08): the official keep-mask acts on the network output, so finished frames drift by
    c_x + c_x0 = 1.0000212 per iteration; ours acts on the result and keeps them bit-for-bit."""
    F, S = 4, 5
    sched = ad_schedule(F, S, 2)
    x = _noise(F, dtype=torch.float64)
    exact = ddim_sample(Wobbly(), sched, x, NS)
    official = ddim_sample(Wobbly(), sched, x, NS, keep="official")
    coef = ddim_coefficients(sched.template, NS.alphas_cumprod)
    drift = coef["c_x"][S] + coef["c_x0"][S]
    waits = int((sched.step_index[:, 0] == S).sum()) - 1
    assert waits > 0 and torch.allclose(official[:, 0], exact[:, 0] * drift ** waits, atol=1e-12, rtol=0)
    assert 0 < (official - exact).abs().max() < 1e-3              # small, but not zero
    with pytest.raises(ValueError, match="keep"):
        ddim_sample(Wobbly(), sched, x, NS, keep="loose")


@pytest.mark.parametrize("window", [None, 5])
def test_given_frames_stay_fixed_are_labelled_finished_and_the_rest_is_recovered(window):
    F, S, s, K = 9, 5, 2, 2
    target = torch.randn((B, F, L, C), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    sched = ad_schedule(F, S, s, window, prefix_frames=K)
    model = Oracle(target, sched)
    out = ddim_sample(model, sched, _noise(F, dtype=torch.float64), NS, prefix=target[:, :K])
    assert torch.equal(out[:, :K], target[:, :K])
    assert (out - target).abs().max() < 0.05
    assert all((t[:, 0] == 1).all() for _, t in model.seen[:3])         # given frames: labelled t = template[S]
    with pytest.raises(ValueError, match=r"the schedule has 2 given frames: prefix must be a tensor of shape"):
        ddim_sample(model, sched, _noise(F), NS, prefix=target[:, :3])
    with pytest.raises(ValueError, match="prefix was given, but the schedule has no given frames"):
        ddim_sample(Wobbly(), ad_schedule(F, S, s), _noise(F), NS, prefix=target[:, :K])


def test_an_eps_model_with_the_official_keep_shrinks_finished_frames():
    """Paper vs code: the official keep replaces the raw network output by x. For an x0-model that is x̂0 := x (a
    drift of 1.0000212 per iteration); for an eps-model it is ε̂ := x, and x̂0 = (x − √(1−ᾱ)·x)/√ᾱ shrinks the
    finished frame (at t = 1 and S = 50 by about 0.9958 per iteration)."""

    class EpsZero(nn.Module):
        prediction = "eps"

        def forward(self, x, t, labels=None):
            return torch.zeros_like(x)

    S, F = 50, 2
    sched = ad_schedule(F, S, S)                             # frame 0 finishes, then waits S iterations
    x = _noise(F, dtype=torch.float64)
    exact = ddim_sample(EpsZero(), sched, x, NS)
    official = ddim_sample(EpsZero(), sched, x, NS, keep="official")
    coef = ddim_coefficients(sched.template, NS.alphas_cumprod)
    a = coef["a"][S]
    per_iteration = coef["c_x"][S] + coef["c_x0"][S] * (1 - (1 - a).sqrt()) / a.sqrt()
    assert abs(float(per_iteration) - 0.9958) < 5e-4
    torch.testing.assert_close(official[:, 0], exact[:, 0] * per_iteration ** S, rtol=1e-9, atol=1e-12)


def test_context_noise_feeds_finished_frames_noised_and_labelled_but_keeps_them_clean():
    F, S, tau = 4, 3, 40
    sched = ad_schedule(F, S, S)
    seen = []

    class Spy(Wobbly):
        def forward(self, x, t, labels=None):
            seen.append((x.clone(), t.clone()))
            return super().forward(x, t)

    x = _noise(F)
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(9))
    out = ddim_sample(Spy(), sched, x, NS, context_noise=tau, context_eps=eps)
    clean = ddim_sample(Wobbly(), sched, x, NS)
    # the first S iterations only see frame 0 in progress; at iteration S frame 0 is finished and fed noised
    fed, t = seen[S]
    assert t[0, 0] == tau and t[0, 1] == sched.template[1]
    torch.testing.assert_close(fed[:, 0], NS.q_sample(clean[:, :1], torch.full((B, 1), tau), eps[:, :1])[:, 0])
    torch.testing.assert_close(out[:, 0], clean[:, 0])               # frame 0 itself stays as it was finished
    assert not torch.equal(out[:, 1:], clean[:, 1:])                 # later frames saw a noisy context


# ----------------------------------------------------------------------------------------------------------------
# the KV cache: the same latents, fewer frames through the network
# ----------------------------------------------------------------------------------------------------------------
def _random_dit(mask="causal", num_classes=None, context=0, F=6):
    torch.manual_seed(0)
    model = DiT(token_dim=C, num_tokens=L, max_frames=F, width=16, depth=2, heads=2, mask=mask,
                num_classes=num_classes, num_context_tokens=context)
    for p in model.parameters():                                  # adaLN-Zero starts at 0: perturb for an output
        p.data.add_(0.1 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("F,S,s,window,K", [(6, 5, 0, None, 0), (6, 5, 2, None, 0), (6, 5, 5, None, 0),
                                            (11, 6, 2, 6, 0), (9, 6, 1, 6, 2), (12, 4, 1, 6, 0)])
def test_the_kv_cache_gives_the_uncached_latents(F, S, s, window, K):
    model = _random_dit(context=1)
    sched = ad_schedule(F, S, s, window, prefix_frames=K)
    x = _noise(F)
    prefix = torch.randn(B, K, L, C, generator=torch.Generator().manual_seed(4)) if K else None
    uncached = ddim_sample(model, sched, x, NS, prefix=prefix, kv_cache=False)
    cached = ddim_sample(model, sched, x, NS, prefix=prefix, kv_cache=True)
    torch.testing.assert_close(cached, uncached, rtol=1e-5, atol=1e-5)


def test_the_kv_cache_runs_fewer_frames_and_rebuilds_when_the_window_slides():
    model = _random_dit()
    calls = []
    fwd = model.forward_frames
    model.forward_frames = lambda x, *a, **k: (calls.append(x.shape[1]), fwd(x, *a, **k))[1]
    sched = ad_schedule(6, 4, 4)                                     # frame by frame: one frame in progress
    ddim_sample(model, sched, _noise(6), NS, kv_cache=True)
    assert sum(calls) < 6 * sched.nfe / 3                           # uncached: 6 frames per call
    cache = KVCache(model)
    x, t = _noise(6), torch.zeros(B, 6, dtype=torch.long)
    cache.run(x, t, None, 0, 2, 4)
    assert (cache.lo, cache.hi, cache.encoded_frames) == (0, 2, 2)
    cache.run(x, t, None, 1, 2, 5)                                   # the window slid: rebuilt from frame 1
    assert (cache.lo, cache.hi, cache.encoded_frames) == (1, 2, 3)


def test_the_kv_cache_refuses_masks_and_keep_modes_it_cannot_reproduce():
    sched, x = ad_schedule(4, 3, 1), _noise(4)
    for model in (_random_dit("full", F=4), _random_dit("leaky", context=1, F=4)):
        with pytest.raises(ValueError, match="kv_cache=True needs a strictly causal DiT"):
            ddim_sample(model, sched, x, NS, kv_cache=True)
        ddim_sample(model, sched, x, NS)                             # default: silently uncached
    with pytest.raises(ValueError, match="keep='official'"):
        ddim_sample(_random_dit(F=4), sched, x, NS, keep="official", kv_cache=True)
    with pytest.raises(ValueError, match="a KV cache needs a strictly causal DiT"):
        KVCache(Wobbly())


def test_cfg_with_the_kv_cache():
    model = _random_dit(num_classes=3)
    sched, x, labels = ad_schedule(6, 4, 2), _noise(6), torch.tensor([0, 2])
    a = ddim_sample(model, sched, x, NS, labels=labels, cfg_scale=2.0, kv_cache=False)
    b = ddim_sample(model, sched, x, NS, labels=labels, cfg_scale=2.0, kv_cache=True)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# autoguidance of the first frame
# ----------------------------------------------------------------------------------------------------------------
def _weak_dit(F=6):
    weak = _random_dit(F=F)
    for p in weak.parameters():                                   # another model of the same latents
        p.data.mul_(0.8)
    return weak


def test_autoguidance_mixes_frame_0s_prediction_and_only_while_it_is_denoised():
    model, weak = _random_dit(), _weak_dit()
    S, w = 4, 3.0
    template = torch.tensor(step_template(S, NS.T))
    coef = ddim_coefficients(template, NS.alphas_cumprod)
    x = _noise(1)
    expected = x.clone()                                          # one frame by hand: D_w = D_weak + w (D - D_weak)
    for k in range(1, S + 1):
        t = torch.full((B, 1), int(template[k]))
        d, d_weak = model(expected, t), weak(expected, t)
        expected = coef["c_x"][k].float() * expected + coef["c_x0"][k].float() * (d_weak + w * (d - d_weak))
    got = ddim_sample(model, ad_schedule(1, S, 0), x, NS, autoguide=weak, autoguide_scale=w)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    # in a video, frame 0 is the same draw (it attends only to itself); later frames are not guided themselves
    x6 = torch.cat([x, _noise(5, seed=1)], 1)
    video = ddim_sample(model, ad_schedule(6, S, 2), x6, NS, autoguide=weak, autoguide_scale=w)
    torch.testing.assert_close(video[:, :1], expected, rtol=1e-5, atol=1e-5)
    plain = ddim_sample(model, ad_schedule(6, S, 2), x6, NS)
    assert not torch.allclose(plain[:, 0], video[:, 0], atol=1e-3)
    # w = 1 is the model itself, bit for bit, and a guide identical to the model changes nothing
    assert torch.equal(ddim_sample(model, ad_schedule(6, S, 2), x6, NS, autoguide=weak, autoguide_scale=1.0), plain)
    torch.testing.assert_close(ddim_sample(model, ad_schedule(6, S, 2), x6, NS, autoguide=model, autoguide_scale=w),
                               plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("F,S,s,window", [(6, 4, 2, None), (11, 6, 2, 6)])
def test_autoguidance_with_and_without_the_kv_cache(F, S, s, window):
    model, weak, sched, x = _random_dit(), _weak_dit(), ad_schedule(F, S, s, window), _noise(F)
    a = ddim_sample(model, sched, x, NS, autoguide=weak, autoguide_scale=2.5, kv_cache=False)
    b = ddim_sample(model, sched, x, NS, autoguide=weak, autoguide_scale=2.5, kv_cache=True)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_autoguidance_refuses_what_it_cannot_mean():
    model, weak, sched, x = _random_dit(), _weak_dit(), ad_schedule(6, 4, 2), _noise(6)
    with pytest.raises(ValueError, match="autoguide_scale=3.0 needs autoguide"):
        ddim_sample(model, sched, x, NS, autoguide_scale=3.0)
    with pytest.raises(ValueError, match=r"autoguide_scale must be >= 0.0, got -1"):
        ddim_sample(model, sched, x, NS, autoguide=weak, autoguide_scale=-1.0)
    weak.prediction = "eps"
    with pytest.raises(ValueError, match="autoguide predicts 'eps' but the model predicts 'x0'"):
        ddim_sample(model, sched, x, NS, autoguide=weak, autoguide_scale=2.0)
    weak.prediction = "x0"
    with pytest.raises(ValueError, match="gives the first 2 frames"):
        ddim_sample(model, ad_schedule(6, 4, 2, prefix_frames=2), x, NS, prefix=x[:, :2], autoguide=weak,
                    autoguide_scale=2.0)
    for full_one in ("model", "autoguide"):
        pair = {"model": model, "autoguide": weak, full_one: _random_dit(mask="full")}
        with pytest.raises(ValueError, match=f"the {full_one} has mask='full'"):
            ddim_sample(pair["model"], sched, x, NS, autoguide=pair["autoguide"], autoguide_scale=2.0)
    conditional = _random_dit(num_classes=3)
    with pytest.raises(ValueError, match="classifier-free guidance"):
        ddim_sample(conditional, sched, x, NS, labels=torch.tensor([0, 1]), cfg_scale=2.0, autoguide=weak,
                    autoguide_scale=2.0)


class _Mix(torch.nn.Module):
    """``D_weak + w (D - D_weak)`` of two models on every frame: autoguidance as one model of one frame."""

    def __init__(self, model, weak, w):
        super().__init__()
        self.model, self.weak, self.w, self.prediction = model, weak, w, "x0"

    def forward(self, x, t):
        d_weak = self.weak(x, t)
        return d_weak + self.w * (self.model(x, t) - d_weak)


@pytest.mark.parametrize("F,S,s,window", [(6, 4, 2, None), (11, 6, 2, 6)])
def test_a_model_of_the_first_frame_draws_frame_0_and_autoguide_guides_it(F, S, s, window):
    """first_frame: frame 0 of the video is that model's own one-frame draw from the same noise (guided by autoguide
    when given, w = 0 taking the guide alone), with and without the KV cache (and the sliding window); frame 1 sees it
    as its first frame, so it changes too; the video model as its own model of frame 0 changes nothing."""
    model, one, weak = _random_dit(), _random_dit(F=1), _weak_dit()
    for p in one.parameters():                                    # another model of one frame
        p.data.mul_(1.1)
    sched, x = ad_schedule(F, S, s, window), _noise(F)
    plain = ddim_sample(model, sched, x, NS)
    for kv in (False, True):
        video = ddim_sample(model, sched, x, NS, first_frame=one, kv_cache=kv)
        torch.testing.assert_close(video[:, :1], ddim_sample(one, ad_schedule(1, S, 0), x[:, :1], NS),
                                   rtol=1e-5, atol=1e-5)
        assert not torch.allclose(video[:, 0], plain[:, 0], atol=1e-3)
        assert not torch.allclose(video[:, 1], plain[:, 1], atol=1e-3)          # frame 1 sees frame 0
        guided = ddim_sample(model, sched, x, NS, first_frame=one, autoguide=weak, autoguide_scale=2.5, kv_cache=kv)
        torch.testing.assert_close(guided[:, :1], ddim_sample(_Mix(one, weak, 2.5), ad_schedule(1, S, 0), x[:, :1],
                                                              NS), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ddim_sample(model, sched, x, NS, first_frame=model), plain, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ddim_sample(model, sched, x, NS, first_frame=one, autoguide=weak, autoguide_scale=0.0),
                               ddim_sample(model, sched, x, NS, autoguide=weak, autoguide_scale=0.0))


def test_a_model_of_the_first_frame_refuses_what_it_cannot_mean():
    model, one, sched, x = _random_dit(), _random_dit(F=1), ad_schedule(6, 4, 2), _noise(6)
    one.prediction = "eps"
    with pytest.raises(ValueError, match="first_frame predicts 'eps' but the model predicts 'x0'"):
        ddim_sample(model, sched, x, NS, first_frame=one)
    one.prediction = "x0"
    with pytest.raises(ValueError, match="first_frame draws the first frame of a video, but the schedule gives the "
                                         "first 2 frames .* nothing to draw; use first_frame=None"):
        ddim_sample(model, ad_schedule(6, 4, 2, prefix_frames=2), x, NS, prefix=x[:, :2], first_frame=one)
    with pytest.raises(ValueError, match="first_frame needs strictly causal DiTs .* the model has mask='full'"):
        ddim_sample(_random_dit(mask="full"), sched, x, NS, first_frame=one)
    with pytest.raises(ValueError, match="first_frame together with class labels"):
        ddim_sample(_random_dit(num_classes=3), sched, x, NS, labels=torch.tensor([0, 1]), first_frame=one)


# ----------------------------------------------------------------------------------------------------------------
# history guidance: every frame guided by the frames before it
# ----------------------------------------------------------------------------------------------------------------
class HistoryGuided(nn.Module):
    """The definition, written independently of ``sample``: a frame's prediction becomes
    ``D_alone + w (D - D_alone)``, ``D_alone`` the network on that frame alone; the window's first frame has no
    history and keeps ``D``."""

    def __init__(self, model, w, max_t=None):
        super().__init__()
        self.model, self.w, self.prediction, self.mask_kind = model, w, model.prediction, model.mask_kind
        self.max_t = max_t

    def forward(self, x, t, labels=None):
        d = self.model(x, t)
        alone = torch.cat([self.model(x[:, f:f + 1], t[:, f:f + 1]) for f in range(x.shape[1])], 1)
        guided = alone + self.w * (d - alone)
        if self.max_t is not None:                     # the interval: frames labelled t >= t_max keep D
            guided = torch.where((t < self.max_t)[:, :, None, None], guided, d)
        return torch.cat([d[:, :1], guided[:, 1:]], 1)


@pytest.mark.parametrize("F,S,s,window,K", [(6, 4, 2, None, 0), (6, 4, 4, None, 0), (11, 6, 2, 6, 0),
                                            (6, 4, 1, None, 2)])
def test_history_guidance_is_its_definition_with_and_without_the_kv_cache(F, S, s, window, K):
    model, w = _random_dit(F=F if window is None else window), 2.5
    sched, x = ad_schedule(F, S, s, window, prefix_frames=K), _noise(F)
    prefix = torch.randn(B, K, L, C, generator=torch.Generator().manual_seed(4)) if K else None
    expected = ddim_sample(HistoryGuided(model, w), sched, x, NS, prefix=prefix)      # never cached: not a DiT
    for cache in (False, True):
        got = ddim_sample(model, sched, x, NS, prefix=prefix, history_guidance=w, kv_cache=cache)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    plain = ddim_sample(model, sched, x, NS, prefix=prefix)
    assert not torch.allclose(plain[:, K + 1:], expected[:, K + 1:], atol=1e-3)       # it changes the later frames
    # w = 1 is the model itself, bit for bit
    assert torch.equal(ddim_sample(model, sched, x, NS, prefix=prefix, history_guidance=1.0), plain)


@pytest.mark.parametrize("F,S,s,window,K", [(6, 4, 2, None, 0), (11, 6, 2, 6, 0), (6, 4, 1, None, 2)])
def test_history_guidance_interval_guides_only_the_frames_labelled_below_t_max(F, S, s, window, K):
    model, w = _random_dit(F=F if window is None else window), 2.5
    sched, x = ad_schedule(F, S, s, window, prefix_frames=K), _noise(F)
    prefix = torch.randn(B, K, L, C, generator=torch.Generator().manual_seed(4)) if K else None
    for cache in (False, True):                        # t_max = T: every label is below it, bit for bit
        everywhere = ddim_sample(model, sched, x, NS, prefix=prefix, history_guidance=w, kv_cache=cache)
        assert torch.equal(ddim_sample(model, sched, x, NS, prefix=prefix, history_guidance=w, kv_cache=cache,
                                       history_guidance_max_t=NS.T), everywhere)
    plain = ddim_sample(model, sched, x, NS, prefix=prefix)
    max_t = int(np.median(sched.template))             # about half the labels on each side
    expected = ddim_sample(HistoryGuided(model, w, max_t), sched, x, NS, prefix=prefix)
    for cache in (False, True):
        got = ddim_sample(model, sched, x, NS, prefix=prefix, history_guidance=w, kv_cache=cache,
                          history_guidance_max_t=max_t)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    for other in (plain, everywhere):                  # neither the unguided nor the fully guided videos
        assert not torch.allclose(expected[:, K + 1:], other[:, K + 1:], atol=1e-3)


def test_history_guidance_leaves_the_first_frame_and_combines_with_autoguidance():
    model, weak, sched, x = _random_dit(), _weak_dit(), ad_schedule(6, 4, 2), _noise(6)
    plain = ddim_sample(model, sched, x, NS)
    guided = ddim_sample(model, sched, x, NS, history_guidance=3.0)
    torch.testing.assert_close(guided[:, 0], plain[:, 0], rtol=1e-5, atol=1e-5)       # frame 0 has no history
    both = ddim_sample(model, sched, x, NS, history_guidance=3.0, autoguide=weak, autoguide_scale=2.0)
    auto = ddim_sample(model, sched, x, NS, autoguide=weak, autoguide_scale=2.0)
    torch.testing.assert_close(both[:, 0], auto[:, 0], rtol=1e-5, atol=1e-5)          # frame 0: autoguidance only
    expected = ddim_sample(HistoryGuided(model, 3.0), sched, x, NS, autoguide=weak, autoguide_scale=2.0)
    torch.testing.assert_close(both, expected, rtol=1e-5, atol=1e-5)


def test_history_guidance_refuses_what_it_cannot_mean():
    model, sched, x = _random_dit(), ad_schedule(6, 4, 2), _noise(6)
    with pytest.raises(ValueError, match=r"history_guidance must be >= 0.0, got -0.5"):
        ddim_sample(model, sched, x, NS, history_guidance=-0.5)
    with pytest.raises(ValueError, match="history_guidance needs a strictly causal model.*mask='full'"):
        ddim_sample(_random_dit(mask="full"), sched, x, NS, history_guidance=2.0)
    conditional = _random_dit(num_classes=3)
    with pytest.raises(ValueError, match="history_guidance together with classifier-free guidance"):
        ddim_sample(conditional, sched, x, NS, labels=torch.tensor([0, 1]), cfg_scale=2.0, history_guidance=2.0)
    for bad in (0, NS.T + 1, 2.5):
        with pytest.raises(ValueError, match=rf"history_guidance_max_t must be .*\[1, {NS.T}\], got {bad}"):
            ddim_sample(model, sched, x, NS, history_guidance=2.0, history_guidance_max_t=bad)
    with pytest.raises(ValueError, match=r"history_guidance_max_t=500 .* history_guidance is 1 \(none\)"):
        ddim_sample(model, sched, x, NS, history_guidance_max_t=500)


@pytest.mark.parametrize("F,S,s,window,K", [(6, 4, 2, None, 0), (11, 6, 2, 6, 0), (6, 4, 1, None, 2)])
def test_temperature_is_the_sampler_started_from_scaled_noise_after_the_first_frame(F, S, s, window, K):
    model, tau = _random_dit(F=F if window is None else window), 0.7
    sched, x = ad_schedule(F, S, s, window, prefix_frames=K), _noise(F)
    prefix = torch.randn(B, K, L, C, generator=torch.Generator().manual_seed(4)) if K else None
    scaled = x.clone()
    scaled[:, 1:] *= tau                               # the definition: x_T = tau * eps for frames 1 .. F-1
    for cache in (False, True):
        got = ddim_sample(model, sched, x, NS, prefix=prefix, temperature=tau, kv_cache=cache)
        assert torch.equal(got, ddim_sample(model, sched, scaled, NS, prefix=prefix, kv_cache=cache))
    plain = ddim_sample(model, sched, x, NS, prefix=prefix)
    assert torch.equal(ddim_sample(model, sched, x, NS, prefix=prefix, temperature=1.0), plain)
    assert not torch.allclose(got[:, K + 1:], plain[:, K + 1:], atol=1e-3)           # it changes the later frames
    if K == 0:                                         # a strictly causal model: frame 0 is untouched
        torch.testing.assert_close(got[:, 0], plain[:, 0], rtol=1e-5, atol=1e-5)
    else:
        assert torch.equal(got[:, :K], plain[:, :K])   # the given frames stay as given


def test_temperature_refuses_values_outside_its_range():
    model, sched, x = _random_dit(), ad_schedule(6, 4, 2), _noise(6)
    for bad in (0.0, -0.5, 2.5, float("nan")):
        with pytest.raises(ValueError, match=r"temperature must be .*\(0.0, 2.0\]"):
            ddim_sample(model, sched, x, NS, temperature=bad)
    assert torch.equal(x, _noise(6))                   # the caller's noise is never scaled in place
    ddim_sample(model, sched, x, NS, temperature=0.5)
    assert torch.equal(x, _noise(6))


def _gaussian_x0(variance):
    """The exact x0-predictor for data ``N(0, variance)`` in every coordinate: ``E[x0 | x_t] = √ā v x_t / (ā v + 1 − ā)``."""
    abar = torch.as_tensor(NS.alphas_cumprod, dtype=torch.float64)

    def model(x, t):
        a = abar[t].reshape(*t.shape, 1, 1).to(x.dtype)
        return a.sqrt() * variance * x / (a * variance + 1 - a)
    return model


def _gaussian_variance(coef, data_var, S):
    """The variance after the ``S`` steps of one frame when ``x̂0 = g x`` is exact: ``v ← (c_x + c_x0 g)² v + σ²``."""
    v = 1.0
    for k in range(1, S + 1):
        a = coef["a"][k]
        g = a.sqrt() * data_var / (a * data_var + 1 - a)
        v = (coef["c_x"][k] + coef["c_x0"][k] * g) ** 2 * v + coef["sigma"][k] ** 2
    return float(v)


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_eta_steps_follow_their_coefficients_on_gaussian_data(eta):
    """On Gaussian data x̂0 is known in closed form, so the variance after the steps follows from the coefficients
    alone. The sampled variance must land there (65 536 draws) for every frame of an asynchronous schedule; at a
    finite ``S`` every step loses a little variance, more with more η, and more steps bring it back."""
    data_var, S = 0.25, 20
    model, sched = _gaussian_x0(data_var), ad_schedule(4, S, 2)
    coef = ddim_coefficients(sched.template, NS.alphas_cumprod, eta)
    assert torch.equal(coef["sigma"][0], torch.tensor(0.0, dtype=torch.float64))   # k = 0: the identity
    v = _gaussian_variance(coef, data_var, S)
    noise = torch.randn((65536, 4, 1, 1), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    got = ddim_sample(model, sched, noise, NS, eta=eta).var(0).flatten()
    torch.testing.assert_close(got, torch.full_like(got, v), rtol=0.02, atol=0)
    deterministic = _gaussian_variance(ddim_coefficients(sched.template, NS.alphas_cumprod), data_var, S)
    assert v < data_var and (v < deterministic if eta else v == deterministic)
    longer = ad_schedule(1, 200, 0)
    v200 = _gaussian_variance(ddim_coefficients(longer.template, NS.alphas_cumprod, eta), data_var, 200)
    assert v < v200 < data_var and abs(v200 - data_var) < 0.1 * data_var


def test_eta_one_is_the_ddpm_posterior_variance_and_eta_zero_is_the_deterministic_step():
    template = step_template(10)
    c0, c1 = ddim_coefficients(template, NS.alphas_cumprod), ddim_coefficients(template, NS.alphas_cumprod, 1.0)
    a, a_prev = c1["a"][1:], c1["a_prev"][1:]
    posterior = (1 - a_prev) / (1 - a) * (1 - a / a_prev)                   # DDPM's β̃ between the two levels
    torch.testing.assert_close(c1["sigma"][1:] ** 2, posterior, rtol=1e-12, atol=1e-15)
    assert torch.equal(c0["sigma"], torch.zeros_like(c0["sigma"]))
    assert torch.equal(c0["c_x"], (1.0 - c0["a_prev"]).sqrt() / (1.0 - c0["a"]).sqrt())   # the η = 0 formula, bit for bit
    assert bool((c1["c_x"][1:] < c0["c_x"][1:]).all())                      # η keeps less of the estimated noise


@pytest.mark.parametrize("F,S,s,window,K", [(6, 5, 2, None, 0), (11, 6, 2, 6, 0), (9, 6, 1, 6, 2)])
def test_eta_with_and_without_the_kv_cache_and_only_the_scheduled_frames_get_fresh_noise(F, S, s, window, K):
    model = _random_dit(context=1)
    sched, x = ad_schedule(F, S, s, window, prefix_frames=K), _noise(F)
    prefix = torch.randn(B, K, L, C, generator=torch.Generator().manual_seed(4)) if K else None
    eps = torch.randn((B, F, S, L, C), generator=torch.Generator().manual_seed(5))
    runs = [ddim_sample(model, sched, x, NS, prefix=prefix, eta=0.7, step_eps=eps, kv_cache=c) for c in (False, True)]
    torch.testing.assert_close(runs[1], runs[0], rtol=1e-5, atol=1e-5)
    plain = ddim_sample(model, sched, x, NS, prefix=prefix)
    assert not torch.allclose(runs[0][:, K:], plain[:, K:], atol=1e-3)
    if K:
        assert torch.equal(runs[0][:, :K], plain[:, :K])                   # given frames never get noise
    # the noise is indexed by (video, frame, step index): the draws of one video change only that video
    other = eps.clone()
    other[1] = torch.randn(other[1].shape, generator=torch.Generator().manual_seed(6))
    again = ddim_sample(model, sched, x, NS, prefix=prefix, eta=0.7, step_eps=other, kv_cache=False)
    assert torch.equal(again[0], runs[0][0]) and not torch.allclose(again[1], runs[0][1], atol=1e-3)
    # frames that have not started keep their noise exactly while the others take stochastic steps
    seen = []
    ddim_sample(model, sched, x, NS, prefix=prefix, eta=0.7, step_eps=eps, kv_cache=False,
                callback=lambda i, state, x0: seen.append(state.clone()))
    for i, state in enumerate(seen):
        waiting = torch.tensor(sched.step_index[i]) == 0
        waiting[:K] = False
        assert torch.equal(state[:, waiting], x[:, waiting])


def test_eta_refuses_what_it_cannot_mean():
    model, sched, x = _random_dit(), ad_schedule(6, 4, 2), _noise(6)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"eta must be .*\[0.0, 1.0\]"):
            ddim_sample(model, sched, x, NS, eta=bad)
    with pytest.raises(ValueError, match=r"eta=0.5 .* needs keep='exact'"):
        ddim_sample(model, sched, x, NS, eta=0.5, keep="official")
    with pytest.raises(ValueError, match=r"step_eps must be a tensor of shape \(2, 6, 4, 3, 2\)"):
        ddim_sample(model, sched, x, NS, eta=0.5, step_eps=torch.zeros(2, 6, 5, 3, 2))
    with pytest.raises(ValueError, match="step_eps was given, but eta is 0"):
        ddim_sample(model, sched, x, NS, step_eps=torch.zeros(2, 6, 4, 3, 2))
    with pytest.raises(ValueError, match="needs the fresh noise z"):
        ddim_step(x, x, torch.tensor([1] * 6), ddim_coefficients(step_template(4), NS.alphas_cumprod, 0.5))
