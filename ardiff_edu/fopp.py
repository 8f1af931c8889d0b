"""FoPP, the Frame-oriented Probability Propagation training scheduler, and its alternatives (notebook 02).

Training draws one integer timestep ``t_f`` per frame. AR-Diffusion asks for **non-decreasing** timesteps,
``t_0 <= t_1 <= ... <= t_{F-1}`` (earlier frames are always at least as clean as later ones), and FoPP is how it
draws them. Four samplers, all behind one call::

    sample_timesteps(kind, batch_size, num_frames, num_timesteps, generator=None) -> LongTensor [B, F]

* ``full_sequence``: one ``t ~ U{0..T-1}`` per clip, shared by every frame (synchronous video diffusion);
* ``independent``: ``t_f ~ U{0..T-1}`` for every frame (Diffusion Forcing; the official ``diff_forcing``);
* ``uniform_monotone``: uniform over all non-decreasing sequences (the official ``autoregressive_diffusion``);
* ``fopp``: FoPP. Pick an anchor frame ``f*`` and its timestep uniformly, then fill the frames before it (backward)
  and after it (forward) so that the whole sequence is uniform among the non-decreasing sequences through the anchor
  (the official ``ar_diff_midsamplet``).

The two monotone samplers rest on two dynamic-programming count tables:

* :func:`start_counts` ``S[t, f]``: non-decreasing completions ``(t_f, ..., t_{F-1})`` that start at ``t_f = t``,
  ``S[t, f] = S[t+1, f] + S[t, f+1]``;
* :func:`end_counts` ``E[t, f]``: non-decreasing prefixes ``(t_0, ..., t_f)`` that end at ``t_f = t``,
  ``E[t, f] = E[t-1, f] + E[t, f-1]``.

Official code: ``src/ardiff/modules/timestep_sampler.py`` and ``BaseModel._generate_noise_levels`` in
``src/ardiff/base.py`` (iva-mzsun/AR-Diffusion, commit 7a37b94). The official sampler loops in Python over the batch;
ours draws a whole batch with ``F`` inverse-CDF look-ups (``torch.searchsorted``) on cumulative tables.
:func:`fopp_reference` keeps the per-sample loop as the baseline for tests and ``python -m ardiff_edu bench``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = [
    "KINDS", "MONOTONE_KINDS", "sample_timesteps", "mix_synchronous", "mix_clean_history", "check_band",
    "first_frame_timesteps",
    "start_counts", "end_counts",
    "count_monotone_sequences",
    "fopp_reference", "sequence_probability", "exact_marginals",
]

#: The training-timestep samplers :func:`sample_timesteps` knows.
KINDS = ("full_sequence", "independent", "uniform_monotone", "fopp")
#: The samplers whose draws are always non-decreasing along the frames.
MONOTONE_KINDS = ("full_sequence", "uniform_monotone", "fopp")


# ----------------------------------------------------------------------------------------------------------------
# DP count tables
# ----------------------------------------------------------------------------------------------------------------
class _Tables(NamedTuple):
    start: torch.Tensor       # S[t, f], (T, F)
    end: torch.Tensor         # E[t, f], (T, F)
    suffix_rev: torch.Tensor  # (F, T): row f is [sum_{k>=t} S[k, f] for t = T-1 down to 0] (ascending)
    prefix: torch.Tensor      # (F, T): row f is [sum_{k<=t} E[k, f] for t = 0 up to T-1] (ascending)


def _check_table_args(T, F) -> tuple[int, int]:
    return check_int("num_timesteps", T, 1), check_int("num_frames", F, 1)


@lru_cache(maxsize=16)
def _tables(T: int, F: int) -> _Tables:
    start = torch.empty(T, F, dtype=torch.float64)
    # boundary: a completion that starts at the last frame has one element, $S[t, F-1] = 1$
    start[:, F - 1] = 1.0
    for f in range(F - 2, -1, -1):
        # $S[t, f] = S[t+1, f] + S[t, f+1]$, with $S[T-1, f] = 1$: unrolled along $t$ it is a suffix sum,
        # $S[t, f] = \sum_{k \ge t} S[k, f+1]$ (the next frame may take any $k \ge t$)
        start[:, f] = start[:, f + 1].flip(0).cumsum(0).flip(0)
    end = torch.empty(T, F, dtype=torch.float64)
    # boundary: a prefix that ends at the first frame has one element, $E[t, 0] = 1$
    end[:, 0] = 1.0
    for f in range(1, F):
        # $E[t, f] = E[t-1, f] + E[t, f-1]$, with $E[0, f] = 1$: a prefix sum, $E[t, f] = \sum_{k \le t} E[k, f-1]$
        end[:, f] = end[:, f - 1].cumsum(0)
    if not (torch.isfinite(start).all() and torch.isfinite(end).all()):
        raise ValueError(f"num_frames={F} is too large for num_timesteps={T}: the sequence counts "
                         f"C(T+F-1, F) overflow float64 (keep C(T+F-1, F) below 1e300)")
    # inverse-CDF tables. Forward step at frame f: P(k) ∝ S[k, f] over k >= lo; the normaliser is the suffix sum
    # $\sum_{k \ge lo} S[k, f]$ (= S[lo, f-1] for f >= 1). Suffix sums keep the tail near T-1 exact, where the
    # counts are 1, 2, 3, ... and a prefix sum of size 1e34 would have swallowed them.
    suffix = start.flip(0).cumsum(0)                     # suffix[i, f] = sum_{k >= T-1-i} S[k, f], ascending in i
    # backward step at frame f: P(k) ∝ E[k, f] over k <= hi; normaliser $\sum_{k \le hi} E[k, f]$ (= E[hi, f+1])
    prefix = end.cumsum(0)
    return _Tables(start, end, suffix.T.contiguous(), prefix.T.contiguous())


def start_counts(T: int, F: int) -> torch.Tensor:
    """``S[t, f]``: how many non-decreasing ``(t_f, ..., t_{F-1})`` start at ``t_f = t`` (float64 ``(T, F)``).

    Closed form ``C((T-1-t) + (F-1-f), F-1-f)``; the counts reach ~1e34 at T=1000, F=16, hence float64.
    """
    T, F = _check_table_args(T, F)
    return _tables(T, F).start.clone()


def end_counts(T: int, F: int) -> torch.Tensor:
    """``E[t, f]``: how many non-decreasing ``(t_0, ..., t_f)`` end at ``t_f = t`` (float64 ``(T, F)``).

    Closed form ``C(t + f, f)``.
    """
    T, F = _check_table_args(T, F)
    return _tables(T, F).end.clone()


def count_monotone_sequences(T: int, F: int) -> int:
    """The number of non-decreasing sequences of ``F`` timesteps in ``{0..T-1}``: ``C(T+F-1, F)``, exactly."""
    T, F = _check_table_args(T, F)
    return math.comb(T + F - 1, F)


# ----------------------------------------------------------------------------------------------------------------
# vectorised samplers
# ----------------------------------------------------------------------------------------------------------------
def _forward_step(tab: _Tables, f: int, lo: torch.Tensor, u: torch.Tensor, T: int) -> torch.Tensor:
    """Draw ``k ∈ [lo, T-1]`` with ``P(k) ∝ S[k, f]``, one per batch element, from uniforms ``u ∈ [0, 1)``."""
    row = tab.suffix_rev[f]                      # row[T-1-k] = R[k] = sum_{j >= k} S[j, f], ascending
    # $w = u \cdot R[lo]$; take the largest $k \ge lo$ with $R[k] > w$:
    # $P(k) = (R[k] - R[k+1]) / R[lo] = S[k, f] / R[lo]$
    w = u * row[T - 1 - lo]
    i = torch.searchsorted(row, w, right=True)   # first index with row[i] > w
    return torch.maximum(T - 1 - i, lo)          # u·R[lo] may round up to R[lo]: keep k >= lo


def _backward_step(tab: _Tables, f: int, hi: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Draw ``k ∈ [0, hi]`` with ``P(k) ∝ E[k, f]``, one per batch element, from uniforms ``u ∈ [0, 1)``."""
    row = tab.prefix[f]                          # row[k] = P[k] = sum_{j <= k} E[j, f], ascending
    # $w = u \cdot P[hi]$; take the smallest $k$ with $P[k] > w$: $P(k) = (P[k] - P[k-1]) / P[hi] = E[k, f] / P[hi]$
    w = u * row[hi]
    k = torch.searchsorted(row, w, right=True)
    return torch.minimum(k, hi)                  # u·P[hi] may round up to P[hi]: keep k <= hi


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def sample_timesteps(kind: str, batch_size: int, num_frames: int, num_timesteps: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw per-frame training timesteps, int64 ``[batch_size, num_frames]`` in ``[0, num_timesteps - 1]``.

    ``kind`` is one of :data:`KINDS` (see the module docstring). The same seeded ``generator`` gives the same draws;
    ``None`` uses torch's global generator. The result is a CPU tensor (move it with ``.to(device)``).
    """
    kind = check_choice("kind", kind, KINDS)
    B = check_int("batch_size", batch_size, 1)
    F = check_int("num_frames", num_frames, 1)
    T = check_int("num_timesteps", num_timesteps, 1)
    _check_generator(generator)

    if kind == "full_sequence":
        # one $t \sim \mathcal{U}\{0..T-1\}$ per clip, copied to every frame
        return torch.randint(T, (B, 1), generator=generator).expand(B, F).contiguous()
    if kind == "independent":
        # $t_f \sim \mathcal{U}\{0..T-1\}$ independently (Diffusion Forcing)
        return torch.randint(T, (B, F), generator=generator)

    tab = _tables(T, F)
    t = torch.zeros(B, F, dtype=torch.long)
    if kind == "uniform_monotone":
        u = torch.rand(B, F, generator=generator, dtype=torch.float64)
        lo = torch.zeros(B, dtype=torch.long)
        for f in range(F):
            # $P(t_f = k \mid t_{f-1}) \propto S[k, f]$ over $k \ge t_{f-1}$ ($t_{-1} = 0$);
            # the product telescopes: each sequence gets $1 / C(T+F-1, F)$
            lo = _forward_step(tab, f, lo, u[:, f], T)
            t[:, f] = lo
        return t

    # FoPP. The anchor frame and its timestep are uniform:
    # $f^* \sim \mathcal{U}\{0..F-1\}$, $t_{f^*} \sim \mathcal{U}\{0..T-1\}$
    anchor = torch.randint(F, (B,), generator=generator)
    t[torch.arange(B), anchor] = torch.randint(T, (B,), generator=generator)
    u = torch.rand(B, F, generator=generator, dtype=torch.float64)
    for f in range(F - 2, -1, -1):
        # backward, frames before the anchor: $P(t_f = k \mid t_{f+1}) \propto E[k, f]$ over $k \le t_{f+1}$
        rows = (f < anchor).nonzero().squeeze(1)
        t[rows, f] = _backward_step(tab, f, t[rows, f + 1], u[rows, f])
    for f in range(1, F):
        # forward, frames after the anchor: $P(t_f = k \mid t_{f-1}) \propto S[k, f]$ over $k \ge t_{f-1}$
        rows = (f > anchor).nonzero().squeeze(1)
        t[rows, f] = _forward_step(tab, f, t[rows, f - 1], u[rows, f], T)
    return t


def mix_synchronous(t: torch.Tensor, fraction: float, num_timesteps: int,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace a random ``fraction`` of the clips of ``t`` (``[B, F]``) by synchronous ones (one level per clip).

    **Not in the paper**: an experiment on how often the first frame is trained at high noise (FoPP gives it a
    timestep of 900 or more in under 1 % of the clips). Synchronous clips are non-decreasing too, so the mix keeps
    AR-Diffusion's constraint. ``fraction = 0`` returns ``t`` and draws nothing.
    """
    if check_float("fraction", fraction, 0, 1) == 0:
        return t
    B, F = t.shape
    sync = torch.rand(B, generator=generator) < fraction                       # which clips become synchronous
    return torch.where(sync[:, None], sample_timesteps("full_sequence", B, F, num_timesteps, generator), t)


def mix_clean_history(t: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Give a random ``fraction`` of the clips of ``t`` (``[B, F]``, ``F >= 2``) a clean history: frames before a cut
    ``k ~ U{1..F-1}`` get timestep 0, the rest keep their draw.

    **Not in the paper** (Diffusion Forcing calls clean history *teacher forcing*): an experiment on the one-step
    prediction. The sampler feeds finished frames clean, so a frame is finished next to a clean history, which the
    paper's samplers draw almost never (``independent``: eight given frames all below ``t = 200`` in ``0.2^8`` of the
    clips); frame ``k`` of a mixed clip is trained in exactly that situation. Zeros before a non-decreasing draw stay
    non-decreasing, so the mix keeps AR-Diffusion's constraint. ``fraction = 0`` returns ``t`` and draws nothing.
    """
    if check_float("fraction", fraction, 0, 1) == 0:
        return t
    B, F = t.shape
    check_int("num_frames", F, 2)
    mixed = torch.rand(B, generator=generator) < fraction                      # which clips get a clean history
    cut = torch.randint(1, F, (B,), generator=generator)                        # $k \sim \mathcal{U}\{1..F-1\}$
    clean = mixed[:, None] & (torch.arange(F) < cut[:, None])                   # frames $f < k$ of the mixed clips
    return torch.where(clean, torch.zeros_like(t), t)


def check_band(band, num_timesteps: int) -> tuple[int, int]:
    """``band = (lo, hi)``: two ints with ``0 <= lo < hi <= num_timesteps``; returned as a tuple."""
    T = check_int("num_timesteps", num_timesteps, 1)
    if (not isinstance(band, (tuple, list)) or len(band) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in band)
            or not 0 <= band[0] < band[1] <= T):
        raise ValueError(f"first_frame_band must be two ints (lo, hi) with 0 <= lo < hi <= {T} (a band of training "
                         f"timesteps [lo, hi)), got {band!r}")
    return int(band[0]), int(band[1])


def first_frame_timesteps(band, batch_size: int, num_timesteps: int,
                          generator: torch.Generator | None = None, draws: int = 1) -> torch.Tensor:
    """Timesteps ``[B, draws]`` for training every clip's frame 0 ``draws`` more times, alone, in the noise band
    ``[lo, hi)``.

    **Not in the paper**: under the causal mask frame 0 sees only itself, so the model of the first frame is an image
    model; FoPP gives it the clip's *lowest* level (500 or more in under 5 % of the clips), while
    ``data/samples/first_frame.md`` shows lone balls lost between levels 500 and 900. Drawn uniformly in the band.
    """
    lo, hi = check_band(band, num_timesteps)
    shape = (check_int("batch_size", batch_size, 1), check_int("draws", draws, 1))
    return torch.randint(lo, hi, shape, generator=generator)


# ----------------------------------------------------------------------------------------------------------------
# the per-sample reference (the official code's structure) and exact distributions
# ----------------------------------------------------------------------------------------------------------------
def fopp_reference(batch_size: int, num_frames: int, num_timesteps: int, rng=None) -> torch.Tensor:
    """FoPP as a plain per-sample Python loop with ``np.random.Generator.choice`` (slow; tests and bench only).

    ``rng`` is a ``numpy.random.Generator``, an int seed or ``None``.
    """
    B = check_int("batch_size", batch_size, 1)
    F = check_int("num_frames", num_frames, 1)
    T = check_int("num_timesteps", num_timesteps, 1)
    if rng is None or isinstance(rng, (int, np.integer)):
        rng = np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")
    tab = _tables(T, F)
    S, E = tab.start.numpy(), tab.end.numpy()
    out = np.zeros((B, F), dtype=np.int64)
    for b in range(B):
        seq = [0] * F
        anchor = int(rng.integers(F))
        seq[anchor] = int(rng.integers(T))
        for f in range(anchor - 1, -1, -1):           # backward: k in [0, t[f+1]], P ∝ E[k, f]
            w = E[: seq[f + 1] + 1, f]
            seq[f] = int(rng.choice(len(w), p=w / w.sum()))
        for f in range(anchor + 1, F):                # forward: k in [t[f-1], T-1], P ∝ S[k, f]
            lo = seq[f - 1]
            w = S[lo:, f]
            seq[f] = lo + int(rng.choice(len(w), p=w / w.sum()))
        out[b] = seq
    return torch.from_numpy(out)


def sequence_probability(kind: str, seq, num_timesteps: int) -> float:
    """The exact probability that ``sample_timesteps(kind, 1, len(seq), num_timesteps)`` returns ``seq``.

    For FoPP, given the anchor ``(f*, t*)`` the sequence is uniform among the ``E[t*, f*] · S[t*, f*]`` non-decreasing
    sequences through ``t*`` at frame ``f*``, so ``P(seq) = 1/(F T) · Σ_f* 1 / (E[t_f*, f*] · S[t_f*, f*])``.
    """
    kind = check_choice("kind", kind, KINDS)
    T = check_int("num_timesteps", num_timesteps, 1)
    seq = [int(x) for x in seq]
    F = check_int("len(seq)", len(seq), 1)
    for x in seq:
        check_int("seq element", x, 0, T - 1)
    monotone = all(a <= b for a, b in zip(seq, seq[1:]))
    if kind == "independent":
        return float(T) ** -F
    if kind == "full_sequence":
        return 1.0 / T if len(set(seq)) == 1 else 0.0
    if not monotone:
        return 0.0
    if kind == "uniform_monotone":
        return 1.0 / count_monotone_sequences(T, F)
    tab = _tables(T, F)
    through = [float(tab.end[x, f] * tab.start[x, f]) for f, x in enumerate(seq)]
    return sum(1.0 / n for n in through) / (F * T)


def exact_marginals(kind: str, num_frames: int, num_timesteps: int) -> np.ndarray:
    """``P(t_f = k)`` for every frame, exactly (float64 ``(F, T)``), by propagating distributions through the steps."""
    kind = check_choice("kind", kind, KINDS)
    F = check_int("num_frames", num_frames, 1)
    T = check_int("num_timesteps", num_timesteps, 1)
    if kind in ("full_sequence", "independent"):
        return np.full((F, T), 1.0 / T)
    tab = _tables(T, F)
    S, E = tab.start.numpy(), tab.end.numpy()
    upper = np.triu(np.ones((T, T)))                   # upper[j, k] = 1 where k >= j

    def forward(f):  # fwd[j, k] = P(t_f = k | t_{f-1} = j) = S[k, f] / sum_{k' >= j} S[k', f]
        m = upper * S[:, f][None, :]
        return m / m.sum(1, keepdims=True)

    def backward(f):  # bwd[j, k] = P(t_f = k | t_{f+1} = j) = E[k, f] / sum_{k' <= j} E[k', f]
        m = upper.T * E[:, f][None, :]
        return m / m.sum(1, keepdims=True)

    out = np.zeros((F, T))
    if kind == "uniform_monotone":
        p = S[:, 0] / S[:, 0].sum()
        out[0] = p
        for f in range(1, F):
            p = p @ forward(f)
            out[f] = p
        return out
    fwd = [None] + [forward(f) for f in range(1, F)]
    bwd = [backward(f) for f in range(F - 1)] + [None]
    for a in range(F):                                 # mix over the anchor frame, each with probability 1/F
        p = np.full(T, 1.0 / T)
        out[a] += p / F
        q = p
        for f in range(a - 1, -1, -1):
            q = q @ bwd[f]
            out[f] += q / F
        q = p
        for f in range(a + 1, F):
            q = q @ fwd[f]
            out[f] += q / F
    return out
