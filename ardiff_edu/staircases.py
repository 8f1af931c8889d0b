"""The peers of the AD scheduler: the same step-index staircase under other names (notebook 03).

Every schedule below is a :class:`~ardiff_edu.ad.Schedule`: a matrix ``step_index[iteration, frame]`` plus the
window each iteration feeds to the network. Only the knobs differ:

=================  ============================================  ===============================================
kind               knob                                          network calls (NFE)
=================  ============================================  ===============================================
``ar_diffusion``   ``s`` lag in steps between neighbours          ``S + (F-1)*s``
``full_sequence``  none: all frames share the timestep            ``S``
``pyramid``        Diffusion Forcing's ``uncertainty_scale`` u    ``S + int((F-1)*u)``
``skyreels``       SkyReels-V2's ``ar_step`` between blocks of    ``S + (F/b-1)*ar_step``
                   ``causal_block_size`` frames
``fifo``           FIFO-Diffusion's queue of ``S`` frames         ``n*(S + F-1)`` with ``n`` partitions
``chunked``        CausVid / Self-Forcing blocks, strictly AR     ``S*ceil(F/block_size)``
=================  ============================================  ===============================================

:func:`staircase` builds any of them by name (the explorer widget uses it).
"""

from __future__ import annotations

import inspect

import numpy as np

from ardiff_edu.ad import Schedule, ad_schedule, check_steps, smallest_safe_s, step_template
from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["KINDS", "full_sequence", "pyramid", "skyreels", "fifo", "chunked", "staircase", "kind_params"]


def full_sequence(num_frames: int, num_steps: int, num_timesteps: int = 1000) -> Schedule:
    """Synchronous diffusion: every frame shares the timestep; ``S`` calls over the whole video (AD with ``s = 0``,
    Diffusion Forcing's ``full_sequence`` mode, any standard video diffusion model)."""
    return _renamed(ad_schedule(num_frames, num_steps, 0, None, num_timesteps), "full_sequence", s=0, params={})


def pyramid(num_frames: int, num_steps: int, uncertainty_scale: float = 1.0, num_timesteps: int = 1000) -> Schedule:
    """Diffusion Forcing's "pyramid" schedule (``_generate_pyramid_scheduling_matrix`` in Diffusion Forcing v1.5).

    Frame ``f`` starts ``int(f·u)`` iterations after frame 0, then advances one step per iteration:
    ``k[i, f] = clamp(i + 1 - int(f·u), 0, S)``. ``u`` (``0 <= u <= S``) is the lag between neighbours; unlike
    AR-Diffusion's ``s`` it may be fractional (neighbours then alternate between ``floor(u)`` and ``ceil(u)`` apart).
    ``int`` truncates the float product, exactly as Diffusion Forcing does, so a product that should be an integer
    but rounds just below it (``11 · 15/11 = 14.999...``) starts one iteration early there too.
    An integer ``u`` is AR-Diffusion's staircase with ``s = u``.
    """
    S, T = check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    u = check_float("uncertainty_scale", uncertainty_scale, 0.0, float(S))
    start = np.array([int(f * u) for f in range(F)], dtype=np.int64)    # iteration at which each frame starts
    n = S + int(start[-1])
    step_index = np.clip(np.arange(n)[:, None] + 1 - start[None, :], 0, S)
    formula = f"S + int((F-1)*u) = {S} + int({F - 1}*{u:g}) = {n}"
    return _whole_video(step_index, S, T, "pyramid", u, {"uncertainty_scale": u}, formula)


