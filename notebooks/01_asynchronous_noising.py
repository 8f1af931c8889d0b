# %% [markdown]
# # 01 · Asynchronous noising: one noise level per frame
#
# A video diffusion model usually noises a whole clip at once: one timestep `t` for all of its frames. AR-Diffusion
# gives **every frame its own timestep** and asks only that the timesteps never decrease along the clip:
#
# > "earlier frames remain clearer than subsequent ones" — AR-Diffusion, abstract
#
# This notebook builds that forward process from scratch and checks it against `ardiff_edu.noise`:
# the β schedule and ᾱ (§1), one diffusion step per frame (§2), three ways to choose the per-frame levels (§3),
# why the earlier frames must be the cleaner ones (§4), and what the network is asked to predict (§5). Two exercises
# close it: write the per-frame forward process yourself, and find the timestep at which a frame is half noise.
#
# Where we describe the official code, the paths are those of `iva-mzsun/AR-Diffusion` at commit `7a37b94`.
#
# Vocabulary: `T` training timesteps (1000) · `F` frames · clips are `(B, F, ...)` and their timesteps `(B, F)`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu.noise import NoiseSchedule, q_sample
from ardiff_edu.figures import demo_clip
from ardiff_edu.figures import draw_clip
from ardiff_edu.fopp import count_monotone_sequences, sample_timesteps
from ardiff_edu.utils import seed_all

seed_all(0)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})


# %% [markdown]
# ## 1. The noise schedule: β, ᾱ and the signal-to-noise ratio
#
# Every final config of the official code (`configs/*/ardiff/diff_ardiff_vtattn_x0pred_nvae_midt.yaml`) sets
# `linear_start: 0.0001`, `linear_end: 0.02` and `timesteps: 1000`, and `make_beta_schedule` in
# `src/ardiff/modules/utils.py` turns them into LDM's "linear" schedule: `β_t = linspace(√1e-4, √0.02, T)_t²`.
#
# "Linear" is linear in √β, not in β. The quantity that matters is the cumulative product ᾱ_t: after `t + 1`
# steps a frame keeps `√ᾱ_t` of its signal and has `√(1 − ᾱ_t)` of unit noise. We compute it in float64, because
# it is a product of a thousand factors close to 1. The numbers below show one consequence: even the noisiest level,
# `t = 999`, keeps `√ᾱ_999 ≈ 0.027` of the signal (the terminal SNR is not zero).

# %%
T = 1000
# $\beta_t = \big(\mathrm{linspace}(\sqrt{10^{-4}}, \sqrt{0.02}, T)\big)_t^2$
betas = np.linspace(math.sqrt(1e-4), math.sqrt(0.02), T) ** 2
# $\bar\alpha_t = \prod_{s=0}^{t} (1 - \beta_s)$
abar = np.cumprod(1.0 - betas)

sched = NoiseSchedule()   # the package's version: T=1000, linear, 1e-4 -> 0.02
assert sched.alphas_cumprod.dtype == torch.float64
assert np.allclose(abar, sched.alphas_cumprod.numpy(), rtol=1e-12, atol=0)
print(f"abar_0 = {abar[0]:.4f}   abar_1 = {abar[1]:.5f}   abar_999 = {abar[999]:.3e}   "
      f"sqrt(abar_999) = {math.sqrt(abar[999]):.3f}")
assert round(abar[0], 4) == 0.9999 and round(abar[1], 5) == 0.99980
assert round(abar[999], 6) == 0.000733 and round(math.sqrt(abar[999]), 3) == 0.027

# %% [markdown]
# How much signal is left at a few timesteps: `√ᾱ_t` is the weight of the clean frame, `√(1 − ᾱ_t)` the weight of
# the noise, and SNR_t = ᾱ_t / (1 − ᾱ_t).

# %%
print(" t     sqrt(abar)  sqrt(1-abar)   SNR")
for t in (0, 100, 250, 500, 750, 999):
    a = sched.alphas_cumprod[t].item()
    print(f"{t:>3}   {math.sqrt(a):10.3f}  {math.sqrt(1 - a):12.3f}   {a / (1 - a):9.3g}")
snr = sched.snr.numpy()
assert np.all(np.diff(snr) < 0)                       # every step removes signal
assert snr[500] < 1 < snr[250]                        # signal and noise break even between t=250 and t=500

