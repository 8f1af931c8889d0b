"""Sampling: DDIM (η = 0) driven by any :class:`~ardiff_edu.schedules.Schedule`, window by window.

    python -m ardiff_edu sample --checkpoint data/checkpoints/balls.pt --num-frames 16 --s 5 --out clip.gif

One iteration of the sampler (notes §3.3) is one network call over the iteration's window of frames:

* every frame ``f`` carries a step index ``k_f`` (``0`` = untouched noise, ``S`` = finished); the schedule's row ``i``
  is the state after iteration ``i``, and the network is told ``t_f = template[k_f]`` for the new row;
* a frame whose index becomes ``k`` in this iteration (``update_mask``) is evaluated at ``template[k]`` and moved by one
  DDIM step to the noise level of ``template[k + 1]`` (to ``ᾱ[0]``, "clean", after ``k = S``);
* every other frame keeps its value: the **keep-mask**.

The DDIM step for one frame, written with the official *extended* coefficient arrays indexed by the DDIM index
``j = S − k`` (``alphas = [ᾱ[ddim[0]], …, ᾱ[ddim[S−1]], ᾱ[T−1]]``, ``alphas_prev = [ᾱ[0], ᾱ[ddim[0]], …,
ᾱ[ddim[S−2]], ᾱ[T−1]]``), is linear in the current latent ``x`` and the predicted clean latent ``x̂0``::

    x_new = c_x[j] * x + c_x0[j] * x̂0,   c_x = √(1−a_prev) / √(1−a),   c_x0 = √a_prev − c_x · √a

For an untouched frame (``k = 0``, ``j = S``) ``a = a_prev = ᾱ[T−1]``, so ``c_x = 1`` and ``c_x0 = 0`` *exactly* in
floating point: the update is the identity whatever the network says. A finished frame (``k = S``, ``j = 0``) that is
fed through the official update with ``x̂0 := x`` drifts by a factor ``c_x + c_x0 ≈ 1.0000212`` per iteration.

``keep="exact"`` (our default) also applies ``torch.where(update_mask, x_new, x)`` after the step, so every frame the
schedule does not update is bit-for-bit unchanged; ``keep="official"`` only replaces the network output by ``x`` for
those frames, as the official ``fifoddim.py`` does, and so reproduces the drift of finished frames.

Video prediction (notes §3.4 "Prefix / first-frame conditioning") is a **schedule transform**: :func:`with_prefix`
prepends ``K`` columns that are finished from the start and never updated, and widens every window by ``K`` frames so
that the network always sees ``K`` finished frames (the given prefix at first, then the latest generated frames) in
front of the ``window − K`` frames it works on. :func:`ddim_sample` then writes the clean prefix latents into those
frames and labels them ``template[S]`` (``t = 1`` for ``T = 1000``), like any finished frame.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from ardiff_edu.schedules import OVERFLOW_MODES, Schedule, ad_schedule
from ardiff_edu.utils import DATA_DIR, atomic_open, check_choice, check_float, check_int

__all__ = [
    "KEEP_MODES", "PREDICTIONS", "DEFAULT_CHECKPOINT", "ddim_coefficients", "ddim_step", "with_prefix",
    "make_schedule", "ddim_sample", "generate", "video_grid", "save_videos", "main",
]

#: How frames that the schedule does not update are treated (see the module docstring).
KEEP_MODES = ("exact", "official")
#: What a network may predict.
PREDICTIONS = ("x0", "eps", "v")
#: The shipped checkpoint used by the command line when ``--checkpoint`` is not given.
DEFAULT_CHECKPOINT = DATA_DIR / "checkpoints" / "balls.pt"


# ----------------------------------------------------------------------------------------------------------------
# DDIM coefficients per step index
# ----------------------------------------------------------------------------------------------------------------
def ddim_coefficients(template, alphas_cumprod) -> dict[str, torch.Tensor]:
    """DDIM (η = 0) coefficients for every step index ``k = 0..S`` (float64 tensors of length ``S + 1``).

    ``template`` is the schedule's ``[S + 1]`` model timesteps (``template[0] = T − 1``); ``alphas_cumprod`` is ᾱ.
    Returns ``a`` (ᾱ at the level the frame is evaluated at, ``ᾱ[template[k]]``), ``a_prev`` (the level it moves to:
    ``ᾱ[template[k + 1]]``, ``ᾱ[0]`` for ``k = S`` and ``ᾱ[T − 1]`` for ``k = 0``), and the update coefficients
    ``c_x``, ``c_x0`` with ``x_new = c_x · x + c_x0 · x̂0``. Indexed by ``k``, so that DDIM index ``j`` is entry
    ``S − j``; ``alphas[j] == a[S − j]`` and ``alphas_prev[j] == a_prev[S − j]`` reproduce the official extended arrays.
    """
    template = (template.long() if isinstance(template, torch.Tensor)
                else torch.as_tensor(np.array(template), dtype=torch.long))
    abar = torch.as_tensor(alphas_cumprod, dtype=torch.float64)
    if template.ndim != 1 or template.numel() < 2:
        raise ValueError(f"template must be a 1-D array of S + 1 >= 2 timesteps, got shape {tuple(template.shape)}")
    if int(template.min()) < 0 or int(template.max()) >= abar.numel():
        raise ValueError(f"template timesteps must be in [0, {abar.numel() - 1}], got "
                         f"[{int(template.min())}, {int(template.max())}]")
    a = abar[template]
    a_prev = torch.empty_like(a)
    a_prev[1:-1] = abar[template[2:]]   # 1 <= k < S: to the next template level
    a_prev[-1] = abar[0]                # k = S: to ᾱ[0] ("clean", the LDM convention)
    a_prev[0] = a[0]                    # k = 0: the extra entry, a_prev = a -> the identity
    # the order of operations matters: when a == a_prev, c_x is exactly 1.0 and c_x0 exactly 0.0
    c_x = (1.0 - a_prev).sqrt() / (1.0 - a).sqrt()
    c_x0 = a_prev.sqrt() - c_x * a.sqrt()
    return {"a": a, "a_prev": a_prev, "c_x": c_x, "c_x0": c_x0}


def ddim_step(x: torch.Tensor, x0_hat: torch.Tensor, k: torch.Tensor, coefficients: dict) -> torch.Tensor:
    """One DDIM (η = 0) step per frame: ``x`` and ``x0_hat`` are ``(B, F, ...)``, ``k`` the ``(F,)`` or ``(B, F)``
    step indices whose coefficients to use (see :func:`ddim_coefficients`)."""
    if k.ndim == 1:
        k = k.unsqueeze(0)
    shape = tuple(k.shape) + (1,) * (x.ndim - k.ndim)
    c_x = coefficients["c_x"][k].reshape(shape).to(x.dtype)
    c_x0 = coefficients["c_x0"][k].reshape(shape).to(x.dtype)
    # $x_{new} = \sqrt{a_{prev}}\,\hat x_0 + \sqrt{1-a_{prev}}\,\hat\epsilon$, $\hat\epsilon = (x - \sqrt{a}\,\hat x_0)/\sqrt{1-a}$
    return c_x * x + c_x0 * x0_hat


# ----------------------------------------------------------------------------------------------------------------
# Schedules for sampling: the prefix transform and a one-call builder
# ----------------------------------------------------------------------------------------------------------------
def with_prefix(schedule: Schedule, prefix_frames: int) -> Schedule:
    """Prepend ``prefix_frames`` given frames to a schedule of the frames to generate.

    The new columns are finished (step index ``S``) from the start and never updated; every window
    ``[lo, hi)`` of the generated frames becomes ``[lo, hi + K)`` of the whole video, i.e. the ``K`` frames in front of
    the generated window are added as context (the prefix at first, then finished generated frames).
    """
    K = check_int("prefix_frames", prefix_frames, 1)
    n_it = schedule.num_iterations
    S = schedule.num_steps
    pad = lambda value, dtype: np.full((n_it, K), value, dtype=dtype)  # noqa: E731
    params = dict(schedule.params)
    params["prefix_frames"] = K
    return Schedule(kind=schedule.kind,
                    step_index=np.hstack([pad(S, np.int64), schedule.step_index]),
                    update_mask=np.hstack([pad(False, bool), schedule.update_mask]),
                    skipped_mask=np.hstack([pad(False, bool), schedule.skipped_mask]),
                    windows=schedule.windows + np.array([[0, K]], dtype=np.int64),
                    template=schedule.template, num_steps=S, s=schedule.s,
                    window=None if schedule.window is None else schedule.window + K,
                    overflow=schedule.overflow, params=params, calls_per_iteration=schedule.calls_per_iteration)


def make_schedule(num_frames: int, num_steps: int, s: int, window: int | None = None, prefix_frames: int = 0,
                  overflow: str = "raise", num_timesteps: int = 1000) -> Schedule:
    """AR-Diffusion's AD schedule for ``num_frames`` frames, the first ``prefix_frames`` of them given.

    Without a prefix this is :func:`~ardiff_edu.schedules.ad_schedule`. With ``K`` prefix frames the AD rule runs
    over the ``F − K`` generated frames (the first generated frame is the head) and :func:`with_prefix` adds the
    given ones; for a long video (``F > window``) the generated frames use a window of ``window − K`` frames, so that
    the network sees ``K`` finished frames plus ``window − K`` working frames per call (safe when
    ``s · (window − K) >= S``).
    """
    F = check_int("num_frames", num_frames, 1)
    K = check_int("prefix_frames", prefix_frames, 0, F - 1)
    if window is not None:
        window = check_int("window", window, 1)
    if K == 0:
        return ad_schedule(F, num_steps, s, window, num_timesteps, overflow)
    if window is not None and K >= window:
        raise ValueError(f"prefix_frames must be in [0, window - 1] = [0, {window - 1}], got {K}")
    rest_window = None if window is None or F <= window else window - K
    return with_prefix(ad_schedule(F - K, num_steps, s, rest_window, num_timesteps, overflow), K)


# ----------------------------------------------------------------------------------------------------------------
# The sampler
# ----------------------------------------------------------------------------------------------------------------
def _null_label(model) -> int:
    for name in ("null_label", "num_classes"):
        value = getattr(model, name, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    raise ValueError("classifier-free guidance needs a class-conditional model (with a null_label / num_classes)")


def _to_x0(prediction: str, out: torch.Tensor, x: torch.Tensor, t: torch.Tensor, abar: torch.Tensor):
    """The clean latent implied by the network output, per frame (ᾱ gathered at the model timestep ``t``)."""
    if prediction == "x0":
        return out
    a = abar[t].reshape(*t.shape, *([1] * (x.ndim - t.ndim))).to(x.dtype)
    if prediction == "eps":
        # $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon) / \sqrt{\bar\alpha_t}$
        return (x - (1 - a).sqrt() * out) / a.sqrt()
    # v-prediction: $\hat x_0 = \sqrt{\bar\alpha_t}\,x_t - \sqrt{1-\bar\alpha_t}\,\hat v$
    return a.sqrt() * x - (1 - a).sqrt() * out


@torch.no_grad()
def ddim_sample(model, schedule: Schedule, noise: torch.Tensor, noise_schedule=None, labels=None,
                cfg_scale: float = 1.0, prefix: torch.Tensor | None = None, keep: str = "exact",
                prefix_timestep: int | None = None, prediction: str | None = None, progress: bool = False,
                callback=None) -> torch.Tensor:
    """Run DDIM (η = 0) over ``schedule``; return the latents ``(B, F, L, C)``.

    Args:
        model: ``model(x (B, W, L, C), t (B, W) int64, labels=None) -> (B, W, L, C)``, predicting ``x0``, ``eps`` or
            ``v`` (its ``.prediction`` attribute; ``x0`` if absent, or pass ``prediction``).
        schedule: any :class:`~ardiff_edu.schedules.Schedule` over ``F`` frames.
        noise: ``(B, F, L, C)``, the whole video's starting noise (drawn up front, e.g. from a seeded generator).
        noise_schedule: a :class:`~ardiff_edu.diffusion.NoiseSchedule` (default: the paper's linear, T = 1000).
        labels: ``(B,)`` int64 class labels for a class-conditional model, or ``None``.
        cfg_scale: classifier-free guidance scale ``g``: ``out = uncond + g · (cond − uncond)``, the unconditional
            branch fed the model's null label, both branches in one batched call. ``1`` = no guidance (one branch).
        prefix: ``(B, K, L, C)`` clean latents of the first ``K`` frames; the schedule's first ``K`` columns must be
            finished and never updated (:func:`with_prefix`). They are labelled ``prefix_timestep`` (default
            ``template[S]``, i.e. ``t = 1``) and never change.
        keep: ``"exact"`` (frames the schedule does not update stay bit-for-bit unchanged) or ``"official"`` (the
            official keep on the network output only; finished frames then drift by ≈ 2e-5 per iteration).
        progress: show a tqdm bar over the iterations.
        callback: ``callback(i, x)`` after every iteration ``i`` (``x`` is the live state: do not modify it).
    """
    from ardiff_edu.diffusion import default_schedule

    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be an ardiff_edu.schedules.Schedule, got {type(schedule).__name__}")
    if not isinstance(noise, torch.Tensor) or noise.ndim != 4 or not noise.is_floating_point():
        shape = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
        raise ValueError(f"noise must be a float tensor of shape (B, F, L, C), got {shape}")
    B, F = noise.shape[:2]
    if F != schedule.num_frames:
        raise ValueError(f"noise has {F} frames but the schedule has num_frames={schedule.num_frames}")
    keep = check_choice("keep", keep, KEEP_MODES)
    prediction = check_choice("prediction", prediction or getattr(model, "prediction", "x0"), PREDICTIONS)
    cfg_scale = check_float("cfg_scale", cfg_scale, 0.0)
    noise_schedule = default_schedule() if noise_schedule is None else noise_schedule
    abar = noise_schedule.alphas_cumprod.to(torch.float64)
    template = torch.as_tensor(np.array(schedule.template), dtype=torch.long)
    coef = ddim_coefficients(template, abar)
    S = schedule.num_steps

    guided = cfg_scale != 1.0
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if labels.numel() == 1 and B > 1:
            labels = labels.expand(B)
        if labels.numel() != B:
            raise ValueError(f"labels must hold one label per video (B = {B}), got {labels.numel()}")
    if guided:
        if labels is None:
            raise ValueError(f"cfg_scale={cfg_scale} needs labels (guidance mixes the class and the null label); "
                             f"use cfg_scale=1.0 for an unconditional model")
        null = torch.full_like(labels, _null_label(model))

    K = 0
    if prefix is not None:
        if (not isinstance(prefix, torch.Tensor) or prefix.ndim != 4 or prefix.shape[0] != B
                or prefix.shape[2:] != noise.shape[2:] or not 1 <= prefix.shape[1] < F):
            shape = tuple(prefix.shape) if isinstance(prefix, torch.Tensor) else type(prefix).__name__
            raise ValueError(f"prefix must be a tensor of shape (B, K, L, C) = ({B}, K, {noise.shape[2]}, "
                             f"{noise.shape[3]}) with 1 <= K <= {F - 1}, got {shape}")
        K = prefix.shape[1]
        if schedule.update_mask[:, :K].any() or (schedule.step_index[:, :K] != S).any():
            raise ValueError(f"the schedule updates some of the {K} prefix frames: build it with "
                             f"with_prefix(schedule, {K}) or make_schedule(..., prefix_frames={K})")
        prefix_t = int(template[S]) if prefix_timestep is None else check_int(
            "prefix_timestep", prefix_timestep, 0, noise_schedule.T - 1)

    x = noise.clone()
    if K:
        x[:, :K] = prefix.to(x.dtype)
    step_index = torch.as_tensor(np.array(schedule.step_index), dtype=torch.long)
    update_mask = torch.as_tensor(np.array(schedule.update_mask), dtype=torch.bool)
    windows = np.asarray(schedule.windows)
    rows = range(schedule.num_iterations)
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, desc=f"sampling {schedule.kind} s={schedule.s}", unit="call", leave=False)
    for i in rows:
        lo, hi = int(windows[i, 0]), int(windows[i, 1])
        upd = update_mask[i, lo:hi]
        if not bool(upd.any()):
            continue                               # nothing to compute in this window (never for AD schedules)
        k = step_index[i, lo:hi]                   # the new row: updated frames are evaluated at template[k]
        t = template[k].clone()
        if K > lo:
            t[: K - lo] = prefix_t                 # given frames: labelled as (almost) clean
        xw = x[:, lo:hi]
        tw = t.unsqueeze(0).expand(B, -1)
        if guided:
            out2 = model(torch.cat([xw, xw]), torch.cat([tw, tw]), torch.cat([labels, null]))
            cond, uncond = out2[:B], out2[B:]
            out = uncond + cfg_scale * (cond - uncond)
        else:
            out = model(xw, tw, labels) if labels is not None else model(xw, tw)
        x0_hat = _to_x0(prediction, out, xw, tw, abar)
        mask = upd.reshape(1, -1, *([1] * (x.ndim - 2)))
        x0_hat = torch.where(mask, x0_hat, xw)     # the official keep: unscheduled frames predict themselves
        new = ddim_step(xw, x0_hat, k, coef)
        if keep == "exact":
            new = torch.where(mask, new, xw)       # unscheduled frames are not touched at all
        x[:, lo:hi] = new
        if K:
            x[:, :K] = prefix.to(x.dtype)          # the given frames never change
        if callback is not None:
            callback(i, x)
    return x


# ----------------------------------------------------------------------------------------------------------------
# From a trained pipeline to uint8 videos
# ----------------------------------------------------------------------------------------------------------------
def _pipeline_parts(pipeline):
    model = pipeline.model
    noise_schedule = getattr(pipeline, "noise_schedule", None)
    return model, noise_schedule


def _config(pipeline, *names, default=None):
    """The first of ``names`` found in the pipeline's config (dict or attribute), else ``default``."""
    config = getattr(pipeline, "config", None) or {}
    for name in names:
        if isinstance(config, dict) and config.get(name) is not None:
            return config[name]
        if not isinstance(config, dict) and getattr(config, name, None) is not None:
            return getattr(config, name)
    return default


def _encode(pipeline, videos_uint8: np.ndarray) -> torch.Tensor:
    """uint8 ``(M, K, H, W, 3)`` -> the pipeline's (normalised) latents ``(M, K, L, C)``."""
    from ardiff_edu.data import to_float

    with torch.no_grad():
        return pipeline.encode_video(to_float(np.ascontiguousarray(videos_uint8)))


def _decode(pipeline, latents: torch.Tensor) -> np.ndarray:
    """Latents ``(M, N, L, C)`` -> uint8 videos ``(M, N, H, W, 3)``."""
    from ardiff_edu.data import to_uint8

    with torch.no_grad():
        return np.asarray(to_uint8(pipeline.decode_video(latents)))


def generate(pipeline, num_videos: int = 4, num_frames: int = 16, s: int = 5, num_steps: int = 50,
             window: int | None = None, seed: int = 0, prefix_frames=None, labels=None, cfg_scale: float = 1.0,
             overflow: str = "raise", keep: str = "exact", batch_size: int | None = None, progress: bool = False,
             return_latents: bool = False):
    """Generate ``num_videos`` videos with AR-Diffusion's AD schedule and decode them: uint8 ``(M, N, H, W, 3)``.

    Args:
        pipeline: a trained pipeline (:func:`ardiff_edu.train.load_checkpoint`).
        num_frames: ``N``; longer than the training length uses a sliding window.
        s: the AR step (``0`` synchronous … ``num_steps`` fully auto-regressive).
        num_steps: ``S`` DDIM steps.
        window: frames per network call (default: the training clip length).
        seed: all starting noise is drawn up front from ``torch.Generator().manual_seed(seed)``, shape
            ``(M, N, L, C)``, so a video does not depend on ``batch_size``.
        prefix_frames: video prediction. ``None``; an int ``K`` (the first ``K`` frames of ground-truth bouncing-ball
            clips drawn with ``seed``, in the pipeline's data settings); or uint8 videos ``(M, K, H, W, 3)`` (or ``(K, H, W, 3)`` for all).
        labels, cfg_scale: class labels ``(M,)`` (or one int) and the guidance scale (:func:`ddim_sample`).
        overflow: the long-video policy of :func:`~ardiff_edu.schedules.ad_schedule` (``"raise"`` refuses an unsafe
            ``s``).
        return_latents: also return the latents ``(M, N, L, C)``.
    """
    M = check_int("num_videos", num_videos, 1)
    N = check_int("num_frames", num_frames, 1)
    S = check_int("num_steps", num_steps, 1)
    overflow = check_choice("overflow", overflow, OVERFLOW_MODES)
    model, noise_schedule = _pipeline_parts(pipeline)
    if window is None:
        window = _config(pipeline, "num_frames", "window", default=None)
    window = None if window is None else check_int("window", window, 1)
    K = 0
    prefix_videos = None
    if prefix_frames is not None:
        if isinstance(prefix_frames, (int, np.integer)) and not isinstance(prefix_frames, bool):
            K = check_int("prefix_frames", prefix_frames, 1, N - 1)
            from ardiff_edu.data import bouncing_balls

            data_kw = _config(pipeline, "data", default={}) or {}
            size = _config(pipeline, "size", "image_size", default=32)
            real = bouncing_balls(M, num_frames=max(N, 2), size=size, seed=seed, return_state=False,
                                  **{k: v for k, v in dict(data_kw).items() if k not in ("num_frames", "size", "seed")})
            prefix_videos = np.asarray(real)[:, :K]
        else:
            prefix_videos = np.asarray(prefix_frames)
            if prefix_videos.ndim == 4:                                  # the same given frames for every video
                prefix_videos = np.broadcast_to(prefix_videos, (M, *prefix_videos.shape))
            if prefix_videos.dtype != np.uint8 or prefix_videos.ndim != 5 or prefix_videos.shape[0] != M:
                raise ValueError(f"prefix_frames must be None, an int or uint8 videos (M={M}, K, H, W, 3), got "
                                 f"{prefix_videos.dtype} {prefix_videos.shape}")
            K = check_int("prefix_frames (K)", prefix_videos.shape[1], 1, N - 1)
    schedule = make_schedule(N, S, check_int("s", s, 0, S), window, K, overflow, noise_schedule.T)
    tokens, channels = model.num_tokens, model.token_dim
    generator = torch.Generator().manual_seed(int(seed))
    noise = torch.randn((M, N, tokens, channels), generator=generator)
    prefix = None if K == 0 else _encode(pipeline, prefix_videos).to(noise.dtype)
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        labels = labels.expand(M) if labels.numel() == 1 else labels
    bs = M if batch_size is None else check_int("batch_size", batch_size, 1)
    model.eval()
    chunks = []
    for start in range(0, M, bs):
        sl = slice(start, min(start + bs, M))
        chunks.append(ddim_sample(model, schedule, noise[sl], noise_schedule,
                                  labels=None if labels is None else labels[sl], cfg_scale=cfg_scale,
                                  prefix=None if prefix is None else prefix[sl], keep=keep, progress=progress))
    latents = torch.cat(chunks)
    videos = _decode(pipeline, latents)
    return (videos, latents) if return_latents else videos


# ----------------------------------------------------------------------------------------------------------------
# Writing videos
# ----------------------------------------------------------------------------------------------------------------
def video_grid(videos: np.ndarray, gap: int = 1, scale: int = 1) -> np.ndarray:
    """uint8 ``(M, N, H, W, 3)`` -> ``(N, H·scale, M·W·scale + (M−1)·gap, 3)``: the videos side by side, separated by
    ``gap`` grey pixel columns, each frame upscaled ``scale`` times (nearest neighbour)."""
    videos = np.asarray(videos)
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"videos must be uint8 (M, N, H, W, 3), got {videos.dtype} {videos.shape}")
    scale = check_int("scale", scale, 1, 16)
    gap = check_int("gap", gap, 0, 16)
    if scale > 1:
        videos = videos.repeat(scale, axis=2).repeat(scale, axis=3)
    M, N, H, W, _ = videos.shape
    grid = np.full((N, H, M * W + (M - 1) * gap, 3), 128, np.uint8)
    for m in range(M):
        grid[:, :, m * (W + gap): m * (W + gap) + W] = videos[m]
    return grid


