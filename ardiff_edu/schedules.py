"""Inference schedules: AR-Diffusion's asynchronous (AD) step-index staircase, its sliding window, and its peers.

Every schedule here is the same object, a :class:`Schedule`: a *step-index matrix* ``step_index[iteration, frame]``.

* A frame's step index ``k`` counts the sampling (DDIM) steps it has received: ``0`` = untouched noise,
  ``S`` = finished.
* Row ``i`` is the state **after** iteration ``i``; one iteration is one network call over a window of frames.
* ``update_mask[i, f]`` is True where frame ``f`` received a DDIM update in iteration ``i`` (its index went up by one).
* The model timestep fed for an entry is ``template[step_index]``, with ``template = [T-1] + reversed(ddim)``
  (:func:`step_template`): an untouched frame is labelled ``T-1``, a frame at index ``k`` is evaluated at the
  ``k``-th DDIM step counted from the noisy end.

AR-Diffusion's rule (``generate_timestep_matrix`` in the official ``fifoddim.py``, notes §3.2) is :func:`ad_schedule`.
The peers (field notes §A.3, "one staircase, many names") fill the same matrix with other knobs; :func:`staircase`
builds any of them by name (:data:`KINDS`).
"""

from __future__ import annotations

import inspect
import math
import types
from dataclasses import dataclass, field

import numpy as np

from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = [
    "KINDS", "OVERFLOW_MODES", "Schedule", "ddim_timesteps", "step_template", "ad_schedule", "ad_nfe",
    "smallest_safe_s", "full_sequence", "pyramid", "skyreels", "fifo", "chunked", "staircase", "kind_params",
]

#: How :func:`ad_schedule` treats a long video whose window would drop unfinished frames.
OVERFLOW_MODES = ("raise", "wait", "drop")