# %% [markdown]
# The cosine schedule of Nichol & Dhariwal (an option in the official code, unused in its final configs) keeps more
# signal in the middle and goes much closer to pure noise at the end:

# %%
cosine = NoiseSchedule(kind="cosine")
fig, axes = plt.subplots(1, 2, figsize=(8, 2.6))
for s, name in ((sched, "linear (official configs)"), (cosine, "cosine")):
    axes[0].plot(s.alphas_cumprod.numpy(), label=name)
    axes[1].semilogy(s.snr.numpy(), label=name)
axes[0].set(xlabel="t", ylabel="ᾱ_t", title="ᾱ_t: the signal that is left")
axes[1].set(xlabel="t", ylabel="SNR_t = ᾱ/(1−ᾱ)", title="signal-to-noise ratio (log scale)")
axes[0].legend(fontsize=9)
fig.suptitle("linear vs cosine β schedule, T = 1000", fontsize=11)
fig.tight_layout()
plt.show()
assert cosine.alphas_cumprod[500] > sched.alphas_cumprod[500]
assert cosine.alphas_cumprod[999] < 1e-6 < sched.alphas_cumprod[999]

# %% [markdown]
# ## 2. One diffusion step per frame
#
# The forward process is the usual one, applied frame by frame with each frame's own timestep `t_f`:
#
# ```
# x_t[f] = √ᾱ_{t_f} · x0[f] + √(1 − ᾱ_{t_f}) · ε[f],      ε ~ N(0, I), drawn independently for every element
# ```
#
# The official code does exactly this with a `(B, F)` tensor of timesteps (`q_sample` in
# `src/ardiff/modules/diffusion.py`, fed by `BaseModel._generate_noise_levels` in `src/ardiff/base.py`). With a clip `x0` of shape `(B, F, C, H, W)` and timesteps `t` of shape `(B, F)`, gather `ᾱ[t]` (shape `(B, F)`)
# and broadcast it over the trailing dimensions. From scratch:

# %%
clip = demo_clip(8, size=16)                  # (F, 3, H, W) in [-1, 1]: a square sliding over a changing colour
x0 = clip[None]                               # (B=1, F=8, 3, 16, 16)
t = torch.tensor([[0, 50, 100, 200, 300, 450, 600, 999]])
eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))

abar_t = sched.alphas_cumprod[t]              # (B, F), float64
coef = abar_t.reshape(*t.shape, 1, 1, 1)      # (B, F, 1, 1, 1): one coefficient per frame
a, b = coef.sqrt().float(), (1 - coef).sqrt().float()   # computed in float64, cast to the clip's dtype
# $x_t^f = \sqrt{\bar\alpha_{t_f}}\,x_0^f + \sqrt{1-\bar\alpha_{t_f}}\,\epsilon^f$
x_t = a * x0 + b * eps

assert torch.equal(x_t, q_sample(x0, t, eps))               # the package's per-frame q_sample
assert torch.equal(x_t, sched.q_sample(x0, t, eps))
print("from-scratch per-frame noising == ardiff_edu.noise.q_sample")

fig, ax = plt.subplots(figsize=(7, 1.3))
draw_clip(ax, x_t[0], [f"t={int(v)}" for v in t[0]], "one clip, one noise level per frame")
plt.show()

# %% [markdown]
# Each frame is noised independently of the others: changing frame 7's timestep leaves frames 0–6 untouched, and
# frame 0 at `t = 0` is the clean frame up to noise of standard deviation `√(1 − 0.9999) = 0.01`.

# %%
t2 = t.clone()
t2[0, 7] = 10
assert torch.equal(q_sample(x0, t2, eps)[:, :7], x_t[:, :7])
assert (x_t[0, 0] - clip[0]).abs().max().item() < 0.05
print(f"frame 0 at t=0: max |x_t - x0| = {(x_t[0, 0] - clip[0]).abs().max().item():.3f}")

# %% [markdown]
# The statistics of every frame follow its own `t`: with a constant frame `x0 = 0.5`, frame `f` has mean
# `0.5·√ᾱ_{t_f}` and standard deviation `√(1 − ᾱ_{t_f})`.