def save_videos(path, videos: np.ndarray, fps: int = 8, scale: int = 1) -> Path:
    """Write uint8 ``(M, N, H, W, 3)``: ``.npy`` keeps the array as is; ``.mp4`` / ``.gif`` get :func:`video_grid`."""
    path = Path(path)
    suffix = check_choice("out suffix", path.suffix.lower(), (".npy", ".mp4", ".gif"))
    videos = np.asarray(videos)
    if suffix == ".npy":
        with atomic_open(path) as f:
            np.save(f, videos)
        return path
    from ardiff_edu.video import write_video

    grid = video_grid(videos, gap=1 if videos.shape[0] > 1 else 0, scale=scale)
    if suffix == ".mp4" and (grid.shape[1] % 2 or grid.shape[2] % 2):  # yuv420p needs even sizes
        grid = np.pad(grid, ((0, 0), (0, grid.shape[1] % 2), (0, grid.shape[2] % 2), (0, 0)))
    write_video(path, grid, fps=fps)
    return path


# ----------------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ardiff_edu sample",
        description="Generate videos with AR-Diffusion's asynchronous DDIM sampler and write them as a side-by-side "
                    ".mp4/.gif grid or a uint8 (M, N, H, W, 3) .npy array.")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help=f"a checkpoint from `python -m ardiff_edu train` (default: {DEFAULT_CHECKPOINT})")
    parser.add_argument("--num-frames", type=int, default=16, help="frames per video, N (default 16)")
    parser.add_argument("--s", "--s-step", dest="s", type=int, default=5,
                        help="AR step s: 0 synchronous ... num-steps fully auto-regressive (default 5)")
    parser.add_argument("--num-steps", type=int, default=50, help="DDIM steps S (default 50)")
    parser.add_argument("--window", type=int, default=None,
                        help="frames per network call (default: the training clip length)")
    parser.add_argument("--overflow", choices=["raise", "wait"], default="raise",
                        help="a long video with s*window < S: refuse (raise) or hold new frames back (wait)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting noise (default 0)")
    parser.add_argument("--num-videos", type=int, default=4, help="videos to generate, M (default 4)")
    parser.add_argument("--cfg-scale", type=float, default=1.0, help="classifier-free guidance scale (needs --label)")
    parser.add_argument("--label", type=int, default=None, help="class label for a class-conditional model")
    parser.add_argument("--prefix-frames", type=int, default=None,
                        help="video prediction: give the first K frames of ground-truth clips (seeded by --seed)")
    parser.add_argument("--fps", type=int, default=8, help="frames per second of .mp4/.gif (default 8)")
    parser.add_argument("--scale", type=int, default=2, help="upscale .mp4/.gif frames this many times (default 2)")
    parser.add_argument("--batch-size", type=int, default=None, help="videos per sampler call (default: all)")
    parser.add_argument("--out", type=Path, required=True, help="output file: .mp4, .gif or .npy")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_choice("--out suffix", args.out.suffix.lower(), (".npy", ".mp4", ".gif"))
    check_int("--num-videos", args.num_videos, 1)
    check_int("--num-frames", args.num_frames, 1)
    check_int("--num-steps", args.num_steps, 1)
    check_int("--s", args.s, 0, args.num_steps)
    check_int("--fps", args.fps, 1, 120)
    if args.prefix_frames is not None:
        check_int("--prefix-frames", args.prefix_frames, 1, args.num_frames - 1)
    if args.cfg_scale != 1.0 and args.label is None:
        raise ValueError(f"--cfg-scale={args.cfg_scale} needs --label (an unconditional model has no guidance)")
    if not args.checkpoint.exists():
        raise ValueError(f"--checkpoint {args.checkpoint} does not exist (train one with `python -m ardiff_edu "
                         f"train`, or pass --checkpoint PATH)")
    from ardiff_edu.train import load_checkpoint

    pipeline = load_checkpoint(args.checkpoint)
    videos = generate(pipeline, num_videos=args.num_videos, num_frames=args.num_frames, s=args.s,
                      num_steps=args.num_steps, window=args.window, seed=args.seed, prefix_frames=args.prefix_frames,
                      labels=args.label, cfg_scale=args.cfg_scale, overflow=args.overflow,
                      batch_size=args.batch_size, progress=not args.no_progress)
    path = save_videos(args.out, videos, fps=args.fps, scale=args.scale)
    print(f"wrote {path}: {videos.shape[0]} videos x {videos.shape[1]} frames of "
          f"{videos.shape[2]}x{videos.shape[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
