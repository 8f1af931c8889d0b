"""Training-timestep samplers: DP tables, exact distributions by enumeration, marginals, seeding, errors."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ardiff_edu import fopp as ts
from ardiff_edu.fopp import (KINDS, MONOTONE_KINDS, count_monotone_sequences, end_counts, exact_marginals,
                                  fopp_reference, sample_timesteps, sequence_probability, start_counts)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def chi2_critical(df: int, z: float = 3.72) -> float:
    """Upper quantile of χ²(df) (Wilson–Hilferty); z = 3.72 is p ≈ 1e-4, so a correct sampler fails 1 run in 10⁴."""
    a = 2.0 / (9 * df)
    return df * (1 - a + z * math.sqrt(a)) ** 3


def chi2(draws: torch.Tensor, probs: dict) -> tuple[float, int]:
    """Pearson χ² of the draws (rows) against exact probabilities over the support; fails on any draw outside it."""
    counts = {}
    for row in draws.tolist():
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    outside = set(counts) - {k for k, p in probs.items() if p > 0}
    assert not outside, f"draws outside the support: {sorted(outside)[:5]}"
    n = len(draws)
    stat = sum((counts.get(k, 0) - n * p) ** 2 / (n * p) for k, p in probs.items() if p > 0)
    return stat, sum(p > 0 for p in probs.values()) - 1


def all_sequences(T, F):
    return list(itertools.product(range(T), repeat=F))


def monotone(seq):
    return all(a <= b for a, b in zip(seq, seq[1:]))


def fopp_by_anchor_enumeration(seq, T):
    """P(seq) under FoPP, from the procedure itself: Σ over anchors (f*, t*=seq[f*]) of 1/F · 1/T · Π steps."""
    F = len(seq)
    if not monotone(seq):
        return 0.0
    S = start_counts(T, F).numpy()
    E = end_counts(T, F).numpy()
    total = 0.0
    for a in range(F):
        p = 1.0 / (F * T)
        for f in range(a - 1, -1, -1):       # backward: P ∝ E[k, f] over k <= seq[f+1]
            p *= E[seq[f], f] / E[: seq[f + 1] + 1, f].sum()
        for f in range(a + 1, F):            # forward: P ∝ S[k, f] over k >= seq[f-1]
            p *= S[seq[f], f] / S[seq[f - 1]:, f].sum()
        total += p
    return total


# ----------------------------------------------------------------------------------------------------------------
# DP tables
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("T, F", [(1, 1), (5, 3), (50, 7), (1000, 16)])
def test_tables_match_their_closed_forms(T, F):
    S, E = start_counts(T, F), end_counts(T, F)
    assert S.shape == E.shape == (T, F) and S.dtype == E.dtype == torch.float64
    for t in sorted({0, 1, T // 2, T - 2, T - 1} & set(range(T))):
        for f in sorted({0, 1, F // 2, F - 2, F - 1} & set(range(F))):
            assert S[t, f].item() == pytest.approx(math.comb((T - 1 - t) + (F - 1 - f), F - 1 - f), rel=1e-12)
            assert E[t, f].item() == pytest.approx(math.comb(t + f, f), rel=1e-12)


def test_tables_count_by_brute_force():
    T, F = 5, 3
    seqs = [s for s in all_sequences(T, F) if monotone(s)]
    S, E = start_counts(T, F), end_counts(T, F)
    for t in range(T):
        for f in range(F):
            assert S[t, f] == len({s[f:] for s in seqs if s[f] == t})   # completions (t_f..t_{F-1}) starting at t
            assert E[t, f] == len({s[: f + 1] for s in seqs if s[f] == t})


def test_start_table_follows_the_codes_recurrence_not_the_papers_print():
    """Paper vs code (official issue #4): the code's "start" table runs d[i, j] = d[i, j+1] + d[i+1, j]
    (i = frame, j = timestep), filled from the last frame and the last timestep. The printed d[i, j] = d[i, j-1] +
    d[i-1, j] is the *end*-table direction; used as the forward sampler's weights it would not be uniform."""
    T, F = 6, 4
    S, E = start_counts(T, F), end_counts(T, F)
    assert (S[T - 1] == 1).all() and (S[:, F - 1] == 1).all()
    for t in range(T - 1):
        for f in range(F - 1):
            assert S[t, f] == S[t + 1, f] + S[t, f + 1]
    assert (E[0] == 1).all() and (E[:, 0] == 1).all()
    for t in range(1, T):
        for f in range(1, F):
            assert E[t, f] == E[t - 1, f] + E[t, f - 1]
    assert S[2, 1] != S[1, 1] + S[2, 0]                 # S does not satisfy the printed direction
    assert torch.equal(S, E.flip(0).flip(1))           # the two directions are mirror images
    # the forward pass with the code's S is exactly uniform; with the printed direction's table (E) it is not
    for table, uniform in ((S, True), (E, False)):
        probs = []
        for seq in itertools.product(range(T), repeat=F):
            if monotone(seq):
                p, lo = 1.0, 0
                for f, k in enumerate(seq):
                    p *= (table[k, f] / table[lo:, f].sum()).item()
                    lo = k
                probs.append(p)
        assert (max(probs) - min(probs) < 1e-12) == uniform


def test_suffix_and_prefix_normalisers_are_the_neighbouring_columns():
    T, F = 1000, 16
    tab = ts._tables(T, F)
    S, E = tab.start, tab.end
    suffix = tab.suffix_rev.T.flip(0)                   # suffix[t, f] = Σ_{k >= t} S[k, f]
    torch.testing.assert_close(suffix[:, 1:], S[:, :-1], rtol=1e-12, atol=0)
    torch.testing.assert_close(tab.prefix.T[:, :-1], E[:, 1:], rtol=1e-12, atol=0)


def test_tables_are_cached_and_returned_as_copies():
    assert ts._tables(1000, 16) is ts._tables(1000, 16)
    S = start_counts(40, 4)
    S.zero_()
    assert start_counts(40, 4)[0, 0] == math.comb(39 + 3, 3)


def test_counting_sequences():
    assert count_monotone_sequences(1000, 16) == math.comb(1015, 16)
    assert f"{count_monotone_sequences(1000, 16):.2e}" == "5.39e+34"
    assert 1000 ** 16 == 10 ** 48
    assert count_monotone_sequences(5, 3) == sum(monotone(s) for s in all_sequences(5, 3)) == 35
    for T, F in ((5, 3), (1000, 16)):
        n = count_monotone_sequences(T, F)
        assert start_counts(T, F)[:, 0].sum().item() == pytest.approx(n, rel=1e-12)
        assert end_counts(T, F)[:, F - 1].sum().item() == pytest.approx(n, rel=1e-12)


def test_overflowing_tables_raise():
    with pytest.raises(ValueError, match=r"num_frames=400 is too large for num_timesteps=1000"):
        start_counts(1000, 400)


# ----------------------------------------------------------------------------------------------------------------
# exact distributions by enumeration (T=5, F=3)
# ----------------------------------------------------------------------------------------------------------------
T_SMALL, F_SMALL, N_DRAWS = 5, 3, 20_000


def test_fopp_sequence_probability_equals_anchor_enumeration():
    probs = {s: fopp_by_anchor_enumeration(s, T_SMALL) for s in all_sequences(T_SMALL, F_SMALL)}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    for s, p in probs.items():
        assert sequence_probability("fopp", s, T_SMALL) == pytest.approx(p, rel=1e-12, abs=1e-15)
    # not uniform: the all-zero clip (reachable through every anchor at t=0) is more likely than a spread one
    assert probs[(0, 0, 0)] > probs[(0, 2, 4)]


@pytest.mark.parametrize("kind", KINDS)
def test_exact_distribution_chi_square(kind):
    probs = {s: sequence_probability(kind, s, T_SMALL) for s in all_sequences(T_SMALL, F_SMALL)}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    draws = sample_timesteps(kind, N_DRAWS, F_SMALL, T_SMALL, torch.Generator().manual_seed(123))
    stat, df = chi2(draws, probs)
    assert stat < chi2_critical(df), f"{kind}: chi2={stat:.1f} >= {chi2_critical(df):.1f} (df={df})"


def test_chi_square_test_has_power():
    """The test above can fail: uniform-over-sequences draws are rejected against FoPP's probabilities."""
    probs = {s: sequence_probability("fopp", s, T_SMALL) for s in all_sequences(T_SMALL, F_SMALL)}
    draws = sample_timesteps("uniform_monotone", N_DRAWS, F_SMALL, T_SMALL, torch.Generator().manual_seed(123))
    stat, df = chi2(draws, probs)
    assert stat > 5 * chi2_critical(df)


def test_uniform_monotone_is_exactly_uniform():
    n = count_monotone_sequences(T_SMALL, F_SMALL)
    probs = [sequence_probability("uniform_monotone", s, T_SMALL) for s in all_sequences(T_SMALL, F_SMALL)]
    assert sorted(set(probs)) == [0.0, 1.0 / n]
    assert probs.count(1.0 / n) == n == 35


def test_vectorised_fopp_and_reference_loop_have_the_same_distribution():
    probs = {s: sequence_probability("fopp", s, T_SMALL) for s in all_sequences(T_SMALL, F_SMALL)}
    ref = fopp_reference(6000, F_SMALL, T_SMALL, np.random.default_rng(7))
    vec = sample_timesteps("fopp", 6000, F_SMALL, T_SMALL, torch.Generator().manual_seed(7))
    for draws in (ref, vec):
        stat, df = chi2(draws, probs)
        assert stat < chi2_critical(df)
    # two-sample comparison at the paper's size: per-frame means agree within 4 standard errors
    ref = fopp_reference(2000, 16, 1000, np.random.default_rng(8)).double()
    vec = sample_timesteps("fopp", 2000, 16, 1000, torch.Generator().manual_seed(8)).double()
    se = ((ref.var(0) + vec.var(0)) / 2000).sqrt()
    assert ((ref.mean(0) - vec.mean(0)).abs() < 4 * se).all()


# ----------------------------------------------------------------------------------------------------------------
# shapes, ranges, monotonicity, tails
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("T, F", [(1, 1), (1, 5), (7, 1), (3, 9), (1000, 16)])
def test_shape_dtype_range_and_monotonicity(kind, T, F):
    t = sample_timesteps(kind, 257, F, T, torch.Generator().manual_seed(0))
    assert t.shape == (257, F) and t.dtype == torch.int64
    assert t.min() >= 0 and t.max() <= T - 1
    if kind in MONOTONE_KINDS:
        assert (t.diff(dim=1) >= 0).all()


def test_independent_is_rarely_monotone():
    t = sample_timesteps("independent", 5000, 16, 1000, torch.Generator().manual_seed(0))
    assert (t.diff(dim=1) >= 0).all(dim=1).sum() == 0


def test_inverse_cdf_tails_are_exact():
    """Near T-1 the counts are 1, 2, 3...: a prefix sum of size 1e34 would swallow them, a suffix sum does not."""
    T, F = 1000, 16
    tab = ts._tables(T, F)
    N = 16_000
    u = (torch.arange(N, dtype=torch.float64) + 0.5) / N   # a deterministic, evenly spread u
    # forward at frame 1 from lo=998: P(999) = S[999,1] / (S[998,1] + S[999,1]) = 1 / (1 + 15)
    k = ts._forward_step(tab, 1, torch.full((N,), 998), u, T)
    assert set(k.tolist()) == {998, 999} and (k == 999).sum().item() == N // 16
    assert (ts._forward_step(tab, 5, torch.full((N,), 999), u, T) == 999).all()
    # backward at frame 3 to hi=1: P(0) = E[0,3] / (E[0,3] + E[1,3]) = 1 / (1 + 4)
    k = ts._backward_step(tab, 3, torch.full((N,), 1), u)
    assert set(k.tolist()) == {0, 1} and (k == 0).sum().item() == N // 5
    assert (ts._backward_step(tab, 3, torch.zeros(N, dtype=torch.long), u) == 0).all()
    # the extreme u's land on the range's ends and never leave it
    top = torch.full((4,), 1 - 2 ** -53, dtype=torch.float64)
    assert ts._forward_step(tab, 0, torch.tensor([0, 500, 998, 999]), top, T).tolist() == [0, 500, 998, 999]
    assert (ts._forward_step(tab, 0, torch.tensor([0, 500, 998, 999]), torch.zeros(4, dtype=torch.float64), T)
            == 999).all()
    assert ts._backward_step(tab, 0, torch.tensor([0, 3, 500, 999]), top).tolist() == [0, 3, 500, 999]


# ----------------------------------------------------------------------------------------------------------------
# marginals at the paper's size (T=1000, F=16)
# ----------------------------------------------------------------------------------------------------------------
FRAMES = [0, 1, 3, 5, 7, 9, 11, 13, 15]
@pytest.fixture(scope="module")
def paper_draws():
    g = torch.Generator().manual_seed(2025)
    return {k: sample_timesteps(k, 20_000, 16, 1000, g).double() for k in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_monte_carlo_marginals_match_the_exact_ones(kind, paper_draws):
    t = paper_draws[kind]
    p = exact_marginals(kind, 16, 1000)
    assert p.shape == (16, 1000) and np.allclose(p.sum(1), 1.0)
    k = np.arange(1000)
    mean = p @ k
    std = np.sqrt(p @ k**2 - mean**2)
    n = t.shape[0]
    assert np.all(np.abs(t.mean(0).numpy() - mean) < 4.5 * std / math.sqrt(n))
    assert np.all(np.abs(t.std(0).numpy() - std) < 4.5 * std / math.sqrt(2 * n) * 1.5)   # kurtosis slack
    assert abs((t[:, 0] < 100).double().mean().item() - p[0, :100].sum()) < 4.5 * math.sqrt(0.25 / n)


@pytest.mark.parametrize("kind", ["uniform_monotone", "fopp", "independent"])
def test_probability_first_frame_nearly_clean(kind, paper_draws):
    """The first frame is usually nearly clean under the monotone samplers (FoPP a little less so), and the last
    frame of uniform_monotone nearly pure noise, by symmetry."""
    exact = exact_marginals(kind, 16, 1000)[0, :100].sum()
    mc = (paper_draws[kind][:, 0] < 100).double().mean().item()
    assert abs(mc - exact) < 4 * math.sqrt(exact * (1 - exact) / 20_000)
    assert {"uniform_monotone": 0.80 < exact < 0.82, "fopp": 0.70 < exact < 0.73,
            "independent": abs(exact - 0.1) < 1e-12}[kind]
    if kind == "uniform_monotone":
        assert exact_marginals(kind, 16, 1000)[15, 900:].sum() == pytest.approx(exact, abs=1e-9)  # t_15 >= 900


def test_fopp_is_wider_than_uniform_monotone():
    k = np.arange(1000)
    std = {}
    for kind in ("uniform_monotone", "fopp"):
        p = exact_marginals(kind, 16, 1000)
        std[kind] = np.sqrt(p @ k**2 - (p @ k) ** 2)
    assert (std["fopp"] > 1.4 * std["uniform_monotone"]).all()


def test_full_sequence_and_independent_marginals_are_uniform(paper_draws):
    for kind in ("full_sequence", "independent"):
        assert abs(paper_draws[kind].mean().item() - 499.5) < 10
    assert (paper_draws["full_sequence"].diff(dim=1) == 0).all()


# ----------------------------------------------------------------------------------------------------------------
# seeding and errors
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_draws(kind):
    a = sample_timesteps(kind, 64, 16, 1000, torch.Generator().manual_seed(42))
    b = sample_timesteps(kind, 64, 16, 1000, torch.Generator().manual_seed(42))
    c = sample_timesteps(kind, 64, 16, 1000, torch.Generator().manual_seed(43))
    assert torch.equal(a, b) and not torch.equal(a, c)
    g = torch.Generator().manual_seed(42)
    first, second = sample_timesteps(kind, 64, 16, 1000, g), sample_timesteps(kind, 64, 16, 1000, g)
    assert not torch.equal(first, second)


def test_default_generator_follows_torch_manual_seed():
    torch.manual_seed(3)
    a = sample_timesteps("fopp", 8, 16, 1000)
    torch.manual_seed(3)
    assert torch.equal(a, sample_timesteps("fopp", 8, 16, 1000))


def test_reference_is_seeded():
    assert torch.equal(fopp_reference(5, 4, 10, 1), fopp_reference(5, 4, 10, np.random.default_rng(1)))


@pytest.mark.parametrize("args, match", [
    (("ddpm", 2, 16, 1000), r"kind must be one of \['fopp', 'full_sequence', 'independent', 'uniform_monotone'\]"),
    (("fopp", 0, 16, 1000), r"batch_size must be >= 1, got 0"),
    (("fopp", 2, 0, 1000), r"num_frames must be >= 1, got 0"),
    (("fopp", 2, 16, 0), r"num_timesteps must be >= 1, got 0"),
    (("fopp", 2, 16.0, 1000), r"num_frames must be an integer >= 1, got 16.0"),
])
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        sample_timesteps(*args)


def test_bad_generator_and_sequences():
    with pytest.raises(ValueError, match=r"generator must be a torch.Generator or None, got int"):
        sample_timesteps("fopp", 2, 16, 1000, generator=0)
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator"):
        fopp_reference(2, 4, 10, rng="seed")
    with pytest.raises(ValueError, match=r"seq element must be in \[0, 4\], got 5"):
        sequence_probability("fopp", [0, 5], 5)
    with pytest.raises(ValueError, match=r"num_timesteps must be >= 1, got 0"):
        start_counts(0, 3)


# ----------------------------------------------------------------------------------------------------------------
# properties over random sizes
# ----------------------------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(KINDS), T=st.integers(1, 60), F=st.integers(1, 12), B=st.integers(1, 40),
       seed=st.integers(0, 2**31 - 1))
def test_any_size_gives_valid_sequences(kind, T, F, B, seed):
    t = sample_timesteps(kind, B, F, T, torch.Generator().manual_seed(seed))
    assert t.shape == (B, F) and t.dtype == torch.int64
    assert 0 <= t.min() and t.max() <= T - 1
    if kind in MONOTONE_KINDS:
        assert (t.diff(dim=1) >= 0).all()
    if kind == "full_sequence":
        assert (t == t[:, :1]).all()


def test_first_frame_timesteps_stay_in_their_band_and_bad_bands_are_refused():
    from ardiff_edu.fopp import check_band, first_frame_timesteps

    t = first_frame_timesteps((450, 900), 20000, 1000, torch.Generator().manual_seed(0))
    assert t.shape == (20000, 1) and t.dtype == torch.long
    assert int(t.min()) == 450 and int(t.max()) == 899                        # [lo, hi): both ends reached, hi not
    assert torch.equal(t, first_frame_timesteps([450, 900], 20000, 1000, torch.Generator().manual_seed(0)))
    assert check_band([0, 1000], 1000) == (0, 1000)
    for bad in [(900, 450), (450, 450), (-1, 10), (10, 1001), (1, 2, 3), (1.0, 2), (True, 5), "ab", None]:
        with pytest.raises(ValueError, match=r"first_frame_band must be two ints \(lo, hi\) with "
                                             r"0 <= lo < hi <= 1000 .*got"):
            check_band(bad, 1000)


def test_mix_synchronous_replaces_whole_clips_and_draws_nothing_at_zero():
    from ardiff_edu.fopp import mix_synchronous

    g = torch.Generator().manual_seed(0)
    t = sample_timesteps("fopp", 4000, 16, 1000, g)
    state = g.get_state()
    assert mix_synchronous(t, 0.0, 1000, g) is t and torch.equal(g.get_state(), state)     # off: no draw at all
    mixed = mix_synchronous(t, 0.25, 1000, g)
    sync = (mixed == mixed[:, :1]).all(1) & (mixed != t).any(1)            # rows that were replaced
    assert 0.22 < sync.double().mean() < 0.28                               # about a quarter of the clips
    assert torch.equal(mixed[~sync], t[~sync]) and (mixed.diff(dim=1) >= 0).all()   # still non-decreasing
    assert (mixed[sync, 0] >= 900).double().mean() > 0.05                  # the first frame now sees high noise
    every = mix_synchronous(t, 1.0, 1000, g)
    assert (every == every[:, :1]).all()                                   # fraction 1: all synchronous
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\], got 1.5"):
        mix_synchronous(t, 1.5, 1000, g)