# %%
flat = torch.full((1, 8, 1, 64, 64), 0.5)
noisy = q_sample(flat, t, generator=torch.Generator().manual_seed(2)).double()
print(" f    t   mean (expected)   std (expected)")
for f in range(8):
    a = sched.alphas_cumprod[t[0, f]].item()
    m, s = noisy[0, f].mean().item(), noisy[0, f].std().item()
    print(f"{f:>2} {int(t[0, f]):>4}   {m:6.3f} ({0.5 * math.sqrt(a):6.3f})   {s:6.3f} ({math.sqrt(1 - a):6.3f})")
    assert abs(m - 0.5 * math.sqrt(a)) < 0.05 and abs(s - math.sqrt(1 - a)) < 0.05

# %% [markdown]
# ## 3. Three ways to choose the noise levels
#
# The training recipe decides how `t` is drawn for a clip (the official option `noise_level`, read in
# `BaseModel._generate_noise_levels`, `src/ardiff/base.py`). Three families:
#
# * **synchronous** (`full_sequence`): one `t` shared by every frame, the usual video diffusion;
# * **independent** (`independent`, Diffusion Forcing): every frame its own uniform `t`;
# * **non-decreasing** (`fopp`, AR-Diffusion): `t_0 ≤ t_1 ≤ … ≤ t_{F−1}`; notebook 02 shows how FoPP draws them.

# %%
F = 8
gen = torch.Generator().manual_seed(15)   # a seed whose synchronous draw is not pure noise, for the picture
draws = {kind: sample_timesteps(kind, 1, F, T, gen)[0] for kind in ("full_sequence", "independent", "fopp")}
titles = {"full_sequence": "synchronous (full_sequence)", "independent": "independent (Diffusion Forcing)",
          "fopp": "non-decreasing (FoPP, AR-Diffusion)"}
fig, axes = plt.subplots(3, 1, figsize=(7.5, 4.6))
for ax, (kind, tk) in zip(axes, draws.items()):
    noisy = q_sample(x0, tk[None], eps)
    draw_clip(ax, noisy[0], [f"t={int(v)}" for v in tk], titles[kind])
fig.tight_layout()
plt.show()
for kind, tk in draws.items():
    print(f"{kind:<14} t = {tk.tolist()}")

assert len(set(draws["full_sequence"].tolist())) == 1
assert (draws["fopp"].diff() >= 0).all()

# %% [markdown]
# Independent levels are almost never non-decreasing by chance. For `F` frames the chance is the number of
# non-decreasing sequences over the number of all sequences, `C(T+F−1, F) / T^F ≈ 1/F!`:

# %%
p_monotone = count_monotone_sequences(T, F) / T**F
many = sample_timesteps("independent", 20_000, F, T, torch.Generator().manual_seed(4))
hits = int((many.diff(dim=1) >= 0).all(dim=1).sum())
print(f"P(independent draw is non-decreasing), F={F}: {p_monotone:.2e}  (1/F! = {1 / math.factorial(F):.2e}); "
      f"in 20,000 draws: {hits}")
assert abs(p_monotone * math.factorial(F) - 1) < 0.05
assert hits <= 3

# %% [markdown]
# ## 4. Why earlier frames must be cleaner
#
# AR-Diffusion generates a video with a causal network (frame `f` sees frames `≤ f`, notebook 06) and an
# asynchronous schedule in which frame 0 starts denoising first and every later frame follows `s` steps behind
# (notebook 03). At every network call the earlier frames are therefore *at least as clean* as the later ones.
# Training with non-decreasing timesteps shows the network exactly that situation, and only that.
#
# A non-decreasing `t` means a non-increasing signal-to-noise ratio along the clip:

# %%
t_fopp = sample_timesteps("fopp", 1000, 16, T, torch.Generator().manual_seed(5))
snr_frames = sched.snr[t_fopp]                                  # (B, F)
assert (snr_frames.diff(dim=1) <= 0).all()
t_ind = sample_timesteps("independent", 1000, 16, T, torch.Generator().manual_seed(5))
frac = (sched.snr[t_ind].diff(dim=1) <= 0).all(dim=1).double().mean().item()
print(f"clips whose SNR never increases along the frames: FoPP 100%, independent {100 * frac:.1f}%")
assert frac == 0.0

# %% [markdown]
# Why would a cleaner past help at all? Because neighbouring frames are similar. Take the demo clip and ask how to
# best guess clean frame `f`:
#
# * from its own noisy version: the unbiased guess `x_t / √ᾱ_t` has mean squared error `(1 − ᾱ_t) / ᾱ_t = 1/SNR_t`;
# * from the **clean previous frame**: copy it, with error `mean((x0[f] − x0[f−1])²)`, whatever `t` is.
#
# Once the frame is noisier than a small `t*`, the clean previous frame is the better witness. A noisy *past*
# (independent noise) would throw that information away.