# ----------------------------------------------------------------------------------------------------------------
# The object every schedule returns
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Schedule:
    """A step-index staircase and everything a sampler or a plot needs from it (arrays are read-only).

    Attributes:
        kind: the schedule family (one of :data:`KINDS`).
        step_index: int64 ``[iterations, F]``; row ``i`` is the state after iteration ``i`` (0 = noise, S = done).
        update_mask: bool ``[iterations, F]``; entries that received a DDIM update in that iteration.
        skipped_mask: bool ``[iterations, F]``; entries whose index the schedule moved although the frame was outside
            the window, so the network never computed that update. Only ``overflow="drop"`` (the official code's
            silent drop) produces them; it is all False otherwise.
        windows: int64 ``[iterations, 2]``; ``[start, stop)`` of the frames fed to the network in that iteration.
        template: int64 ``[S + 1]``; model timestep for each step index (:func:`step_template`).
        num_steps: ``S``.
        s: the lag between neighbouring frames, in sampling steps (for blocks: between neighbouring blocks).
        window: the requested window in frames (``None`` = the whole video).
        overflow: the long-video policy used (:data:`OVERFLOW_MODES`), ``None`` for kinds without a sliding window.
        params: the kind-specific knobs it was built with.
        calls_per_iteration: network calls per iteration (FIFO-Diffusion with partitions makes several).
    """

    kind: str
    step_index: np.ndarray
    update_mask: np.ndarray
    skipped_mask: np.ndarray
    windows: np.ndarray
    template: np.ndarray
    num_steps: int
    s: float | int | None
    window: int | None
    overflow: str | None = None
    params: types.MappingProxyType = field(default_factory=lambda: types.MappingProxyType({}))
    calls_per_iteration: int = 1

    def __post_init__(self):
        for name in ("step_index", "update_mask", "skipped_mask", "windows", "template"):
            arr = np.array(getattr(self, name), copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "params", types.MappingProxyType(dict(self.params)))

    # -- sizes ---------------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        """``F``, the number of frames."""
        return int(self.step_index.shape[1])

    @property
    def num_iterations(self) -> int:
        """Number of iterations (rows of the staircase)."""
        return int(self.step_index.shape[0])

    @property
    def nfe(self) -> int:
        """Network function evaluations: one per iteration (times ``calls_per_iteration``; ×2 more with CFG)."""
        return self.num_iterations * self.calls_per_iteration

    @property
    def window_size(self) -> int:
        """Frames fed to the network per iteration (constant for every kind here)."""
        return int(self.windows[0, 1] - self.windows[0, 0])

    # -- derived views -------------------------------------------------------------------------------------------
    @property
    def timesteps(self) -> np.ndarray:
        """int64 ``[iterations, F]``: the model timestep of every entry, ``template[step_index]``."""
        return self.template[self.step_index]

    @property
    def updates_per_frame(self) -> np.ndarray:
        """How many DDIM updates each frame actually received (``S`` for every frame unless updates were dropped)."""
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
        scalars = ("kind", "num_steps", "s", "window", "overflow", "calls_per_iteration")
        return (all(np.array_equal(getattr(self, a), getattr(other, a)) for a in arrays)
                and all(getattr(self, a) == getattr(other, a) for a in scalars)
                and dict(self.params) == dict(other.params))

    __hash__ = None

    def to_text(self, rows=None, timesteps: bool = True, show_window: bool = True) -> str:
        """The staircase as text, one line per iteration, in the notation of the notes (§3.5).

        ``*`` marks an update, ``!`` an update the window skipped. ``timesteps=False`` prints step indices instead of
        model timesteps. ``rows``: an iterable of iteration numbers (default: all).
        """
        values = self.timesteps if timesteps else self.step_index
        rows = range(self.num_iterations) if rows is None else rows
        width = max(len(str(int(values.max()))), 1)
        label = len(f"it{self.num_iterations - 1}:")
        lines = []
        for i in rows:
            cells = []
            for f in range(self.num_frames):
                mark = "*" if self.update_mask[i, f] else "!" if self.skipped_mask[i, f] else " "
                cells.append(f"{int(values[i, f]):>{width}}{mark}")
            line = f"{f'it{i}:':<{label}} " + " ".join(cells)
            if show_window:
                lo, hi = (int(v) for v in self.windows[i])
                line += f"  window [{lo},{hi})"
            lines.append(line.rstrip())
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# DDIM steps and the template
# ----------------------------------------------------------------------------------------------------------------
def _check_steps(num_steps, num_timesteps) -> tuple[int, int]:
    T = check_int("num_timesteps", num_timesteps, 2)
    # the LDM "+1" shift puts the last DDIM step at (S-1)*(T//S) + 1, which is T (out of range) when S = T
    S = check_int("num_steps", num_steps, 1, T - 1)
    return S, T


def ddim_timesteps(num_steps: int, num_timesteps: int = 1000) -> np.ndarray:
    """The LDM "uniform" DDIM timesteps, ascending: ``{0, c, 2c, ...} + 1`` with ``c = T // S`` (``S`` of them).

    ``S = 50, T = 1000`` gives ``[1, 21, 41, ..., 981]``. Accepts ``1 <= S <= T - 1``: with ``S = T`` the LDM shift
    would put the last step at ``T``, outside ``[0, T-1]`` (LDM's ``make_ddim_timesteps`` has the same limit, and also
    returns more than ``S`` steps when ``S`` does not divide ``T``; we always return exactly ``S``).
    """
    S, T = _check_steps(num_steps, num_timesteps)
    c = T // S
    return np.arange(S, dtype=np.int64) * c + 1


def step_template(num_steps: int, num_timesteps: int = 1000) -> np.ndarray:
    """Model timestep for each step index ``k = 0..S``: ``template[0] = T-1`` (untouched noise), then the DDIM steps
    from the noisy end, ``template[k] = ddim[S-k]``. ``S = 50`` gives ``[999, 981, 961, ..., 21, 1]``."""
    ddim = ddim_timesteps(num_steps, num_timesteps)
    return np.concatenate([[int(num_timesteps) - 1], ddim[::-1]]).astype(np.int64)


# ----------------------------------------------------------------------------------------------------------------
# AR-Diffusion: the AD staircase with a sliding window
# ----------------------------------------------------------------------------------------------------------------
def smallest_safe_s(num_steps: int, window: int) -> int:
    """The smallest AR step ``s`` with ``s * window >= S``: below it, a sliding window drops unfinished frames."""
    return math.ceil(check_int("num_steps", num_steps, 1) / check_int("window", window, 1))


