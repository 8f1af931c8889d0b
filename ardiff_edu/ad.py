"""The AD (asynchronous diffusion) inference scheduler of AR-Diffusion: a staircase of step indices (notebook 03).

Sampling runs ``S`` DDIM steps per frame, but not all frames at once. Every frame ``f`` carries a **step index**
``k_f``: ``0`` = untouched noise, ``S`` = finished. One **iteration** is one network call; it computes a new row of
step indices from the previous one, left to right (``generate_timestep_matrix`` in ``src/ardiff/modules/fifoddim.py``
of iva-mzsun/AR-Diffusion, commit 7a37b94)::

    the first frame, or a frame whose predecessor is finished:   k_new[f] = k_prev[f] + 1
    otherwise (stay exactly s steps behind the predecessor):      k_new[f] = k_new[f-1] - s
    clamp to [0, S]

A frame whose index changed gets one DDIM update in that iteration (``update_mask``); every other frame is kept.
``s = 0`` is synchronous diffusion (``S`` iterations), ``s = S`` is frame-by-frame auto-regression, and in between
the frames form a staircase: ``S + (F-1)·s`` iterations. The network is told ``t_f = template[k_f]`` with
``template = [T-1] + the DDIM timesteps from the noisy end`` (:func:`step_template`).

Long videos use a **sliding window** of ``window`` frames (the training length): the window starts at the first
``window`` frames and slides right by one frame whenever the frame just past it starts. A frame that leaves the
window must be finished, which needs ``s·window >= S``; the official code silently skips the remaining updates
otherwise. ``overflow`` chooses what we do then (refuse, hold new frames back, or reproduce the skip).

**Given frames** (video prediction): ``prefix_frames = K`` marks the first ``K`` frames finished from the start. The
rule above then starts at frame ``K`` (its predecessor is finished), the given frames fill the front of the first
window and slide out of it as new frames start; they are never updated. This is SkyReels-V2's ``num_pre_ready``.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass, field

import numpy as np

from ardiff_edu.utils import check_choice, check_int

__all__ = ["OVERFLOW_MODES", "Schedule", "ddim_timesteps", "step_template", "smallest_safe_s", "ad_nfe",
           "ad_schedule"]

#: What :func:`ad_schedule` does when a sliding window would drop unfinished frames.
OVERFLOW_MODES = ("raise", "wait", "drop")


# ----------------------------------------------------------------------------------------------------------------
# The object every inference schedule returns
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Schedule:
    """A step-index staircase and everything a sampler or a plot needs from it (arrays are read-only).

    Attributes:
        kind: the family (``"ar_diffusion"`` or one of the peers in :mod:`ardiff_edu.staircases`).
        step_index: int64 ``[iterations, F]``; row ``i`` is the state after iteration ``i`` (0 = noise, S = done).
        update_mask: bool ``[iterations, F]``; entries that receive a DDIM update in that iteration.
        skipped_mask: bool ``[iterations, F]``; entries the rule moved while the frame was outside the window, so no
            update was computed (only ``overflow="drop"``, the official silent skip, produces them).
        windows: int64 ``[iterations, 2]``; ``[start, stop)`` of the frames fed to the network in that iteration.
        template: int64 ``[S + 1]``; the model timestep of each step index (:func:`step_template`).
        num_steps: ``S``.  s: the lag between neighbouring frames (or blocks), in sampling steps.
        window: the requested window in frames (``None`` = the whole video).
        overflow: the long-video policy (:data:`OVERFLOW_MODES`), ``None`` for kinds without a sliding window.
        prefix_frames: ``K`` given frames at the front (finished from the start, never updated).
        formula: the network-call count as a formula with its numbers filled in.
        params: the kind-specific knobs.  calls_per_iteration: network calls per iteration (FIFO's partitions).
    """

    kind: str
    step_index: np.ndarray
    update_mask: np.ndarray
    skipped_mask: np.ndarray
    windows: np.ndarray
    template: np.ndarray
    num_steps: int
    s: float | int | None
    window: int | None = None
    overflow: str | None = None
    prefix_frames: int = 0
    formula: str = ""
    params: types.MappingProxyType = field(default_factory=lambda: types.MappingProxyType({}))
    calls_per_iteration: int = 1

    def __post_init__(self):
        for name in ("step_index", "update_mask", "skipped_mask", "windows", "template"):
            arr = np.array(getattr(self, name), copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "params", types.MappingProxyType(dict(self.params)))

    @property
    def num_frames(self) -> int:
        """``F``, the number of frames (given ones included)."""
        return int(self.step_index.shape[1])

    @property
    def num_iterations(self) -> int:
        """Rows of the staircase."""
        return int(self.step_index.shape[0])

    @property
    def nfe(self) -> int:
        """Network function evaluations: one per iteration (times ``calls_per_iteration``; ×2 more with CFG)."""
        return self.num_iterations * self.calls_per_iteration

    @property
    def window_size(self) -> int:
        """Frames fed to the network per iteration."""
        return int(self.windows[0, 1] - self.windows[0, 0])

    @property
    def timesteps(self) -> np.ndarray:
        """int64 ``[iterations, F]``: the model timestep of every entry, ``template[step_index]``."""
        return self.template[self.step_index]

    @property
    def updates_per_frame(self) -> np.ndarray:
        """DDIM updates each frame received (``S`` for a generated frame unless updates were dropped, 0 if given)."""
        return self.update_mask.sum(axis=0)

    @property
    def in_window(self) -> np.ndarray:
        """bool ``[iterations, F]``: True where the frame is inside that iteration's window."""
        f = np.arange(self.num_frames)
        return (f >= self.windows[:, :1]) & (f < self.windows[:, 1:])

    def __eq__(self, other):
        if not isinstance(other, Schedule):
            return NotImplemented
        arrays = ("step_index", "update_mask", "skipped_mask", "windows", "template")
        scalars = ("kind", "num_steps", "s", "window", "overflow", "prefix_frames", "calls_per_iteration")
        return (all(np.array_equal(getattr(self, a), getattr(other, a)) for a in arrays)
                and all(getattr(self, a) == getattr(other, a) for a in scalars)
                and dict(self.params) == dict(other.params))

    __hash__ = None

    def to_text(self, rows=None, timesteps: bool = True, show_window: bool = True) -> str:
        """The staircase as text, one line per iteration: ``*`` marks an update, ``!`` an update the window skipped.

        ``timesteps=False`` prints step indices instead of model timesteps; ``rows``: iteration numbers (default all).
        """
        values = self.timesteps if timesteps else self.step_index
        rows = range(self.num_iterations) if rows is None else rows
        width = max(len(str(int(values.max()))), 1)
        label = len(f"it{self.num_iterations - 1}:")
        lines = []
        for i in rows:
            marks = ['*' if self.update_mask[i, f] else '!' if self.skipped_mask[i, f] else ' '
                     for f in range(self.num_frames)]
            cells = [f"{int(values[i, f]):>{width}}{marks[f]}" for f in range(self.num_frames)]
            line = f"{f'it{i}:':<{label}} " + " ".join(cells)
            if show_window:
                line += f"  window [{int(self.windows[i, 0])},{int(self.windows[i, 1])})"
            lines.append(line.rstrip())
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# Which model timestep a step index stands for
# ----------------------------------------------------------------------------------------------------------------
def check_steps(num_steps, num_timesteps) -> tuple[int, int]:
    """``(S, T)`` after checking ``T >= 2`` and ``1 <= S <= T - 1``."""
    T = check_int("num_timesteps", num_timesteps, 2)
    # the LDM "+1" shift puts the last DDIM step at (S-1)*(T//S) + 1, which is T (out of range) when S = T
    return check_int("num_steps", num_steps, 1, T - 1), T


def ddim_timesteps(num_steps: int, num_timesteps: int = 1000) -> np.ndarray:
    """The LDM "uniform" DDIM timesteps, ascending: ``{0, c, 2c, ...} + 1`` with ``c = T // S``, exactly ``S`` of them.

    ``S = 50, T = 1000`` gives ``[1, 21, 41, ..., 981]``. (LDM's ``make_ddim_timesteps`` returns more than ``S`` steps
    when ``S`` does not divide ``T``; we always return ``S``.)
    """
    S, T = check_steps(num_steps, num_timesteps)
    return np.arange(S, dtype=np.int64) * (T // S) + 1


def step_template(num_steps: int, num_timesteps: int = 1000) -> np.ndarray:
    """Model timestep for each step index ``k = 0..S``: ``template[0] = T-1`` (untouched noise), then the DDIM steps
    from the noisy end, ``template[k] = ddim[S-k]``. ``S = 50`` gives ``[999, 981, 961, ..., 21, 1]``."""
    ddim = ddim_timesteps(num_steps, num_timesteps)
    return np.concatenate([[int(num_timesteps) - 1], ddim[::-1]]).astype(np.int64)


# ----------------------------------------------------------------------------------------------------------------
# The AD rule with its sliding window
# ----------------------------------------------------------------------------------------------------------------
def smallest_safe_s(num_steps: int, window: int) -> int:
    """The smallest AR step ``s`` with ``s·window >= S``: below it, a sliding window drops unfinished frames."""
    return math.ceil(check_int("num_steps", num_steps, 1) / check_int("window", window, 1))


def _check(num_frames, num_steps, s, window, num_timesteps, overflow, prefix_frames):
    S, T = check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    K = check_int("prefix_frames", prefix_frames, 0, F - 1)
    s = check_int("s", s, 0, S)
    W = F if window is None else min(check_int("window", window, K + 1), F)
    return F, S, s, W, T, check_choice("overflow", overflow, OVERFLOW_MODES), K


def _unsafe(F: int, S: int, s: int, W: int, K: int) -> bool:
    # generated frame K+j leaves the window when frame K+j+W starts, j·s + W·s iterations in; it needs j·s + S
    return F - K > W and s * W < S


def _unsafe_message(F, S, s, W, K) -> str:
    given = f", {K} given" if K else ""
    return (f"s={s} is unsafe for this long video (num_frames={F}{given} > window={W}, num_steps={S}): s*window = "
            f"{s * W} < num_steps = {S}, so frames would leave the window before they are finished (the official "
            f"code silently drops their remaining steps). The smallest safe s is {smallest_safe_s(S, W)} "
            f"(= ceil(num_steps / window)); or pass overflow='wait' to hold new frames back until the oldest frame "
            f"in the window is finished (more network calls), or overflow='drop' to reproduce the official code.")


def _cost(F: int, S: int, s: int, W: int, overflow: str, K: int) -> tuple[int, str]:
    """The number of iterations and its formula. Given frames are free: the rule runs over ``N = F - K`` frames."""
    N = F - K
    name = "(F-K-1)" if K else "(F-1)"
    if overflow == "wait" and _unsafe(F, S, s, W, K):
        # each group of `window` frames waits until the previous group is finished
        n = ((N - 1) // W) * S + ((N - 1) % W) * s + S
        return n, f"({name}//window)*S + ({name}%window)*s + S = {(N - 1) // W}*{S} + {(N - 1) % W}*{s} + {S} = {n}"
    n = S + (N - 1) * s
    return n, (f"S = {n}" if s == 0 or N == 1 else f"S + {name}*s = {S} + {N - 1}*{s} = {n}")


def ad_nfe(num_frames: int, num_steps: int, s: int, window: int | None = None, overflow: str = "raise",
           num_timesteps: int = 1000, prefix_frames: int = 0) -> int:
    """Network calls of :func:`ad_schedule`, by formula: ``S + (F-K-1)·s``, or more with ``overflow="wait"``."""
    F, S, s, W, _, overflow, K = _check(num_frames, num_steps, s, window, num_timesteps, overflow, prefix_frames)
    if overflow == "raise" and _unsafe(F, S, s, W, K):
        raise ValueError(_unsafe_message(F, S, s, W, K))
    return _cost(F, S, s, W, overflow, K)[0]


def _ad_rows(F: int, S: int, s: int, W: int, overflow: str, K: int):
    """Run the AD rule from ``k = [S]*K + [0]*(F-K)``; return the rows, the moved masks and the windows."""
    k = [S] * K + [0] * (F - K)
    rows, moved, windows = [], [], []
    terminal = W  # the official sliding rule: the first frame past the window
    lo = 0        # the "wait" rule: the first frame of the window
    while min(k) < S:
        new = [0] * F
        for f in range(F):
            if f == 0 or k[f - 1] == S:
                cand = k[f] + 1                          # the head, or the predecessor is finished: advance by one
            elif overflow == "wait":
                cand = min(k[f] + 1, new[f - 1] - s)     # at least s behind (a held frame may lag by more)
            else:
                cand = new[f - 1] - s                    # exactly s behind the predecessor
            cand = min(max(cand, 0), S)
            if overflow == "wait" and f >= lo + W and cand != k[f]:
                if k[lo] == S:
                    lo += 1                              # the oldest frame is finished: slide
                else:
                    cand = k[f]                          # hold the new frame back (still noise)
            new[f] = cand
        changed = [new[f] != k[f] for f in range(F)]
        if overflow != "wait":
            if terminal < F and changed[terminal]:
                terminal += 1                            # the frame past the window started: slide by one
            lo = terminal - W
        rows.append(new)
        moved.append(changed)
        windows.append((lo, lo + W))
        k = new
    return rows, moved, windows


def ad_schedule(num_frames: int, num_steps: int, s: int, window: int | None = None, num_timesteps: int = 1000,
                overflow: str = "raise", prefix_frames: int = 0) -> Schedule:
    """AR-Diffusion's asynchronous (AD) inference schedule (see the module docstring for the rule).

    Args:
        num_frames: ``F >= 1``, given frames included.
        num_steps: ``S`` sampling steps, ``1 <= S <= T-1``.
        s: the AR step (the official ``ardiff_step``), ``0 <= s <= S``.
        window: frames per network call (``base_num_frames``, 16 in the paper); ``None`` = the whole video.
        num_timesteps: ``T`` training timesteps.
        overflow: when a sliding window would drop unfinished frames (``s·window < S`` and more frames to generate
            than fit in the window):

            * ``"raise"`` (default): refuse with a ``ValueError`` that states the smallest safe ``s``;
            * ``"wait"``: hold a frame that would start outside the window back (still noise) until the oldest frame
              in the window is finished, then slide. Every frame gets its ``S`` updates, at the cost of extra calls;
            * ``"drop"``: the official behaviour, for teaching: the staircase is computed as if every frame were
              updated, but the updates of frames outside the window are never computed. They are marked in
              ``skipped_mask``, so ``step_index`` is the *scheduled* index and such a frame ends unfinished.
        prefix_frames: ``K`` given frames (video prediction), ``0 <= K < F``.
    """
    F, S, s, W, T, overflow, K = _check(num_frames, num_steps, s, window, num_timesteps, overflow, prefix_frames)
    if overflow == "raise" and _unsafe(F, S, s, W, K):
        raise ValueError(_unsafe_message(F, S, s, W, K))
    rows, moved, windows = _ad_rows(F, S, s, W, overflow, K)
    moved, windows = np.array(moved, dtype=bool), np.array(windows, dtype=np.int64)
    frames = np.arange(F)
    inside = (frames >= windows[:, :1]) & (frames < windows[:, 1:])
    return Schedule(kind="ar_diffusion", step_index=np.array(rows, dtype=np.int64), update_mask=moved & inside,
                    skipped_mask=moved & ~inside, windows=windows, template=step_template(S, T), num_steps=S, s=s,
                    window=window, overflow=overflow, prefix_frames=K, formula=_cost(F, S, s, W, overflow, K)[1],
                    params={"s": s, "window": window, "overflow": overflow, "prefix_frames": K})