def skyreels(num_frames: int, num_steps: int, causal_block_size: int = 1, ar_step: int = 0,
             window: int | None = None, num_timesteps: int = 1000, overflow: str = "raise") -> Schedule:
    """SkyReels-V2's diffusion-forcing schedule (``generate_timestep_matrix`` in its pipeline): the AD rule applied to
    *blocks* of ``causal_block_size`` frames that share a timestep, ``ar_step`` being the AD ``s`` between blocks.

    ``num_frames`` and ``window`` must be multiples of the block size; the window slides by one block and is guarded
    like our ``overflow="raise"`` (SkyReels asserts ``ar_step >= S / base_num_frames_block``).
    """
    S, T = check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    b = check_int("causal_block_size", causal_block_size, 1, F)
    if F % b:
        raise ValueError(f"num_frames={F} must be a multiple of causal_block_size={b}")
    ar_step = check_int("ar_step", ar_step, 0, S)
    if window is not None and (check_int("window", window, b) % b):
        raise ValueError(f"window={window} must be a multiple of causal_block_size={b}")
    try:
        blocks = ad_schedule(F // b, S, ar_step, None if window is None else window // b, T, overflow)
    except ValueError as err:  # restate the block-level message in frames
        if window is None or "unsafe" not in str(err):
            raise
        raise ValueError(f"ar_step={ar_step} is unsafe for a long video (num_frames={F} > window={window}, "
                         f"causal_block_size={b}, num_steps={S}): ar_step*(window/causal_block_size) < num_steps. "
                         f"The smallest safe ar_step is {smallest_safe_s(S, window // b)}; or pass overflow='wait' "
                         f"or overflow='drop'.") from None
    n = blocks.num_iterations
    formula = (f"S + (F/b-1)*ar_step = {S} + {F // b - 1}*{ar_step} = {n}" if blocks.overflow != "wait"
               else blocks.formula.replace("F-1", "F/b-1"))
    return _renamed(_expand_blocks(blocks, b, F), "skyreels", s=ar_step, formula=formula,
                    params={"causal_block_size": b, "ar_step": ar_step, "window": window, "overflow": overflow})


def fifo(num_frames: int, num_steps: int, num_partitions: int = 1, num_timesteps: int = 1000) -> Schedule:
    """FIFO-Diffusion's diagonal denoising: a queue of ``S`` frames, each one step noisier than the one ahead.

    Every iteration denoises the whole queue by one step; the front frame leaves finished and fresh noise joins at the
    back: AR-Diffusion's ``s = 1`` with a window of ``S`` frames. ``num_partitions`` ``n`` (FIFO's ``S = f·n``) splits
    the queue into ``n`` calls of ``S/n`` frames. Simplification: the queue starts empty (FIFO-Diffusion fills it from
    a clip of its base model) and the "lookahead" variant is not modelled.
    """
    S, T = check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    n = check_int("num_partitions", num_partitions, 1, S)
    if S % n:
        raise ValueError(f"num_steps={S} must be a multiple of num_partitions={n} (FIFO-Diffusion: S = f*n)")
    sched = ad_schedule(F, S, 1, S, T, "raise")
    formula = f"n*(S + F-1) = {n}*({S} + {F - 1}) = {n * sched.num_iterations}"
    return _renamed(sched, "fifo", s=1, params={"num_partitions": n}, formula=formula, calls_per_iteration=n,
                    keep_window=True)


def chunked(num_frames: int, num_steps: int, block_size: int = 3, num_timesteps: int = 1000) -> Schedule:
    """Strictly auto-regressive blocks (CausVid, Self-Forcing: ``num_frame_per_block = 3``): a block of ``block_size``
    frames is denoised synchronously for all ``S`` steps, then the next one starts (the last block may be shorter).
    ``block_size = 1`` is AR-Diffusion's ``s = S``. Each call sees the current block plus, through a KV cache, the
    finished ones (drawn here as a whole-video window).
    """
    S, T = check_steps(num_steps, num_timesteps)
    F = check_int("num_frames", num_frames, 1)
    b = check_int("block_size", block_size, 1, F)
    n_blocks = -(-F // b)
    formula = f"S*ceil(F/k) = {S}*{n_blocks} = {S * n_blocks}"
    blocks = ad_schedule(n_blocks, S, S, None, T)
    return _renamed(_expand_blocks(blocks, b, F), "chunked", s=S, params={"block_size": b}, formula=formula)


#: name -> builder; each takes ``(num_frames, num_steps, **knobs)`` and returns a :class:`~ardiff_edu.ad.Schedule`.
KINDS = {"ar_diffusion": ad_schedule, "full_sequence": full_sequence, "pyramid": pyramid, "skyreels": skyreels,
         "fifo": fifo, "chunked": chunked}


def kind_params(kind: str) -> dict:
    """The knobs of a kind and their defaults (``inspect.Parameter.empty`` for required ones), beyond ``num_frames``
    and ``num_steps``."""
    fn = KINDS[check_choice("kind", kind, KINDS)]
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if name not in ("num_frames", "num_steps")}


def staircase(kind: str, num_frames: int, num_steps: int, **params) -> Schedule:
    """The schedule of a named kind (:data:`KINDS`); ``params`` are that kind's knobs (:func:`kind_params`).

    ``staircase("ar_diffusion", 16, 50, s=5, window=16)`` equals ``ad_schedule(16, 50, 5, 16)``.
    """
    accepted = kind_params(kind)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for kind {kind!r}; accepted: {sorted(accepted)}")
    missing = [n for n, d in accepted.items() if d is inspect.Parameter.empty and n not in params]
    if missing:
        raise ValueError(f"kind {kind!r} needs {missing}")
    return KINDS[kind](num_frames, num_steps, **params)


# ----------------------------------------------------------------------------------------------------------------
def _whole_video(step_index, S, T, kind, s, params, formula) -> Schedule:
    previous = np.vstack([np.zeros((1, step_index.shape[1]), np.int64), step_index[:-1]])
    windows = np.tile(np.array([[0, step_index.shape[1]]], np.int64), (step_index.shape[0], 1))
    return Schedule(kind=kind, step_index=step_index, update_mask=step_index != previous,
                    skipped_mask=np.zeros(step_index.shape, bool), windows=windows, template=step_template(S, T),
                    num_steps=S, s=s, formula=formula, params=params)


def _expand_blocks(blocks: Schedule, block_size: int, num_frames: int) -> Schedule:
    """Repeat each block's column for its frames (the last block may be shorter); block windows become frame ones."""
    of_frame = np.arange(num_frames) // block_size
    return Schedule(kind=blocks.kind, step_index=blocks.step_index[:, of_frame],
                    update_mask=blocks.update_mask[:, of_frame], skipped_mask=blocks.skipped_mask[:, of_frame],
                    windows=np.minimum(blocks.windows * block_size, num_frames), template=blocks.template,
                    num_steps=blocks.num_steps, s=blocks.s, window=blocks.window, overflow=blocks.overflow,
                    formula=blocks.formula, params=blocks.params)


def _renamed(sched: Schedule, kind: str, s, params, formula: str | None = None, calls_per_iteration: int = 1,
             keep_window: bool = False) -> Schedule:
    return Schedule(kind=kind, step_index=sched.step_index, update_mask=sched.update_mask,
                    skipped_mask=sched.skipped_mask, windows=sched.windows, template=sched.template,
                    num_steps=sched.num_steps, s=s, window=params.get("window", sched.window if keep_window else None),
                    overflow=params.get("overflow", sched.overflow if keep_window else None),
                    formula=sched.formula if formula is None else formula, params=params,
                    calls_per_iteration=calls_per_iteration)
