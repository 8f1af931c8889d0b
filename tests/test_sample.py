"""ardiff_edu.sample: DDIM over any schedule, keep-mask, windows, prefix, CFG, generate() and the CLI."""

import types

import numpy as np
import pytest
import torch
from torch import nn

from ardiff_edu.diffusion import NoiseSchedule
from ardiff_edu.sample import ddim_coefficients, ddim_sample, generate, main, make_schedule, video_grid
from ardiff_edu.schedules import ad_schedule, ddim_timesteps, step_template

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
    with pytest.raises(ValueError, match="template"):
        ddim_coefficients([999, 1500], abar)


@pytest.mark.parametrize("F,S,s,window,overflow", [(5, 4, 1, None, "raise"), (7, 4, 1, 4, "raise"),
                                                   (7, 6, 1, 3, "wait"), (6, 5, 1, 4, "drop")])
def test_only_scheduled_frames_change_and_the_network_sees_the_window(F, S, s, window, overflow):
    sched = ad_schedule(F, S, s, window, overflow=overflow)
    seen, states = [], []
    model = Wobbly()
    fwd = model.forward
    model.forward = lambda x, t, labels=None: (seen.append((x.shape[1], t[0].tolist())), fwd(x, t))[1]
    x = _noise(F)
    ddim_sample(model, sched, x, NS, callback=lambda i, xi: states.append((i, xi.clone())))
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


def test_prefix_schedule_shifts_the_staircase():
    F, S, s, p = 7, 5, 2, 2
    sched = make_schedule(F, S, s, prefix_frames=p)
    plain = ad_schedule(F - p, S, s)
    assert np.array_equal(sched.step_index[:, p:], plain.step_index)      # generated frames: the usual staircase
    assert (sched.step_index[:, :p] == S).all() and not sched.update_mask[:, :p].any()
    assert sched.nfe == plain.nfe == S + (F - p - 1) * s
    long = make_schedule(12, 6, 2, window=5, prefix_frames=2)                          # sliding: p context + (W - p) frames
    assert (long.windows[:, 1] - long.windows[:, 0] == 5).all() and long.windows[-1, 1] == 12
    assert (long.step_index[np.arange(long.num_iterations), long.windows[:, 0]] == 6).all()  # context is finished
    with pytest.raises(ValueError, match="unsafe"):
        make_schedule(12, 6, 1, window=5, prefix_frames=2)                 # s * (W - p) = 3 < S
    with pytest.raises(ValueError, match="prefix_frames"):
        make_schedule(4, 5, 1, prefix_frames=4)