def _check_ad(num_frames, num_steps, s, window, num_timesteps, overflow):
    S, T = _check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    s = check_int("s", s, 0, S)
    if window is not None:
        window = check_int("window", window, 1)
    overflow = check_choice("overflow", overflow, OVERFLOW_MODES)
    return F, S, s, window, T, overflow


def _unsafe_message(F, S, s, W) -> str:
    return (f"s={s} is unsafe for a long video (num_frames={F} > window={W}, num_steps={S}): s*window = {s * W} < "
            f"num_steps = {S}, so frames would leave the window before they are finished (the official code "
            f"silently drops their remaining steps). The smallest safe s is {smallest_safe_s(S, W)} "
            f"(= ceil(num_steps / window)); or pass overflow='wait' to hold new frames back until the oldest frame "
            f"in the window is finished (more network calls), or overflow='drop' to reproduce the official code.")


def _ad_rows(F: int, S: int, s: int, W: int, overflow: str):
    """Run the AD rule; return (rows, changed, windows) as Python lists. ``W`` is the effective window (<= F)."""
    k = [0] * F
    rows, changed, windows = [], [], []
    terminal = W  # official sliding rule: the first frame past the window
    lo = 0        # "wait" rule: the first frame of the window
    while min(k) < S:
        new = [0] * F
        for f in range(F):
            if f == 0 or k[f - 1] == S:
                # the head frame, or a frame whose predecessor is finished: advance by one
                cand = k[f] + 1
            elif overflow == "wait":
                # stay at least s behind the predecessor (after a hold the gap can be larger than s)
                cand = min(k[f] + 1, new[f - 1] - s)
            else:
                # official rule: stay exactly s behind the predecessor
                cand = new[f - 1] - s
            cand = min(max(cand, 0), S)
            if overflow == "wait" and f >= lo + W and cand != k[f]:
                # the frame just past the window wants to start: slide only if the oldest frame is finished
                if k[lo] == S:
                    lo += 1
                else:
                    cand = k[f]  # held back (still untouched noise)
            new[f] = cand
        moved = [new[f] != k[f] for f in range(F)]
        if overflow != "wait":
            if terminal < F and moved[terminal]:
                terminal += 1
            lo = terminal - W
        rows.append(new)
        changed.append(moved)
        windows.append((lo, lo + W))
        k = new
    return rows, changed, windows