# %%
copy_err = ((clip[1:] - clip[:-1]) ** 2).mean(dim=(1, 2, 3)).double()   # (F-1,): copying the previous frame
inv_snr = (1 / sched.snr).numpy()                                       # error of x_t / sqrt(abar_t)
crossing = [int(np.searchsorted(inv_snr, e)) for e in copy_err.tolist()]
print("copy-previous error per frame:", [round(e, 3) for e in copy_err.tolist()])
print("t* (own noisy frame worse than the clean previous one beyond):", crossing)
assert all(100 < c < 300 for c in crossing)

fig, ax = plt.subplots(figsize=(6.5, 2.8))
ax.semilogy(inv_snr, label="own noisy frame: 1/SNR_t")
ax.axhline(copy_err.mean().item(), color="tab:orange", label="clean previous frame (mean)")
ax.set(xlabel="t of frame f", ylabel="mean squared error", ylim=(1e-4, 1e4),
       title="guessing clean frame f: own noisy frame vs clean previous frame")
ax.legend(fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. What the network predicts: x0, ε or v
#
# The official final configs train the network to predict the clean latent (`parameterization: x0`); some of the
# exploratory configs under `configs/skytimelapse/gen_model/` predict ε or v instead. The loss is the plain mean squared
# error between prediction and target, with no weighting by timestep (`p_losses` in `src/ardiff/modules/diffusion.py`).
#
# The three targets carry the same information given `x_t` and `t`; each is a per-frame linear combination of the
# other two:
#
# ```
# x_t = √ᾱ·x0 + √(1−ᾱ)·ε        v = √ᾱ·ε − √(1−ᾱ)·x0
# x0 = (x_t − √(1−ᾱ)·ε) / √ᾱ     x0 = √ᾱ·x_t − √(1−ᾱ)·v      ε = √(1−ᾱ)·x_t + √ᾱ·v
# ```
#
# The samplers (notebook 08) use these conversions, frame by frame, with each frame's own `t`:

# %%
x0d, epsd = x0.double(), eps.double()
xt = sched.q_sample(x0d, t, epsd)
v = sched.v_from_x0_eps(x0d, epsd, t)
assert torch.allclose(sched.x0_from_eps(xt, t, epsd), x0d, atol=1e-6)
assert torch.allclose(sched.eps_from_x0(xt, t, x0d), epsd, atol=1e-6)
assert torch.allclose(sched.x0_from_v(xt, t, v), x0d, atol=1e-9)
abar = sched.alphas_cumprod[t][..., None, None, None]                    # ᾱ per frame, broadcast over pixels
assert torch.allclose((1 - abar).sqrt() * xt + abar.sqrt() * v, epsd, atol=1e-9)  # ε = √(1−ᾱ)·x_t + √ᾱ·v
print("x0 <-> eps <-> v conversions round-trip for every frame's own t")

# %% [markdown]
# One reason to prefer x0 or v over ε at the noisy end: recovering x0 from a predicted ε divides by `√ᾱ_t`, which at
# `t = 999` multiplies any error in ε by `1/0.027 ≈ 37`.

# %%
amplification = 1 / sched.sqrt_alphas_cumprod[999].item() * sched.sqrt_one_minus_alphas_cumprod[999].item()
print(f"an error in eps at t=999 reaches x0 multiplied by {amplification:.1f}")
assert 36 < amplification < 38

# %% [markdown]
# ## Summary
#
# * One schedule (`NoiseSchedule`: linear β, ᾱ in float64, ᾱ_999 ≈ 7.3e-4) and one per-frame gather turn the
#   usual forward process into an asynchronous one: `q_sample(x0 (B, F, ...), t (B, F))`.
# * Synchronous noise is the special case of equal timesteps; independent noise is almost never ordered; AR-Diffusion
#   trains only on **non-decreasing** timesteps, the situation its causal, asynchronous sampler creates.
# * Next, notebook 02: how many non-decreasing sequences there are, and how FoPP draws them.

# %% [markdown]
# ## Exercises
#
# Each exercise has a checker from `ardiff_edu.exercises.nb01` that answers in one line: right, or what is wrong and
# where. The worked solution follows in a collapsed cell (click to expand it); try first.
#
# ### Exercise 1
#
# Write `my_q_sample(x0, t, eps)`: the per-frame forward process for a clip of **any** shape `(B, F, ...)` (pixels
# `(B, F, 3, H, W)`, latents `(B, F, L, C)`, or a single number per frame `(B, F)`), with timesteps `t` of shape
# `(B, F)`. Use the table `NoiseSchedule().alphas_cumprod` (float64), not `q_sample`, and return a tensor of the
# clip's shape and dtype. Then noise the demo clip with the staircase `t = [0, 125, 250, …, 875]` and look at it.

# %%
from ardiff_edu.exercises.nb01 import check_half_signal, check_q_sample  # noqa: E402


def my_q_sample(x0, t, eps):
    """x0 (B, F, ...), t (B, F) int64, eps like x0 -> x_t like x0, frame f of clip b noised to level t[b, f]."""
    raise NotImplementedError("replace this line with your code")


check_q_sample(my_q_sample)

# %% tags=["solution"] jupyter={"source_hidden": true}
alphas_cumprod = NoiseSchedule().alphas_cumprod                          # float64 [T]


def my_q_sample(x0, t, eps):
    abar = alphas_cumprod[t]                                              # (B, F): one ᾱ per frame
    abar = abar.reshape(*t.shape, *([1] * (x0.ndim - 2)))                 # (B, F, 1, ..., 1): broadcast over the rest
    return (abar.sqrt() * x0 + (1 - abar).sqrt() * eps).to(x0.dtype)


stair = torch.arange(8)[None] * 125                                       # (1, 8): 0, 125, ..., 875
fig, ax = plt.subplots(figsize=(7.5, 1.5))
draw_clip(ax, my_q_sample(x0, stair, eps)[0], [f"t={int(v)}" for v in stair[0]],
          "my_q_sample: the demo clip on a staircase of timesteps")
plt.show()
result = check_q_sample(my_q_sample)
print(result)
assert result

# %% [markdown]
# ### Exercise 2
#
# A frame is *half signal, half noise* when both parts carry the same variance, `ᾱ_t = 1 − ᾱ_t`, that is
# `SNR_t = 1`. Write `half_signal_t(betas)`: given a β schedule (a float64 numpy array of length `T`) and nothing
# else, return the first timestep at which the SNR drops below 1. Compare the linear schedule with the cosine one
# (`linear_betas(1000)`, `cosine_betas(1000)` from `ardiff_edu.noise`, as numpy arrays), and look at the demo clip
# noised to each schedule's half-signal timestep: do the two pictures differ?

# %%
def half_signal_t(betas):
    """The first t with SNR_t = ᾱ_t / (1 − ᾱ_t) < 1, for a float64 numpy array of β's."""
    raise NotImplementedError("replace this line with your code")


check_half_signal(half_signal_t)

# %% tags=["solution"] jupyter={"source_hidden": true}
from ardiff_edu.noise import cosine_betas, linear_betas  # noqa: E402


def half_signal_t(betas):
    abar = np.cumprod(1.0 - betas)                                        # ᾱ_t = Π_{s <= t} (1 − β_s)
    return int(np.argmax(abar / (1.0 - abar) < 1.0))                      # the first t with SNR_t < 1


half = {name: half_signal_t(make(1000).numpy()) for name, make in (("linear", linear_betas), ("cosine", cosine_betas))}
print("first t with SNR < 1:", half)
fig, axes = plt.subplots(2, 1, figsize=(7.5, 3.0))
for ax, (kind, t_half) in zip(axes, half.items()):
    noisy = NoiseSchedule(kind=kind).q_sample(x0, torch.full((1, 8), t_half), eps)
    draw_clip(ax, noisy[0], None, f"{kind} schedule, every frame at t = {t_half} (SNR just below 1)")
fig.tight_layout()
plt.show()
# the same SNR means the same mixture: the two schedules reach it at different t, and the pictures match
abar_lin, abar_cos = (NoiseSchedule(kind=k).alphas_cumprod[half[k]].item() for k in ("linear", "cosine"))
assert half["linear"] < half["cosine"] and abs(abar_lin - abar_cos) < 0.01
result = check_half_signal(half_signal_t)
print(result)
assert result
