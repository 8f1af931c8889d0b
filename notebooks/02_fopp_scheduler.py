# %% [markdown]
# # 02 · FoPP: drawing non-decreasing timesteps for training
#
# Notebook 01 gave every frame its own noise level and argued that the levels should never decrease along the clip.
# During training, every clip of every batch needs such a sequence `t_0 ≤ t_1 ≤ … ≤ t_{F−1}`. How should it be
# drawn? AR-Diffusion's answer is **FoPP**, *Frame-oriented Probability Propagation*. This notebook
#
# 1. counts the sequences (10^48 without the constraint, 5.39·10^34 with it),
# 2. builds the two dynamic-programming count tables FoPP rests on,
# 3. shows why sampling *uniformly* over sequences is not what we want,
# 4. writes FoPP step by step for one clip and proves it equals `ardiff_edu.fopp` exactly,
# 5. compares the per-frame timestep distributions of four samplers, exactly and against the per-sample loop that
#    mirrors the official code,
# 6. records a divergence between the paper and its code,
# 7. and shows how the package draws a whole batch at once.
#
# Two exercises close it: count the sequences with the DP yourself, and write FoPP's backward pass.
#
# Where we describe the official code, the paths are those of `iva-mzsun/AR-Diffusion` at commit `7a37b94`; the
# sampler lives in `src/ardiff/modules/timestep_sampler.py` (class `Incremental_Timesteps`).
#
# Vocabulary: `T` training timesteps (1000) · `F` frames (16 in the official configs) · `t_f` the timestep of frame `f`.

# %%
import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu.fopp import (KINDS, count_monotone_sequences, end_counts, exact_marginals, first_frame_timesteps,
                             fopp_reference, sample_timesteps, sequence_probability, start_counts)
from ardiff_edu.figures import integer_ticks
from ardiff_edu.utils import seed_all

seed_all(0)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})
T, F = 1000, 16

# %% [markdown]
# ## 1. Counting sequences
#
# With `T = 1000` levels and `F = 16` frames, independent per-frame levels can be combined in `T^F = 10^48` ways.
# Requiring `t_0 ≤ t_1 ≤ … ≤ t_{F−1}` leaves `C(T+F−1, F)` of them. Why `C(T+F−1, F)`? A non-decreasing sequence is fully described by *how many* frames take each of the `T` values
# (a multiset of size `F` from `T` values), and "stars and bars" counts those: arrange `F` stars and `T − 1` bars.
# Check it by brute force on a tiny case, then compute it at the official size:

# %%
def monotone(seq):
    return all(a <= b for a, b in zip(seq, seq[1:]))


small_T, small_F = 5, 3
every = list(itertools.product(range(small_T), repeat=small_F))
ordered = [s for s in every if monotone(s)]
print(f"T={small_T}, F={small_F}: {len(every)} sequences, {len(ordered)} non-decreasing, "
      f"C(T+F-1, F) = {math.comb(small_T + small_F - 1, small_F)}")
assert len(ordered) == count_monotone_sequences(small_T, small_F) == math.comb(7, 3) == 35

n_all, n_mono = T**F, count_monotone_sequences(T, F)
print(f"T={T}, F={F}: T^F = {n_all:.2e}, non-decreasing: {n_mono:.2e} (10^{math.log10(n_mono):.1f})")
assert n_all == 10**48 and f"{n_mono:.2e}" == "5.39e+34"

# %% [markdown]
# ## 2. Two count tables
#
# FoPP rests on two tables of counts, which the official sampler builds once (`mat_s` and `mat_e` in
# `Incremental_Timesteps.__init__`). In our notation, with frames `f = 0…F−1` and timesteps `t = 0…T−1`:
#
# * **`S[t, f]`**, the *start* table: how many non-decreasing completions `(t_f, …, t_{F−1})` start at `t_f = t`.
#   The last frame completes in one way, `S[t, F−1] = 1`, and so does the last level, `S[T−1, f] = 1` (every later
#   frame must be `T−1` too). Inside, **`S[t, f] = S[t+1, f] + S[t, f+1]`**, filled from the last frame and the last
#   level backwards.
# * **`E[t, f]`**, the *end* table: how many non-decreasing prefixes `(t_0, …, t_f)` end at `t_f = t`. Boundaries
#   `E[t, 0] = 1` and `E[0, f] = 1`; inside, **`E[t, f] = E[t−1, f] + E[t, f−1]`**, filled forwards.
#
# Read the `S` recurrence as a choice about frame `f + 1`: a completion starting at `t_f = t` either has
# `t_{f+1} = t` (then it is a completion from `(t, f+1)`: `S[t, f+1]`), or `t_{f+1} > t`, and those are exactly the
# completions starting at `t + 1` with frame `f` relabelled (`S[t+1, f]`). The counts reach 10^34, so they are
# float64: int64 overflows at 9.2·10^18. Filled literally, loop by loop:

# %%
def my_start_counts(T, F):
    S = np.zeros((T, F))
    S[:, F - 1] = 1.0                                   # a completion of just the last frame
    S[T - 1, :] = 1.0                                   # starting at T-1, every later frame must be T-1
    for f in range(F - 2, -1, -1):
        for t in range(T - 2, -1, -1):
            S[t, f] = S[t + 1, f] + S[t, f + 1]         # S[t, f] = S[t+1, f] + S[t, f+1]
    return S


def my_end_counts(T, F):
    E = np.zeros((T, F))
    E[:, 0] = 1.0                                       # a prefix of just the first frame
    E[0, :] = 1.0                                       # ending at 0, every earlier frame must be 0
    for f in range(1, F):
        for t in range(1, T):
            E[t, f] = E[t - 1, f] + E[t, f - 1]         # E[t, f] = E[t-1, f] + E[t, f-1]
    return E


S, E = my_start_counts(T, F), my_end_counts(T, F)
assert np.allclose(S, start_counts(T, F).numpy(), rtol=1e-12, atol=0)
assert np.allclose(E, end_counts(T, F).numpy(), rtol=1e-12, atol=0)
print("my_start_counts / my_end_counts == ardiff_edu.fopp.start_counts / end_counts")

# closed forms: S[t, f] = C((T-1-t) + (F-1-f), F-1-f) and E[t, f] = C(t + f, f)
for t, f in [(0, 0), (500, 3), (998, 14), (0, 15)]:
    assert math.isclose(S[t, f], math.comb((T - 1 - t) + (F - 1 - f), F - 1 - f), rel_tol=1e-12)
    assert math.isclose(E[t, f], math.comb(t + f, f), rel_tol=1e-12)
# every non-decreasing sequence starts somewhere and ends somewhere
assert math.isclose(S[:, 0].sum(), n_mono, rel_tol=1e-12) and math.isclose(E[:, F - 1].sum(), n_mono, rel_tol=1e-12)
print(f"largest count: S[0, 0] = {S[0, 0]:.3e};  sum_t S[t, 0] = sum_t E[t, F-1] = {S[:, 0].sum():.3e}")

# %% [markdown]
# The two tables are mirror images of each other (`E[t, f] = S[T−1−t, F−1−f]`): counting forwards from the start
# is counting backwards from the end. On a log scale:

# %%
assert np.array_equal(E, S[::-1, ::-1])
fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4))
for ax, table, name in ((axes[0], S, "S[t, f]: completions starting at t"),
                        (axes[1], E, "E[t, f]: prefixes ending at t")):
    im = ax.imshow(np.log10(table), aspect="auto", cmap="viridis", origin="lower", interpolation="nearest")
    ax.set(xlabel="frame f", ylabel="timestep t", title=name)
    integer_ticks(ax)
    fig.colorbar(im, ax=ax, fraction=0.05).set_label("log10 count")