@pytest.mark.parametrize("window", [None, 5])
def test_prefix_frames_stay_fixed_and_the_rest_is_recovered(window):
    F, S, s, p = 9, 5, 2, 2
    target = torch.randn((B, F, L, C), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    sched = make_schedule(F, S, s, window, prefix_frames=p)
    model = Oracle(target, sched)
    out = ddim_sample(model, sched, _noise(F, dtype=torch.float64), NS, prefix=target[:, :p])
    assert torch.equal(out[:, :p], target[:, :p])
    assert (out - target).abs().max() < 0.05
    assert all((t[:, 0] == 1).all() for _, t in model.seen[:3])         # labelled t = 1 while in view
    with pytest.raises(ValueError, match="prefix must be"):
        ddim_sample(model, sched, _noise(F), NS, prefix=target[:, :F])
    with pytest.raises(ValueError, match="updates some of the 3 prefix frames"):
        ddim_sample(model, sched, _noise(F), NS, prefix=target[:, :3])


class ClassConstant(nn.Module):
    """Predicts x0 = a constant per label (label K is the null label); counts its calls and batch sizes."""

    prediction, num_classes = "x0", 3

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


def test_bad_inputs_raise():
    sched = ad_schedule(4, 5, 1)
    with pytest.raises(ValueError, match="num_frames=4"):
        ddim_sample(Wobbly(), sched, _noise(5), NS)
    with pytest.raises(ValueError, match="noise must be"):
        ddim_sample(Wobbly(), sched, torch.zeros(4, 5), NS)
    with pytest.raises(ValueError, match="cfg_scale"):
        ddim_sample(Wobbly(), sched, _noise(4), NS, cfg_scale=-1.0)


def test_video_grid():
    v = np.zeros((3, 2, 4, 5, 3), np.uint8)
    v[1] = 7
    out = video_grid(v)
    assert out.shape == (2, 4, 17, 3) and (out[:, :, 5] == 128).all() and (out[:, :, 6:11] == 7).all()
    assert video_grid(v, scale=2).shape == (2, 8, 32, 3)


# ----------------------------------------------------------------------------------------------------------------
# generate() and the CLI with a real (tiny, untrained) DiT
# ----------------------------------------------------------------------------------------------------------------
def _tiny_pipeline():
    from ardiff_edu.models import DiT

    torch.manual_seed(0)
    model = DiT(token_dim=C, num_tokens=4, max_frames=4, width=16, depth=1, heads=2)
    for prm in model.parameters():                              # adaLN-Zero starts at 0: perturb to get an output
        prm.data.add_(0.05 * torch.randn_like(prm))

    def decode(z):  # 4 tokens x 2 channels -> a 2x2 image, 3 channels
        Bz, Fz = z.shape[:2]
        img = torch.tanh(z[..., :1]).reshape(Bz, Fz, 1, 2, 2)
        return img.expand(Bz, Fz, 3, 2, 2)

    def encode(v):
        return v[:, :, 0].reshape(*v.shape[:2], 4, 1).repeat(1, 1, 1, C).clamp(-0.99, 0.99).atanh()

    return types.SimpleNamespace(model=model, noise_schedule=NS, config={"num_frames": 4}, decode_video=decode,
                                 encode_video=encode)


def test_generate_is_deterministic_and_slides_the_window():
    pipe = _tiny_pipeline()
    a = generate(pipe, 2, 6, s=2, num_steps=4, seed=3)
    assert a.dtype == np.uint8 and a.shape == (2, 6, 2, 2, 3)
    assert np.array_equal(a, generate(pipe, 2, 6, s=2, num_steps=4, seed=3))
    assert not np.array_equal(a, generate(pipe, 2, 6, s=2, num_steps=4, seed=4))
    with pytest.raises(ValueError, match="unsafe"):             # window = training length 4, s * 4 < 8
        generate(pipe, 1, 6, s=1, num_steps=8)
    assert generate(pipe, 1, 6, s=1, num_steps=8, overflow="wait").shape == (1, 6, 2, 2, 3)
    given = np.full((2, 2, 2, 3), 200, np.uint8)
    pred = generate(pipe, 2, 6, s=2, num_steps=4, prefix_frames=given)
    assert np.abs(pred[:, :2].astype(int) - 200).max() <= 1     # the prefix comes back (decoded)
    with pytest.raises(ValueError, match="num_videos"):
        generate(pipe, 0, 6, s=2)


def test_cli_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        main(["--out", str(tmp_path / "x.avi"), "--checkpoint", str(tmp_path / "none.pt")])
    with pytest.raises(ValueError, match="does not exist"):
        main(["--out", str(tmp_path / "x.npy"), "--checkpoint", str(tmp_path / "none.pt")])


def test_cli_writes_npy_gif_and_mp4(tiny_checkpoint, tmp_path, capsys):
    from ardiff_edu.video import read_video

    common = ["--checkpoint", str(tiny_checkpoint), "--num-steps", "4", "--seed", "1", "--no-progress"]
    assert main(common + ["--num-frames", "6", "--s", "1", "--num-videos", "2", "--out", str(tmp_path / "a.npy")]) == 0
    videos = np.load(tmp_path / "a.npy")
    assert videos.dtype == np.uint8 and videos.shape == (2, 6, 32, 32, 3)
    main(common + ["--num-frames", "6", "--s", "1", "--num-videos", "2", "--out", str(tmp_path / "b.npy")])
    assert np.array_equal(np.load(tmp_path / "b.npy"), videos)                   # same seed, same videos
    # sliding window (training length 8), video prediction from 2 given frames, gif and mp4
    assert main(common + ["--num-frames", "10", "--s", "2", "--num-videos", "2", "--prefix-frames", "2",
                          "--scale", "1", "--out", str(tmp_path / "c.gif")]) == 0
    assert read_video(tmp_path / "c.gif").shape == (10, 32, 65, 3)
    assert main(common + ["--num-frames", "4", "--s", "0", "--num-videos", "1", "--out", str(tmp_path / "d.mp4")]) == 0
    assert read_video(tmp_path / "d.mp4").shape[0] == 4
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unsafe"):                              # s * window < S for a long video
        main(common + ["--num-frames", "10", "--s", "0", "--out", str(tmp_path / "e.npy")])
    with pytest.raises(ValueError, match="--cfg-scale"):
        main(common + ["--s", "1", "--cfg-scale", "2", "--out", str(tmp_path / "e.npy")])


def test_bench_sample_prints_seconds_per_frame_and_nfe(tmp_path, capsys):
    from ardiff_edu import bench

    assert bench.BENCHMARKS["sample"] is bench.bench_sample
    bench.bench_sample(num_videos=1, num_frames=3, num_steps=2, s_values=(0, 1, None), checkpoint=tmp_path / "no.pt")
    lines = capsys.readouterr().out.splitlines()
    assert "random DiT" in lines[0] and len(lines) == 4
    import re

    found = [re.match(r"\s*s=(\d+)\s+NFE=\s*(\d+)\s", line).groups() for line in lines[1:]]
    assert found == [("0", "2"), ("1", "4"), ("2", "6")]
    assert lines[1].endswith("1.00x s=0")


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


def test_sampler_options_prefix_timestep_prediction_override_and_label_checks():
    F, S, p = 5, 3, 2
    sched = make_schedule(F, S, 1, prefix_frames=p)
    target = torch.randn((B, F, L, C), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    model = Oracle(target, sched)
    ddim_sample(model, sched, _noise(F, dtype=torch.float64), NS, prefix=target[:, :p], prefix_timestep=7)
    assert all((t[:, :p] == 7).all() for _, t in model.seen)
    eps_model = Oracle(target, sched, "eps")
    eps_model.prediction = "x0"                                   # wrong attribute, overridden by the argument
    out = ddim_sample(eps_model, sched, _noise(F, dtype=torch.float64), NS, prefix=target[:, :p], prediction="eps")
    assert (out - target).abs().max() < 0.05
    with pytest.raises(ValueError, match="one label per video"):
        ddim_sample(ClassConstant(), sched, _noise(F), NS, labels=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="class-conditional"):
        ddim_sample(Wobbly(), sched, _noise(F), NS, labels=torch.tensor([0, 1]), cfg_scale=2.0)


def test_generate_batches_and_returns_latents_and_save_videos_pads_mp4(tmp_path):
    from ardiff_edu.sample import save_videos
    from ardiff_edu.video import read_video

    pipe = _tiny_pipeline()
    videos, latents = generate(pipe, 3, 4, s=1, num_steps=3, seed=2, return_latents=True)
    assert latents.shape == (3, 4, 4, C) and np.array_equal(videos, generate(pipe, 3, 4, s=1, num_steps=3, seed=2,
                                                                                batch_size=2))
    save_videos(tmp_path / "v.mp4", videos[:2], fps=4)            # 2x(2+1+2) = 5 px wide: padded to even sizes
    assert read_video(tmp_path / "v.mp4").shape == (4, 2, 6, 3)
    save_videos(tmp_path / "v.npy", videos)
    assert np.array_equal(np.load(tmp_path / "v.npy"), videos)
    with pytest.raises(ValueError, match="videos must be uint8"):
        save_videos(tmp_path / "w.gif", videos.astype(np.float32))