def ad_nfe(num_frames: int, num_steps: int, s: int, window: int | None = None, overflow: str = "raise",
           num_timesteps: int = 1000) -> int:
    """Network calls of :func:`ad_schedule`, by formula (no simulation).

    * ``S + (F-1)*s`` (``S`` for ``s = 0``) when the window never drops a frame, and for ``overflow="drop"``;
    * ``overflow="wait"`` with ``s*window < S``: frame ``f`` starts at iteration ``(f // window)*S + (f % window)*s``
      (each group of ``window`` frames waits for the previous group to finish), so the cost is
      ``((F-1) // window)*S + ((F-1) % window)*s + S``: more calls than the unsafe official schedule, never a
      dropped step.
    """
    F, S, s, window, _, overflow = _check_ad(num_frames, num_steps, s, window, num_timesteps, overflow)
    if window is None or F <= window or s * window >= S or overflow == "drop":
        return S + (F - 1) * s
    if overflow == "raise":
        raise ValueError(_unsafe_message(F, S, s, window))
    return ((F - 1) // window) * S + ((F - 1) % window) * s + S


def ad_schedule(num_frames: int, num_steps: int, s: int, window: int | None = None, num_timesteps: int = 1000,
                overflow: str = "raise") -> Schedule:
    """AR-Diffusion's asynchronous (AD) inference schedule, the official rule (notes §3.2, §3.4).

    Each iteration computes a new row of step indices from the previous one, left to right::

        frame 0, or a frame whose predecessor is finished:  k_new[f] = k_prev[f] + 1
        otherwise (stay exactly s steps behind):            k_new[f] = k_new[f-1] - s
        clamp to [0, S]

    ``s = 0`` is synchronous (all frames share the timestep, ``S`` iterations); ``s = S`` is fully auto-regressive
    (frame ``f+1`` starts when frame ``f`` is finished); in between a staircase. Iterations = ``S + (F-1)*s``.

    Args:
        num_frames: ``F >= 1``.
        num_steps: ``S`` sampling steps, ``1 <= S <= T-1``.
        s: AR step (the official ``ardiff_step``), ``0 <= s <= S``.
        window: frames per network call (``base_num_frames``, 16 in the paper); ``None`` = the whole video.
            For ``F > window`` the window slides right by one frame whenever the frame just past it starts.
        num_timesteps: ``T`` training timesteps.
        overflow: what to do when a sliding window would drop unfinished frames (``s*window < S`` with
            ``F > window``; the official code silently skips their remaining updates, and ``s = 0`` never denoises the
            frames outside the window at all):

            * ``"raise"`` (default): refuse with a ``ValueError`` that states the smallest safe ``s``
              (``ceil(S / window)``).
            * ``"wait"``: a frame that would start outside the window is held back (still noise) until the oldest
              frame in the window is finished; then the window slides. Every frame gets exactly ``S`` updates; the
              cost is extra network calls (:func:`ad_nfe`). Held frames then lag their predecessor by *more* than
              ``s``. For safe settings it is identical to ``"raise"``.
            * ``"drop"``: the official behaviour, for teaching: the staircase is computed as if every frame were
              updated, but updates to frames outside the window are never computed; they are marked in
              ``skipped_mask`` (and are not in ``update_mask``), so ``step_index`` is the *scheduled* index, and a
              frame with skipped entries ends unfinished.
    """
    F, S, s, window, T, overflow = _check_ad(num_frames, num_steps, s, window, num_timesteps, overflow)
    W = F if window is None else min(window, F)
    if overflow == "raise" and W < F and s * W < S:
        raise ValueError(_unsafe_message(F, S, s, W))
    rows, changed, windows = _ad_rows(F, S, s, W, overflow)
    step_index = np.array(rows, dtype=np.int64)
    moved = np.array(changed, dtype=bool)
    windows = np.array(windows, dtype=np.int64)
    frames = np.arange(F)
    inside = (frames >= windows[:, :1]) & (frames < windows[:, 1:])
    return Schedule(kind="ar_diffusion", step_index=step_index, update_mask=moved & inside,
                    skipped_mask=moved & ~inside, windows=windows, template=step_template(S, T), num_steps=S, s=s,
                    window=window, overflow=overflow, params={"s": s, "window": window, "overflow": overflow})


# ----------------------------------------------------------------------------------------------------------------
# Peers: the same staircase under other names (field notes §A.3)
# ----------------------------------------------------------------------------------------------------------------
def full_sequence(num_frames: int, num_steps: int, num_timesteps: int = 1000) -> Schedule:
    """Full-sequence (synchronous) diffusion: every frame shares the timestep; ``S`` network calls over the whole
    video. This is a standard video diffusion model, Diffusion Forcing's ``full_sequence`` mode, and AR-Diffusion's
    ``s = 0``."""
    sched = ad_schedule(num_frames, num_steps, 0, None, num_timesteps)
    return _renamed(sched, "full_sequence", s=0, params={})


def pyramid(num_frames: int, num_steps: int, uncertainty_scale: float = 1.0, num_timesteps: int = 1000) -> Schedule:
    """Diffusion Forcing's "pyramid" schedule (``_generate_pyramid_scheduling_matrix`` in Diffusion Forcing v1.5).

    Frame ``f`` starts ``floor(f * uncertainty_scale)`` iterations after frame 0, then advances one step per
    iteration: ``k[i, f] = clamp(i + 1 - floor(f * u), 0, S)``. ``uncertainty_scale`` (``u``, ``0 <= u <= S``) is the
    lag between neighbours in steps; unlike AR-Diffusion's ``s`` it may be fractional (neighbours then alternate
    between ``floor(u)`` and ``ceil(u)`` apart). An integer ``u`` gives exactly AR-Diffusion's staircase with
    ``s = u``. Network calls: ``S + floor((F-1)*u)``, each over the whole video.
    """
    S, T = _check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    u = check_float("uncertainty_scale", uncertainty_scale, 0.0, float(S))
    start = np.floor(np.arange(F) * u + 1e-9).astype(np.int64)  # iteration at which each frame starts
    iterations = S + int(start[-1])
    i = np.arange(iterations)[:, None]
    step_index = np.clip(i + 1 - start[None, :], 0, S)
    return _whole_video(step_index, S, T, "pyramid", u, {"uncertainty_scale": u})


def skyreels(num_frames: int, num_steps: int, causal_block_size: int = 1, ar_step: int = 0,
             window: int | None = None, num_timesteps: int = 1000, overflow: str = "raise") -> Schedule:
    """SkyReels-V2's diffusion-forcing schedule (``generate_timestep_matrix`` in its pipeline): AR-Diffusion's AD rule
    applied to *blocks* of ``causal_block_size`` frames that share one timestep.

    ``ar_step`` is the AD ``s`` between neighbouring blocks (SkyReels' CLI default 0 = synchronous; its README uses
    5 for asynchronous generation). ``num_frames`` and ``window`` (if given) must be multiples of the block size.
    The window slides by one block, and SkyReels guards it like our ``overflow="raise"``
    (``assert ar_step >= S / base_num_frames_block``). Network calls: ``S + (F/b - 1)*ar_step``.
    """
    S, T = _check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    b = check_int("causal_block_size", causal_block_size, 1, F)
    if F % b:
        raise ValueError(f"num_frames={F} must be a multiple of causal_block_size={b}")
    ar_step = check_int("ar_step", ar_step, 0, S)
    if window is not None:
        window = check_int("window", window, b)
        if window % b:
            raise ValueError(f"window={window} must be a multiple of causal_block_size={b}")
    try:
        blocks = ad_schedule(F // b, S, ar_step, None if window is None else window // b, T, overflow)
    except ValueError as err:  # restate the block-level message in frames
        if window is None or "unsafe" not in str(err):
            raise
        raise ValueError(f"ar_step={ar_step} is unsafe for a long video (num_frames={F} > window={window}, "
                         f"causal_block_size={b}, num_steps={S}): ar_step*(window/causal_block_size) < num_steps. "
                         f"The smallest safe ar_step is {smallest_safe_s(S, window // b)} "
                         f"(= ceil(num_steps / (window/causal_block_size))); or pass overflow='wait' or "
                         f"overflow='drop'.") from None
    sched = _expand_blocks(blocks, b, F)
    return _renamed(sched, "skyreels", s=ar_step,
                    params={"causal_block_size": b, "ar_step": ar_step, "window": window, "overflow": overflow})


def fifo(num_frames: int, num_steps: int, num_partitions: int = 1, num_timesteps: int = 1000) -> Schedule:
    """FIFO-Diffusion's diagonal denoising: a queue of ``S`` frames, each one step noisier than the one ahead of it.

    Every iteration denoises the whole queue by one step; the front frame leaves finished and a fresh noise frame
    joins at the back. As a staircase this is AR-Diffusion's ``s = 1`` with a window of ``S`` frames (the queue).
    ``num_partitions`` (``n``, FIFO's ``S = f*n``) splits the queue into ``n`` network calls of ``f = S/n`` frames
    each, so ``nfe = n * iterations``. Simplification: we start from an empty queue (frames enter one by one);
    the real FIFO-Diffusion fills its first queue by noising a clip sampled by the base model (an extra ``S``-step
    run not counted here), and its "lookahead" variant is not modelled.
    """
    S, T = _check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    n = check_int("num_partitions", num_partitions, 1, S)
    if S % n:
        raise ValueError(f"num_steps={S} must be a multiple of num_partitions={n} (FIFO-Diffusion: S = f*n)")
    sched = ad_schedule(F, S, 1, S, T, "raise")
    return _renamed(sched, "fifo", s=1, params={"num_partitions": n}, calls_per_iteration=n)


def chunked(num_frames: int, num_steps: int, block_size: int = 3, num_timesteps: int = 1000) -> Schedule:
    """Strictly auto-regressive blocks (CausVid, Self-Forcing: ``num_frame_per_block = 3``): a block of
    ``block_size`` frames is denoised synchronously for all ``S`` steps, then the next block starts (``s = S``
    between blocks, 0 inside a block). The last block may be shorter. ``block_size = 1`` is frame-by-frame AR
    (AR-Diffusion's ``s = S``). Network calls: ``S * ceil(F / block_size)``; each call sees the current block plus,
    through a KV cache, the finished ones (drawn here as a whole-video window).
    """
    S, T = _check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    b = check_int("block_size", block_size, 1, F)
    n_blocks = -(-F // b)
    blocks = ad_schedule(n_blocks, S, S, None, T)
    sched = _expand_blocks(blocks, b, F)
    return _renamed(sched, "chunked", s=S, params={"block_size": b})


# ----------------------------------------------------------------------------------------------------------------
# By name
# ----------------------------------------------------------------------------------------------------------------
#: name -> builder; each takes ``(num_frames, num_steps, **knobs)`` and returns a :class:`Schedule`.
KINDS = {
    "ar_diffusion": ad_schedule,
    "full_sequence": full_sequence,
    "pyramid": pyramid,
    "skyreels": skyreels,
    "fifo": fifo,
    "chunked": chunked,
}


def kind_params(kind: str) -> dict:
    """The knobs of a kind and their defaults (``inspect.Parameter.empty`` for required ones), beyond
    ``num_frames`` and ``num_steps``."""
    fn = KINDS[check_choice("kind", kind, KINDS)]
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if name not in ("num_frames", "num_steps")}


def staircase(kind: str, num_frames: int, num_steps: int, **params) -> Schedule:
    """Build the schedule of a named kind (:data:`KINDS`); ``params`` are that kind's knobs (:func:`kind_params`).

    ``staircase("ar_diffusion", 16, 50, s=5, window=16)`` equals ``ad_schedule(16, 50, 5, 16)``.
    """
    accepted = kind_params(kind)
    for name in params:
        if name not in accepted:
            raise ValueError(f"unknown parameter {name!r} for kind {kind!r}; accepted: {sorted(accepted)}")
    missing = [n for n, d in accepted.items() if d is inspect.Parameter.empty and n not in params]
    if missing:
        raise ValueError(f"kind {kind!r} needs {missing}")
    return KINDS[kind](num_frames, num_steps, **params)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def _whole_video(step_index, S, T, kind, s, params) -> Schedule:
    step_index = np.asarray(step_index, dtype=np.int64)
    previous = np.vstack([np.zeros((1, step_index.shape[1]), np.int64), step_index[:-1]])
    windows = np.tile(np.array([[0, step_index.shape[1]]], np.int64), (step_index.shape[0], 1))
    return Schedule(kind=kind, step_index=step_index, update_mask=step_index != previous,
                    skipped_mask=np.zeros(step_index.shape, bool), windows=windows, template=step_template(S, T),
                    num_steps=S, s=s, window=None, overflow=None, params=params)


def _expand_blocks(blocks: Schedule, block_size: int, num_frames: int) -> Schedule:
    """Repeat each block's column for its frames (the last block may be shorter); block windows become frame ones."""
    block_of_frame = np.arange(num_frames) // block_size
    windows = np.minimum(blocks.windows * block_size, num_frames)
    return Schedule(kind=blocks.kind, step_index=blocks.step_index[:, block_of_frame],
                    update_mask=blocks.update_mask[:, block_of_frame],
                    skipped_mask=blocks.skipped_mask[:, block_of_frame], windows=windows, template=blocks.template,
                    num_steps=blocks.num_steps, s=blocks.s, window=blocks.window, overflow=blocks.overflow,
                    params=blocks.params)


def _renamed(sched: Schedule, kind: str, s, params, calls_per_iteration: int = 1) -> Schedule:
    window = params.get("window", sched.window if kind == "fifo" else None)
    overflow = params.get("overflow", sched.overflow if kind == "fifo" else None)
    return Schedule(kind=kind, step_index=sched.step_index, update_mask=sched.update_mask,
                    skipped_mask=sched.skipped_mask, windows=sched.windows, template=sched.template,
                    num_steps=sched.num_steps, s=s, window=window, overflow=overflow, params=params,
                    calls_per_iteration=calls_per_iteration)