def test_mix_clean_history_zeroes_a_prefix_of_some_clips_and_draws_nothing_at_zero():
    from ardiff_edu.fopp import mix_clean_history

    g = torch.Generator().manual_seed(0)
    t = sample_timesteps("independent", 4000, 16, 1000, g)
    state = g.get_state()
    assert mix_clean_history(t, 0.0, g) is t and torch.equal(g.get_state(), state)        # off: no draw at all
    mixed = mix_clean_history(t, 0.5, g)
    changed = (mixed != t).any(1)
    assert 0.46 < changed.double().mean() < 0.54                           # about half of the clips
    assert torch.equal(mixed[~changed], t[~changed])
    cut = (mixed[changed] == 0).int().cumprod(1).sum(1)                    # length of each clean prefix
    assert cut.min() >= 1 and cut.max() <= 15                              # k in 1..F-1: never the whole clip
    assert set(cut.tolist()) == set(range(1, 16))                          # every cut occurs
    keep = torch.arange(16) >= cut[:, None]
    assert torch.equal(mixed[changed][keep], t[changed][keep])             # frames from the cut on keep their draw
    fopp = sample_timesteps("fopp", 500, 16, 1000, g)
    assert (mix_clean_history(fopp, 1.0, g).diff(dim=1) >= 0).all()        # still non-decreasing
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\], got 1.5"):
        mix_clean_history(t, 1.5, g)
    with pytest.raises(ValueError, match=r"num_frames must be >= 2, got 1"):
        mix_clean_history(t[:, :1], 0.5, g)