fig.suptitle(f"the two count tables at T = {T}, F = {F}: mirror images", fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Uniform over all sequences, and why it is not enough
#
# With `S` we can draw a sequence uniformly among all `C(T+F−1, F)`, left to right: for `f = 0…F−1`, draw `t_f` from
# `[t_{f−1}, T−1]` with probability proportional to `S[k, f]` (with `t_{−1} = 0`). The official code offers this as
# the training option `noise_level: autoregressive_diffusion` (`Incremental_Timesteps.sample_step_sequence`); the
# package calls it `uniform_monotone`.
#
# Why uniform? The product of the step probabilities telescopes: `S[t_0,0]/N · S[t_1,1]/S[t_0,0] · … = 1/N`, because the
# normaliser of step `f` is `Σ_{k ≥ t_{f−1}} S[k, f] = S[t_{f−1}, f−1]`. On the tiny case, by enumeration:

# %%
def uniform_probability(seq, S):
    p, lo = 1.0, 0
    for f, k in enumerate(seq):
        p *= S[k, f] / S[lo:, f].sum()                 # P(t_f = k | t_{f-1} = lo) ∝ S[k, f] over k >= lo
        lo = k
    return p


S_small = my_start_counts(small_T, small_F)
probs = [uniform_probability(s, S_small) for s in ordered]
assert np.allclose(probs, 1 / 35)
assert all(math.isclose(sequence_probability("uniform_monotone", s, small_T), 1 / 35) for s in ordered)
print(f"every one of the 35 sequences has probability 1/35 = {1 / 35:.4f}")

# %% [markdown]
# Uniform is fair to *sequences*, not to *frames*. Most non-decreasing sequences spread out over the whole range,
# so the first frame is almost always nearly clean and the last almost always nearly pure noise. How often exactly?
# `exact_marginals` gives `P(t_f = k)` without Monte-Carlo error, by pushing distributions through the sampling
# steps:

# %%
marg = {kind: exact_marginals(kind, F, T) for kind in KINDS}       # (F, T) each
p_first = marg["uniform_monotone"][0, :100].sum()
p_last = marg["uniform_monotone"][F - 1, 900:].sum()
print(f"uniform over sequences: P(t_0 < 100) = {p_first:.3f},  P(t_15 >= 900) = {p_last:.3f}")
assert round(p_first, 2) == 0.81 and math.isclose(p_first, p_last, rel_tol=1e-9)
print(f"                        P(t_15 < 100) = {marg['uniform_monotone'][F - 1, :100].sum():.1e}")
assert marg["uniform_monotone"][F - 1, :100].sum() < 1e-15

# %% [markdown]
# A model trained like this almost never sees a late frame that is nearly clean, or an early frame that is very
# noisy. Yet at inference with `s = 0` (synchronous, notebook 03) *all* frames pass through *all* noise levels
# together. FoPP spreads the marginals far wider while keeping every draw non-decreasing (section 5 measures
# how much).
#
# ## 4. FoPP, step by step for one clip
#
# FoPP (the official option `noise_level: ar_diff_midsamplet`, `Incremental_Timesteps.sample_stepseq_from_mid`)
# starts in the middle. In our words:
#
# ```
# f* ~ Uniform{0..F-1};  t[f*] ~ Uniform{0..T-1}          # the anchor: a uniform frame and a uniform level
# for f = f*-1 down to 0:                                  # backward: an earlier frame is at most as noisy
#     draw t[f] from k in [0, t[f+1]] with P(k) ∝ E[k, f]
# for f = f*+1 up to F-1:                                  # forward: a later frame is at least as noisy
#     draw t[f] from k in [t[f-1], T-1] with P(k) ∝ S[k, f]
# ```
#
# Backward steps need the number of ways to *reach* `k` at frame `f` (the end table), forward steps the number of
# ways to *continue* from `k` (the start table). Here it is for one clip, printing each decision:

# %%
def my_fopp(T, F, S, E, rng, verbose=False):
    t = [0] * F
    anchor = int(rng.integers(F))                      # f* ~ U{0..F-1}
    t[anchor] = int(rng.integers(T))                   # t[f*] ~ U{0..T-1}
    if verbose:
        print(f"anchor frame f* = {anchor}, t[f*] = {t[anchor]}")
    for f in range(anchor - 1, -1, -1):                # backward: k in [0, t[f+1]], P(k) ∝ E[k, f]
        w = E[: t[f + 1] + 1, f]
        t[f] = int(rng.choice(len(w), p=w / w.sum()))
        if verbose:
            print(f"  backward f={f:>2}: k in [0, {t[f + 1]:>3}]   -> t[{f}] = {t[f]}")
    for f in range(anchor + 1, F):                     # forward: k in [t[f-1], T-1], P(k) ∝ S[k, f]
        w = S[t[f - 1]:, f]
        t[f] = t[f - 1] + int(rng.choice(len(w), p=w / w.sum()))
        if verbose:
            print(f"  forward  f={f:>2}: k in [{t[f - 1]:>3}, {T - 1}] -> t[{f}] = {t[f]}")
    return t


one = my_fopp(T, F, S, E, np.random.default_rng(3), verbose=True)
print("t =", one)
assert monotone(one)

# %% [markdown]
# ### Is it the package's FoPP? The exact distribution, by enumeration
#
# `my_fopp` is random, so "equal to the package" means *the same distribution*. On the tiny case (`T = 5`,
# `F = 3`) we can compute `my_fopp`'s exact probability of every sequence: sum over the anchors `(f*, t*)` of
# `1/F · 1/T ·` the product of the step probabilities the loop above would use.

# %%
def my_fopp_probability(seq, S, E):
    T, F = S.shape
    if not monotone(seq):
        return 0.0
    total = 0.0
    for anchor in range(F):                            # the anchor frame; t* = seq[anchor]
        p = 1 / F * 1 / T
        for f in range(anchor - 1, -1, -1):
            p *= E[seq[f], f] / E[: seq[f + 1] + 1, f].sum()
        for f in range(anchor + 1, F):
            p *= S[seq[f], f] / S[seq[f - 1]:, f].sum()
        total += p
    return total


E_small = my_end_counts(small_T, small_F)
exact = {s: my_fopp_probability(s, S_small, E_small) for s in every}
assert math.isclose(sum(exact.values()), 1.0)
assert all(math.isclose(exact[s], sequence_probability("fopp", s, small_T), rel_tol=1e-12, abs_tol=1e-15)
           for s in every)
print("my_fopp's exact distribution == ardiff_edu.fopp.sequence_probability('fopp', ...) on all 125 sequences")
print("most likely:", [(s, round(float(p), 4)) for s, p in sorted(exact.items(), key=lambda kv: -kv[1])[:3]])
print("least likely (non-zero):", [(s, round(float(p), 4)) for s, p in sorted(exact.items(), key=lambda kv: kv[1])
                                   if p > 0][:2])

# %% [markdown]
# The claim "given the anchor, uniform over the sequences through it" means that for an anchor `(f*, t*)` every
# sequence through `t*` at frame `f*` gets the same probability `1 / (E[t*, f*] · S[t*, f*])`: `E` counts the ways
# in, `S` the ways out. Summing over the `F` anchor frames gives the closed form the package uses:
# `P(seq) = 1/(F·T) · Σ_f 1 / (E[t_f, f] · S[t_f, f])`.

# %%
for anchor in range(small_F):
    for t_star in range(small_T):
        through = [s for s in ordered if s[anchor] == t_star]
        assert len(through) == E_small[t_star, anchor] * S_small[t_star, anchor]
        cond = []
        for s in through:
            p = 1.0
            for f in range(anchor - 1, -1, -1):
                p *= E_small[s[f], f] / E_small[: s[f + 1] + 1, f].sum()
            for f in range(anchor + 1, small_F):
                p *= S_small[s[f], f] / S_small[s[f - 1]:, f].sum()
            cond.append(p)
        assert np.allclose(cond, 1 / len(through))
print("given the anchor (f*, t*), every sequence through it is equally likely")

# %% [markdown]
# And the draws: 20,000 clips from the package's vectorised sampler and 5,000 from `my_fopp` land on each sequence
# as often as the exact probabilities say (every sequence within 4.5 standard errors):

# %%
def max_z(draws, exact):
    counts = {}
    for row in draws:
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    n = len(draws)
    assert set(counts) <= {s for s, p in exact.items() if p > 0}          # never a decreasing sequence
    return max(abs(counts.get(s, 0) - n * p) / math.sqrt(n * p * (1 - p)) for s, p in exact.items() if p > 0)


package_draws = sample_timesteps("fopp", 20_000, small_F, small_T, torch.Generator().manual_seed(0)).tolist()
rng = np.random.default_rng(0)
my_draws = [my_fopp(small_T, small_F, S_small, E_small, rng) for _ in range(5_000)]
z_package, z_mine = max_z(package_draws, exact), max_z(my_draws, exact)
print(f"largest deviation from the exact probabilities: package {z_package:.1f} SE, my_fopp {z_mine:.1f} SE")
assert z_package < 4.5 and z_mine < 4.5

# %% [markdown]
# ## 5. Four samplers, frame by frame
#
# The official code offers four training samplers through its `noise_level` option: `full_sequence`,
# `diff_forcing` (our `independent`), `autoregressive_diffusion` (our `uniform_monotone`) and `ar_diff_midsamplet`
# (FoPP). `sample_timesteps(kind, B, F, T)` has them all. Their exact per-frame distributions `P(t_f = k)` at the
# official size, on one colour scale:

# %%
k = np.arange(T)
stats = {kind: (m @ k, np.sqrt(m @ k**2 - (m @ k) ** 2)) for kind, m in marg.items()}   # mean, std per frame

fig, axes = plt.subplots(1, 4, figsize=(13, 3.3), sharey=True, layout="constrained")
for ax, kind in zip(axes, KINDS):
    im = ax.imshow(np.log10(marg[kind].T + 1e-12), aspect="auto", origin="lower", cmap="magma", vmin=-6, vmax=-1,
                   interpolation="nearest")
    ax.set(title=kind, xlabel="frame f")
    integer_ticks(ax)
axes[0].set_ylabel("timestep k")
fig.colorbar(im, ax=axes, fraction=0.03, pad=0.01).set_label("log10 P(t_f = k)")
fig.suptitle(f"where each frame's timestep falls, per training sampler (exact, T = {T}, F = {F})")
plt.show()

fig, ax = plt.subplots(figsize=(6.5, 3.0))
for kind in ("full_sequence", "uniform_monotone", "fopp"):          # independent has full_sequence's marginals
    mean, std = stats[kind]
    ax.plot(mean, marker=".", label="full_sequence, independent" if kind == "full_sequence" else kind)
    ax.fill_between(np.arange(F), mean - std, mean + std, alpha=0.12)
ax.set(title="mean ± std of t_f, per sampler (exact)", xlabel="frame f", ylabel="timestep", ylim=(-50, 1050))
integer_ticks(ax)
ax.legend(fontsize=9, loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# The same numbers as a table, at a few frames, with the chance that the first frame is nearly clean:

# %%
frames = [0, 1, 3, 5, 7, 9, 11, 13, 15]
print("frame                   " + "".join(f"{f:>6}" for f in frames))
for kind in KINDS:
    mean, std = stats[kind]
    print(f"mean t, {kind:<17}" + "".join(f"{mean[f]:6.0f}" for f in frames))
    print(f"std t,  {kind:<17}" + "".join(f"{std[f]:6.0f}" for f in frames))
p0 = {kind: marg[kind][0, :100].sum() for kind in KINDS}
print("P(t_0 < 100):", {kind: round(float(p), 3) for kind, p in p0.items()})
assert p0["uniform_monotone"] > p0["fopp"] > 0.5 and math.isclose(p0["independent"], 0.1)
assert all(math.isclose(marg[kind].sum(1).max(), 1.0) and math.isclose(marg[kind].sum(1).min(), 1.0)
           for kind in KINDS)                                                    # each row is a distribution

# %% [markdown]
# The official sampler draws one clip at a time: pick the anchor, loop backward, loop forward, one
# `np.random.choice` per frame (`sample_stepseq_from_mid`). `fopp_reference` keeps exactly that structure, in our
# code. Its draws must follow the exact marginals: 3,000 clips, every frame's mean and `P(t_0 < 100)` within 4.5
# standard errors.

# %%
ref = fopp_reference(3000, F, T, np.random.default_rng(2)).double()      # (3000, F): the per-sample loop
mean, std = stats["fopp"]
z_mean = np.abs(ref.mean(0).numpy() - mean) / (std / math.sqrt(len(ref)))
p0_ref = (ref[:, 0] < 100).double().mean().item()
z_p0 = abs(p0_ref - p0["fopp"]) / math.sqrt(p0["fopp"] * (1 - p0["fopp"]) / len(ref))
print(f"fopp_reference, 3000 clips: largest |mean - exact| = {z_mean.max():.1f} SE; "
      f"P(t_0 < 100) = {p0_ref:.3f} vs exact {p0['fopp']:.3f} ({z_p0:.1f} SE)")
assert z_mean.max() < 4.5 and z_p0 < 4.5 and (ref.diff(dim=1) >= 0).all()

# %% [markdown]
# What FoPP buys: every frame sees the whole range of noise levels with a probability that is small but not
# negligible (at the extremes, about 10^13 times more often than under uniform sampling). The chance that the
# *last* frame is nearly clean, or the *first* nearly pure noise:

# %%
for kind in ("uniform_monotone", "fopp"):
    late_clean, early_noisy = marg[kind][F - 1, :100].sum(), marg[kind][0, 900:].sum()
    print(f"{kind:<17} P(t_15 < 100) = {late_clean:.1e}   P(t_0 >= 900) = {early_noisy:.1e}")
assert marg["fopp"][F - 1, :100].sum() > 1e-3 and marg["fopp"][0, 900:].sum() > 1e-3
assert marg["fopp"][F - 1, :100].sum() > 1e10 * marg["uniform_monotone"][F - 1, :100].sum()
assert (stats["fopp"][1] > 1.4 * stats["uniform_monotone"][1]).all()             # wider at every frame

# %% [markdown]
# Small but not negligible is still small: FoPP gives the *first* frame a timestep of 900 or more in under 1 % of the
# training clips, where one level for the whole clip gives it 10 %. Under the strictly causal mask the first frame
# attends only to itself (notebook 06), so the model of frame 0 alone must learn to start a frame from pure noise,
# from those few clips. On bouncing balls this is where the shipped model fails most visibly: some videos begin with
# an empty first frame, and every later frame then continues the empty scene (`data/samples/README.md`). Is the rare
# high-noise first frame the cause? We tested it: continuing the FoPP model of the ablation for 1500 steps with a
# quarter of its clips synchronous left the number of empty first frames unchanged (8 of 64 against 9 of 64 for the
# same 1500 steps of FoPP alone), so the cause lies elsewhere (`data/samples/README.md` has the commands).
#
# > **Paper vs code.** `python -m ardiff_edu train --sync-fraction p` (`fopp.mix_synchronous`, default 0) replaces a
# > share `p` of the training clips by synchronous ones. Neither the paper nor the official code does this; it is the
# > experiment above, kept so that it can be repeated. Its twin, `--clean-history-fraction p`
# > (`fopp.mix_clean_history`, default 0), sets the frames before a random cut of a share `p` of the clips to
# > `t = 0`: the sampler feeds finished frames clean, a history the samplers of this notebook almost never draw. Also
# > an experiment, not the paper (`data/samples/README.md` has what it did).

# %%
p_start = {kind: float(marg[kind][0, 900:].sum()) for kind in ("fopp", "full_sequence")}
print("P(t_0 >= 900):", {kind: round(p, 4) for kind, p in p_start.items()})
assert p_start["fopp"] < 0.01 and math.isclose(p_start["full_sequence"], 0.1)

# %% [markdown]
# Where, then? `data/samples/first_frame.py` starts the shipped model's sampler from *real* first frames noised to a
# level `t0`, which is where a perfect sampler would be at that step. From `t0 = 901` it still ends with an empty
# frame 5.7 % of the time, from 641 3.3 %, from 501 1.1 %, and the frames it empties are those with one ball: the
# model of frame 0 loses a lone ball somewhere between levels 900 and 500. FoPP seldom trains frame 0 there. A second
# experiment trains it there on purpose: every step also trains each clip's first frame *alone*, as an image, at a
# level drawn uniformly in `[450, 900)`. On the FoPP arm of the ablation (6000 steps) the empty first frames fall
# from 7.0 % to 4.8 % of 1024 draws, and the first frames' ball counts come closer to the data's, with the rest of
# the scores alike. That helps, but it is still far from none (`data/samples/README.md`).
#
# > **Paper vs code.** `python -m ardiff_edu train --first-frame-band LO HI` (`fopp.first_frame_timesteps`, default
# > off) adds frame 0 alone at a level in `[LO, HI)` to every clip of the batch, as one more frame in the loss.
# > Neither the paper nor the official code does this; it is the experiment above, kept so that it can be repeated.

# %%
band = first_frame_timesteps((450, 900), 20_000, T, torch.Generator().manual_seed(2))
p_band = {"fopp": float(marg["fopp"][0, 450:900].sum()),                # frame 0's exact FoPP marginal in the band
          "band": float(((band >= 450) & (band < 900)).double().mean())}
print("P(450 <= t_0 < 900):", {kind: round(p, 4) for kind, p in p_band.items()})
assert p_band["fopp"] < 0.1 and p_band["band"] == 1.0

# %% [markdown]
# The Monte-Carlo draws of the package agree with these exact marginals (20,000 clips per sampler, every frame's
# mean within 4.5 standard errors):

# %%
gen = torch.Generator().manual_seed(1)
for kind in KINDS:
    draws = sample_timesteps(kind, 20_000, F, T, gen).double()
    mean, std = stats[kind]
    z = np.abs(draws.mean(0).numpy() - mean) / (std / math.sqrt(len(draws)))
    print(f"{kind:<17} largest |MC mean - exact| = {z.max():.1f} SE")
    assert z.max() < 4.5
    if kind != "independent":
        assert (draws.diff(dim=1) >= 0).all()

# %% [markdown]
# ## 6. Paper vs code: which way the recurrence runs
#
# > **Paper vs code.** Issue #4 of the official repository ("Wrong Transition Equation in paper") reports that
# > Section 3.3 of the paper prints the count recurrence as `d_{i,j} = d_{i,j−1} + d_{i−1,j}` (`i` frame, `j`
# > timestep), while the code fills its start table the other way, `d_{i,j} = d_{i,j+1} + d_{i+1,j}`, from the last
# > frame and the last timestep (`mat_s` in `Incremental_Timesteps.__init__`). The forward step needs the code's
# > table; the printed direction is that of our end table `E`. **We implement the code's**: `start_counts` satisfies
# > `S[t, f] = S[t+1, f] + S[t, f+1]`, pinned by
# > `tests/test_fopp.py::test_start_table_follows_the_codes_recurrence_not_the_papers_print`.
#
# The direction matters: used as the forward step's weights, the printed direction's table does not give a uniform
# distribution over sequences.

# %%
S6, E6 = start_counts(6, 4), end_counts(6, 4)
assert all(S6[t, f] == S6[t + 1, f] + S6[t, f + 1] for t in range(5) for f in range(3))     # the code's direction
assert S6[2, 1] != S6[1, 1] + S6[2, 0]                                                      # not the printed one
seqs6 = [s for s in itertools.product(range(6), repeat=4) if monotone(s)]
with_code = [uniform_probability(s, S6.numpy()) for s in seqs6]
with_print = [uniform_probability(s, E6.numpy()) for s in seqs6]
print(f"forward sampling with the code's table:    max/min probability = {max(with_code) / min(with_code):.3f}")
print(f"forward sampling with the printed table:   max/min probability = {max(with_print) / min(with_print):.1f}")
assert np.allclose(with_code, 1 / len(seqs6)) and max(with_print) / min(with_print) > 10

# %% [markdown]
# ## 7. Fast: one `searchsorted` per frame for the whole batch
#
# The official sampler loops over the batch in Python and calls `np.random.choice` for every frame: `O(F·T)` work
# per clip, one clip at a time (`fopp_reference` keeps that structure as a baseline). The package draws a whole
# batch with inverse-CDF sampling: for each frame, one uniform `u` per clip and one `torch.searchsorted` into a
# precomputed cumulative table.
#
# One numerical trap: the forward step samples from a *suffix* `[lo, T−1]`, and the counts there near `T − 1` are
# 1, 2, 3, … while the total is 10^32. A prefix cumulative sum `C[k]` cannot resolve them (`C[999] − C[998]` is 0 in
# float64 instead of 1), so the package uses suffix sums `Σ_{j ≥ k} S[j, f]` for the forward step and prefix sums
# `Σ_{j ≤ k} E[j, f]` for the backward step; every probability is then a difference of numbers no larger than its
# own normaliser.

# %%
prefix = np.cumsum(S[:, 1])
suffix = np.cumsum(S[::-1, 1])[::-1]
print(f"prefix sums: C[999] - C[998] = {prefix[999] - prefix[998]:.0f}  (the true count S[999, 1] is {S[999, 1]:.0f})")
print(f"suffix sums: R[998] - R[999] = {suffix[998] - suffix[999]:.0f}")
assert prefix[999] - prefix[998] == 0 and suffix[998] - suffix[999] == S[998, 1] == 15

# %% [markdown]
# The vectorised sampler and the per-sample loop draw from the same distribution (per-frame means within 4
# standard errors, 3,000 clips each at `T = 1000`, `F = 16`; `ref` is the loop's draw from section 5). For their
# speed, run `python -m ardiff_edu bench --only fopp` (timings are printed there, never in a notebook).

# %%
vec = sample_timesteps("fopp", len(ref), F, T, torch.Generator().manual_seed(2)).double()
se = ((ref.var(0) + vec.var(0)) / len(ref)).sqrt()
z = ((ref.mean(0) - vec.mean(0)).abs() / se).max().item()
print(f"largest per-frame mean difference, loop vs vectorised: {z:.1f} SE")
assert z < 4

# %% [markdown]
# ## Summary
#
# * Non-decreasing timesteps for `F = 16`, `T = 1000`: `C(1015, 16) ≈ 5.39·10^34` sequences, counted by two DP
#   tables, `S` (ways to continue) and `E` (ways to reach), mirror images of each other.
# * Uniform over sequences is fair to sequences but leaves the first frame almost always clean and the last almost
#   always noisy. FoPP picks a uniform anchor frame and a uniform timestep there, then fills the rest uniformly among
#   the sequences through the anchor: every frame sees every noise level.
# * `sample_timesteps("fopp", B, F, T, generator)` is the training sampler (notebook 07); its exact distribution is
#   `sequence_probability`, its exact marginals `exact_marginals`.
# * Next, notebook 03: the inference side, where the AD scheduler turns "earlier frames are cleaner" into a staircase.

# %% [markdown]
# ## Exercises
#
# Each exercise has a checker from `ardiff_edu.exercises.nb02` that answers in one line: right, or what is wrong and
# where. The worked solution follows in a collapsed cell; try first.
#
# ### Exercise 1
#
# Count the non-decreasing sequences with the DP yourself. Write `count_with_dp(T, F)`: fill the start table one
# column at a time, from the last frame back (`S[t, F−1] = 1`, `S[t, f] = S[t+1, f] + S[t, f+1]`), in Python ints,
# and return `Σ_t S[t, 0]`, without `math.comb`. The checker compares it with `C(T+F−1, F)` exactly, up to the
# official size. Then look at the number at `T = 1000`, `F = 16`: how many of its digits would float64 keep?

# %%
from ardiff_edu.exercises.nb02 import check_count, check_fill_before  # noqa: E402


def count_with_dp(T, F):
    """The number of non-decreasing sequences of F timesteps in {0..T-1}, as an exact int, by dynamic programming."""
    raise NotImplementedError("replace this line with your code")


check_count(count_with_dp)

# %% tags=["solution"] jupyter={"source_hidden": true}
def count_with_dp(T, F):
    column = [1] * T                                   # S[t, F-1] = 1: the last frame completes in one way
    for _ in range(F - 1):                             # frames F-2 down to 0
        total, new = 0, [0] * T
        for t in range(T - 1, -1, -1):                 # S[t, f] = S[t+1, f] + S[t, f+1]: a running suffix sum
            total += column[t]
            new[t] = total
        column = new
    return sum(column)                                 # every sequence starts at some t_0


exact = count_with_dp(1000, 16)
rounded = int(float(exact))
print(f"C(1015, 16) = {exact} ({len(str(exact))} digits)")
print(f"as float64:   {rounded}  (off by {exact - rounded})")
assert exact != rounded and abs(exact - rounded) < exact * 1e-15
result = check_count(count_with_dp)
print(result)
assert result

# %% [markdown]
# ### Exercise 2
#
# Write FoPP's backward pass. `fill_before(t, anchor, E, rng)` gets a list `t` of `F` timesteps whose entries from
# `anchor` on are set, the end table `E` (numpy `(T, F)`) and a `numpy.random.Generator`; it fills
# `t[anchor−1], …, t[0]`, in that order, each from `k ∈ [0, t[f+1]]` with `P(k) ∝ E[k, f]`, and returns `t`. The
# checker draws thousands of prefixes on a tiny case and compares their frequencies with the uniform distribution
# they must follow. Then look at what the weights do: anchor the last frame of a 16-frame clip at `t = 500` and
# compare the first frame's timestep under your backward pass with a naive one that draws `k` uniformly.

# %%
def fill_before(t, anchor, E, rng):
    """Fill t[anchor-1], ..., t[0] backward: t[f] in [0, t[f+1]] with P(k) ∝ E[k, f]; return t."""
    raise NotImplementedError("replace this line with your code")


check_fill_before(fill_before)

# %% tags=["solution"] jupyter={"source_hidden": true}
def fill_before(t, anchor, E, rng):
    for f in range(anchor - 1, -1, -1):
        w = E[: t[f + 1] + 1, f]                       # the ways to reach each candidate k at frame f
        t[f] = int(rng.choice(len(w), p=w / w.sum()))
    return t


def fill_before_naive(t, anchor, E, rng):
    for f in range(anchor - 1, -1, -1):
        t[f] = int(rng.integers(t[f + 1] + 1))         # every candidate equally likely: wrong
    return t


rng = np.random.default_rng(0)
first = {name: [fn([0] * 15 + [500], 15, E, rng)[0] for _ in range(1000)]
         for name, fn in (("fill_before (E weights)", fill_before), ("naive (uniform k)", fill_before_naive))}
fig, ax = plt.subplots(figsize=(6.5, 2.8))
for name, values in first.items():
    ax.hist(values, bins=np.arange(0, 510, 10), alpha=0.6, label=name)
ax.set(xlabel="t_0 (timestep of frame 0)", ylabel="clips of 1000",
       title="frame 0 when frame 15 sits at t = 500: FoPP's backward pass vs a naive one")
ax.legend(fontsize=9)
fig.tight_layout()
plt.show()
print({name: round(float(np.median(v))) for name, v in first.items()})
# the naive pass halves t at every frame on average and drives frame 0 to 0; the E weights keep it spread
assert np.median(first["naive (uniform k)"]) < 5 < 20 < np.median(first["fill_before (E weights)"])
result = check_fill_before(fill_before)
print(result)
assert result
