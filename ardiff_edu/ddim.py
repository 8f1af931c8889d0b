"""Sampling: DDIM driven by any staircase, one network call per iteration (notebook 08).

The schedule (:mod:`ardiff_edu.ad`) says, for every iteration ``i``, which frames the network sees (the window), the
step index ``k_f`` of every frame after the iteration, and which frames get a DDIM update. One iteration:

1. feed the window with every frame labelled ``t_f = template[k_f]`` (finished frames: ``template[S]``);
2. turn the network's output into a clean-latent estimate ``x̂0`` (x0-, ε- or v-prediction);
3. move every updated frame by one DDIM step, from the level of ``template[k]`` to that of ``template[k + 1]``
   (to ``ᾱ[0]``, "clean", after ``k = S``); every other frame keeps its value.

The DDIM step is linear in the current latent ``x`` and ``x̂0``, with per-frame coefficients indexed by ``k``::

    x_new = c_x[k] · x + c_x0[k] · x̂0,   c_x = √(1 − a_prev) / √(1 − a),   c_x0 = √a_prev − c_x · √a

where ``a = ᾱ[template[k]]`` and ``a_prev`` is the level the frame moves to (with ``η = 0``, the deterministic
sampler the paper's code runs; ``η > 0`` below). The official code
(``src/ardiff/modules/fifoddim.py`` of iva-mzsun/AR-Diffusion, commit 7a37b94) extends its DDIM arrays by one entry
so that an untouched frame (``k = 0``) has ``a = a_prev = ᾱ[T−1]``: ``c_x = 1`` and ``c_x0 = 0`` exactly.

**Keeping frames.** ``keep="exact"`` (ours) leaves every frame the schedule does not update bit-for-bit unchanged.
``keep="official"`` reproduces the official code, which replaces the raw network output by ``x`` on those frames and
then steps every frame of the window: for an x0-model a finished frame drifts by a factor ``c_x + c_x0 ≈ 1.0000212``
per iteration; for ε- and v-models the replaced *noise* (or velocity) turns into a shrunken ``x̂0``, and finished
frames shrink by about 0.9958 per iteration.

**Given frames and noisy context.** Given frames (``prefix``, video prediction) are finished from the start
(``ad_schedule(..., prefix_frames=K)``) and written into the state once. ``context_noise = τ > 0`` feeds every
finished frame to the network noised to level ``τ`` (with noise drawn once per frame) and labelled ``τ``, as
Diffusion Forcing's stabilization level and SkyReels-V2's ``addnoise_condition`` do; the stored frames stay clean.

**KV cache.** Under the strictly causal mask a frame's keys and values depend only on itself and the frames before it.
Finished frames never change, so :class:`KVCache` computes their keys and values once and every later call runs the
network only on the frames after them, up to the last frame updated in that iteration (untouched frames further
right cannot influence the earlier ones). Positions count from the window's first frame, so when the window slides
the cache is rebuilt from the frames still inside it. Leaky and full masks, ``keep="official"`` and fresh per-call
context noise cannot be cached exactly; :func:`sample` then runs without the cache (or refuses ``kv_cache=True``).

**Autoguidance of the first frame** (not in the paper or its code; Karras et al., "Guiding a Diffusion Model with a
Bad Version of Itself", 2024). Under the strictly causal mask the first frame is a draw from an image model of one
frame. ``autoguide`` is a weaker model of the same latents (the same DiT trained for fewer steps); while frame 0 is
being denoised its prediction becomes ``D_weak + w · (D − D_weak)``, ``w = autoguide_scale``: guidance away from the
errors the weaker model makes more of, which pulls the first frame's ball count towards the data's. Only frame 0 is
guided: the later frames, guided the same way, drift in colour much more (``data/samples/autoguidance.md``).
``first_frame`` (not in the paper either) is a separate model of one frame of the same latents, trained on first
frames alone; its prediction replaces the video model's for frame 0 (and is what ``autoguide`` then guides): the
image model of the causal factorisation, learnt apart (``data/samples/one_frame_model.py``).

**History guidance** (not in the paper or its code; the "vanilla history guidance" of Song et al., "History-Guided
Video Diffusion", 2025, arXiv 2502.06764). Classifier-free guidance whose condition is the history: every frame's
prediction ``D`` (the frame with the frames before it) becomes ``D_alone + w · (D − D_alone)``, where ``D_alone`` is
the network's prediction for that frame **alone**, fed as the first frame of a clip at the same noise level. A strictly
causal model learns ``D_alone`` for free (it is what it sees for frame 0 of every training clip), so no label dropout
is needed; Song et al. instead mask the history with noise. ``w = history_guidance``; frames without history in the
window (its first frame) are left as they are. It costs one extra one-frame call per guided frame.
``history_guidance_max_t = t_max`` limits it to an interval of noise levels, as Kynkäänniemi et al. ("Applying
Guidance in a Limited Interval Improves Sample and Distribution Quality in Diffusion Models", 2024) do for
classifier-free guidance: only frames labelled ``t < t_max`` are guided, so the noisy steps that place a new frame's
balls are the model's own (``data/samples/history_guidance_interval.md``).

**Stochastic steps, η** (DDIM's own family, Song et al., "Denoising Diffusion Implicit Models", 2021, eq. 12; the
official sampler has it too, ``ddim_eta``, set to 0 in every script). With ``η > 0`` a step keeps less of the
estimated noise and adds fresh noise ``z``::

    x_new = √a_prev · x̂0 + √(1 − a_prev − σ²) · ε̂ + σ · z,   σ = η · √((1 − a_prev) / (1 − a)) · √(1 − a / a_prev)

``η = 1`` is the DDPM posterior's variance (ancestral sampling); ``η = 0`` the deterministic step above. Every
``η`` in ``[0, 1]`` gives a process with the forward process's marginals; a sampler that only has an estimate
``x̂0`` loses a little variance per step, more with larger ``η``, less with more steps (a test follows it step by
step on Gaussian data). ``z`` is drawn once per video, frame and step index (``step_eps``, shape
``(B, F, S, L, C)``), so a video does not depend on the batch, the KV cache or how the window slides.

**Temperature** (not in the paper or its code; the reduced-temperature sampling of Glow, Kingma & Dhariwal, 2018,
applied to the starting noise of a deterministic sampler). ``temperature = τ`` scales the starting noise of every
frame after the first by ``τ``; DDIM with ``η = 0`` then follows the model's flow from a point nearer the mode. Frame
0 keeps ``τ = 1``: it has no history to lean on, and a scaled first frame comes out empty far more often. ``τ < 1``
trades variety for straighter, slower balls (``data/samples/temperature16.md``, ``temperature64.md``).
"""

from __future__ import annotations

import numpy as np
import torch

from ardiff_edu.ad import Schedule
from ardiff_edu.noise import PREDICTIONS, NoiseSchedule, default_schedule
from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["KEEP_MODES", "MAX_TEMPERATURE", "check_temperature", "check_eta", "ddim_coefficients", "ddim_step",
           "KVCache", "sample"]

#: How frames that the schedule does not update are treated (see the module docstring).
KEEP_MODES = ("exact", "official")
#: The largest ``temperature`` :func:`sample` accepts (the range is ``(0, MAX_TEMPERATURE]``).
MAX_TEMPERATURE = 2.0


def check_temperature(value, name: str = "temperature") -> float:
    """``value`` as a float in ``(0, MAX_TEMPERATURE]``, or ``ValueError`` naming ``name``, the value and the range:
    the one check of :func:`sample`, :func:`ardiff_edu.protocol.run_task` and ``sample --temperature``."""
    return check_float(name, value, 0.0, MAX_TEMPERATURE, low_open=True)


def check_eta(value, name: str = "eta") -> float:
    """``value`` as a float in ``[0, 1]`` (DDIM's ``η``: 0 deterministic, 1 the DDPM variance), or ``ValueError``
    naming ``name``, the value and the range: the one check of :func:`sample`, ``generate`` and the CLIs."""
    return check_float(name, value, 0.0, 1.0)


def ddim_coefficients(template, alphas_cumprod, eta: float = 0.0) -> dict[str, torch.Tensor]:
    """DDIM coefficients for every step index ``k = 0..S`` (float64 tensors of length ``S + 1``).

    ``template`` holds the ``S + 1`` model timesteps (``template[0] = T − 1``); ``alphas_cumprod`` is ᾱ. Returns ``a``
    (``ᾱ[template[k]]``, the level a frame is evaluated at), ``a_prev`` (the level it moves to: ``ᾱ[template[k + 1]]``,
    ``ᾱ[0]`` for ``k = S``, ``ᾱ[T − 1]`` for ``k = 0``) and ``c_x``, ``c_x0``, ``sigma`` with
    ``x_new = c_x · x + c_x0 · x̂0 + sigma · z`` (``sigma = 0`` for ``η = 0``, and for ``k = 0`` at every ``η``).
    The official extended arrays are ``alphas[j] = a[S − j]`` and ``alphas_prev[j] = a_prev[S − j]``.
    """
    template = torch.tensor(np.asarray(template), dtype=torch.long)
    abar = torch.as_tensor(alphas_cumprod, dtype=torch.float64)
    a = abar[template]
    a_prev = torch.empty_like(a)
    a_prev[1:-1] = abar[template[2:]]   # 1 <= k < S: to the next template level
    a_prev[-1] = abar[0]                # k = S: to ᾱ[0] ("clean", the LDM convention)
    a_prev[0] = a[0]                    # k = 0: the extra entry, a_prev = a -> the identity
    # $\sigma = \eta\,\sqrt{(1-a_{prev})/(1-a)}\,\sqrt{1-a/a_{prev}}$ (0 when a == a_prev)
    sigma = check_eta(eta) * ((1.0 - a_prev) / (1.0 - a)).sqrt() * (1.0 - a / a_prev).sqrt()
    # the order of operations matters: when a == a_prev, c_x is exactly 1.0 and c_x0 exactly 0.0
    c_x = (1.0 - a_prev - sigma ** 2).sqrt() / (1.0 - a).sqrt()
    c_x0 = a_prev.sqrt() - c_x * a.sqrt()
    return {"a": a, "a_prev": a_prev, "c_x": c_x, "c_x0": c_x0, "sigma": sigma}


def ddim_step(x: torch.Tensor, x0_hat: torch.Tensor, k: torch.Tensor, coefficients: dict,
              z: torch.Tensor | None = None) -> torch.Tensor:
    """One DDIM step per frame: ``x``, ``x0_hat`` (and the fresh noise ``z``, needed when ``η > 0``) are
    ``(B, F, ...)``, ``k`` the ``(F,)`` step indices."""
    shape = (1, len(k)) + (1,) * (x.ndim - 2)
    c_x = coefficients["c_x"][k].reshape(shape).to(x.dtype)
    c_x0 = coefficients["c_x0"][k].reshape(shape).to(x.dtype)
    # $x_{new} = \sqrt{a_{prev}}\,\hat x_0 + \sqrt{1-a_{prev}-\sigma^2}\,\hat\epsilon + \sigma z$,
    # $\hat\epsilon = (x - \sqrt{a}\,\hat x_0)/\sqrt{1-a}$
    new = c_x * x + c_x0 * x0_hat
    sigma = coefficients["sigma"]
    if not bool((sigma[k] > 0).any()):
        return new
    if z is None:
        raise ValueError("a stochastic step (eta > 0) needs the fresh noise z, of the shape of x")
    return new + sigma[k].reshape(shape).to(x.dtype) * z


class KVCache:
    """Keys and values of the finished frames at the front of the window, per block (see the module docstring).

    ``run(x, t, labels, lo, ready, stop)`` returns the network's prediction for frames ``[ready, stop)`` of the window
    that starts at frame ``lo``; frames ``[lo, ready)`` must be finished (their values and labels fixed from now on).
    Frames not yet in the cache are encoded in the same call and appended; a window that starts elsewhere than the
    cached one rebuilds the cache. ``encoded_frames`` counts the frame passes spent on filling it (for benchmarks).
    """

    def __init__(self, model):
        if not getattr(model, "cacheable", False):
            raise ValueError(f"a KV cache needs a strictly causal DiT (mask='causal'), got "
                             f"mask={getattr(model, 'mask_kind', None)!r}: with it, earlier tokens see later ones")
        self.model = model
        self.lo, self.hi, self.past = -1, -1, None
        self.encoded_frames = 0

    def run(self, x: torch.Tensor, t: torch.Tensor, labels, lo: int, ready: int, stop: int) -> torch.Tensor:
        if self.lo != lo or self.hi > ready:
            self.lo, self.hi, self.past = lo, lo, None      # a new window (or a reset): start from the context
        start = self.hi
        out, kvs = self.model.forward_frames(x[:, start:stop], t[:, start:stop], labels, self.past, start - lo)
        keep = (ready - start) * self.model.num_tokens + (self.model.num_context if self.past is None else 0)
        new = [(k[:, :, :keep], v[:, :, :keep]) for k, v in kvs]
        self.past = new if self.past is None else [(torch.cat([pk, k], 2), torch.cat([pv, v], 2))
                                                   for (pk, pv), (k, v) in zip(self.past, new)]
        self.encoded_frames += ready - start
        self.hi = ready
        return out[:, ready - start:]


def _null_label(model) -> int:
    null = getattr(model, "null_label", None)
    if not isinstance(null, int) or isinstance(null, bool):
        raise ValueError("classifier-free guidance needs a class-conditional model (with a null label); an "
                         "unconditional model has no second branch to guide with")
    return null


@torch.no_grad()
def sample(model, schedule: Schedule, noise: torch.Tensor, noise_schedule: NoiseSchedule | None = None,
           labels=None, cfg_scale: float = 1.0, prefix: torch.Tensor | None = None, keep: str = "exact",
           context_noise: int = 0, context_eps: torch.Tensor | None = None, kv_cache: bool | None = None,
           prediction: str | None = None, progress: bool = False, callback=None, autoguide=None,
           autoguide_scale: float = 1.0, first_frame=None, history_guidance: float = 1.0,
           history_guidance_max_t: int | None = None, temperature: float = 1.0, eta: float = 0.0,
           step_eps: torch.Tensor | None = None) -> torch.Tensor:
    """Run DDIM (``η = 0`` unless ``eta`` says otherwise) over ``schedule``; return the latents ``(B, F, L, C)``.

    Args:
        model: ``model(x (B, W, L, C), t (B, W) int64[, labels]) -> (B, W, L, C)`` predicting ``x0``, ``eps`` or
            ``v`` (its ``.prediction``, or pass ``prediction``); a :class:`~ardiff_edu.models.DiT` for the KV cache.
        schedule: any :class:`~ardiff_edu.ad.Schedule` over ``F`` frames.
        noise: ``(B, F, L, C)``, the whole video's starting noise (drawn up front).
        noise_schedule: the training :class:`~ardiff_edu.noise.NoiseSchedule` (default: linear, T = 1000).
        labels: ``(B,)`` class labels for a class-conditional model.
        cfg_scale: classifier-free guidance ``out = uncond + g · (cond − uncond)``, the unconditional branch fed the
            model's null label, both in one batched call; ``1`` = no guidance.
        prefix: ``(B, K, L, C)`` clean latents of the schedule's ``K`` given frames.
        keep: ``"exact"`` or ``"official"`` (see the module docstring).
        context_noise: ``τ``: feed finished frames noised to timestep ``τ`` (0 = clean, the official behaviour),
            with the fixed noise ``context_eps`` (default: drawn from a generator seeded 0).
        kv_cache: ``None`` = use the KV cache whenever it is exact; ``True`` = require it; ``False`` = never.
        callback: ``callback(i, x, x0_hat)`` after iteration ``i``: the state and the estimates of the computed
            frames (``None`` elsewhere); do not modify them.
        autoguide, autoguide_scale: a weaker model of the same latents and ``w``: frame 0's prediction becomes
            ``D_weak + w · (D − D_weak)`` (module docstring); ``None`` or ``w = 1`` = no autoguidance. Needs a video
            without given frames, strictly causal models of the same prediction type, and no classifier-free
            guidance.
        first_frame: a model of one frame of the same latents whose prediction replaces the model's for frame 0
            (``D`` above, when ``autoguide`` is given too); ``None`` = the model's own. Needs what ``autoguide``
            needs, and no labels.
        history_guidance: ``w``: every frame's prediction becomes ``D_alone + w · (D − D_alone)``, ``D_alone`` the
            prediction for the frame alone (module docstring); ``1`` = none. Needs a strictly causal model and no
            classifier-free guidance.
        history_guidance_max_t: ``t_max``: guide only the frames labelled ``t < t_max`` (an int in ``[1, T]``);
            ``None`` = every noise level (the same as ``T``).
        temperature: ``τ`` in ``(0, 2]``: the starting noise of frames ``1 .. F-1`` is scaled by ``τ`` (frame 0 keeps
            its own; module docstring); ``1`` = the noise as given.
        eta, step_eps: DDIM's ``η`` in ``[0, 1]`` (module docstring; ``0`` = deterministic, the paper's code) and
            its fresh noise ``(B, F, S, L, C)``, one draw per frame and step index (default: drawn from a generator
            seeded 0); needs ``keep="exact"``.
    """
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be an ardiff_edu.ad.Schedule, got {type(schedule).__name__}")
    if not isinstance(noise, torch.Tensor) or noise.ndim != 4 or not noise.is_floating_point():
        raise ValueError(f"noise must be a float tensor (B, F, L, C), got "
                         f"{tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__}")
    B, F = noise.shape[:2]
    if F != schedule.num_frames:
        raise ValueError(f"noise has {F} frames but the schedule has num_frames={schedule.num_frames}")
    keep = check_choice("keep", keep, KEEP_MODES)
    prediction = check_choice("prediction", prediction or getattr(model, "prediction", "x0"), PREDICTIONS)
    cfg_scale = check_float("cfg_scale", cfg_scale, 0.0)
    ns = default_schedule() if noise_schedule is None else noise_schedule
    context_noise = check_int("context_noise", context_noise, 0, ns.T - 1)
    exact = keep == "exact" and getattr(model, "cacheable", False)
    if kv_cache and not exact:
        raise ValueError("kv_cache=True needs a strictly causal DiT (mask='causal') and keep='exact'; got "
                         f"mask={getattr(model, 'mask_kind', None)!r}, keep={keep!r}")
    cache = KVCache(model) if (exact if kv_cache is None else kv_cache) else None
    S, K = schedule.num_steps, schedule.prefix_frames
    template = torch.tensor(schedule.template, dtype=torch.long)
    coef = ddim_coefficients(template, ns.alphas_cumprod, eta)
    if eta:
        if keep != "exact":
            raise ValueError(f"eta={eta} (stochastic steps) needs keep='exact': keep='official' steps every frame of "
                             f"the window, so frames the schedule leaves alone would get fresh noise")
        shape = (B, F, S, *noise.shape[2:])
        if step_eps is None:
            step_eps = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=noise.dtype)
        elif not isinstance(step_eps, torch.Tensor) or tuple(step_eps.shape) != shape:
            got = tuple(step_eps.shape) if isinstance(step_eps, torch.Tensor) else type(step_eps).__name__
            raise ValueError(f"step_eps must be a tensor of shape {shape} (B, F, S, L, C), got {got}")
        step_eps = step_eps.to(noise.dtype)            # once here, not in every step
    elif step_eps is not None:
        raise ValueError("step_eps was given, but eta is 0 (deterministic steps use no fresh noise)")

    autoguide_scale = check_float("autoguide_scale", autoguide_scale, 0.0)
    if autoguide is None and autoguide_scale != 1.0:
        raise ValueError(f"autoguide_scale={autoguide_scale} needs autoguide (a weaker model of the same latents)")
    if autoguide_scale == 1.0:
        autoguide = None                               # w = 1 is the model itself
    for name, other, verb in (("autoguide", autoguide, "guide"), ("first_frame", first_frame, "draw")):
        if other is None:
            continue
        other_prediction = getattr(other, "prediction", "x0")
        if other_prediction != prediction:
            raise ValueError(f"{name} predicts {other_prediction!r} but the model predicts {prediction!r}: frame 0 "
                             f"mixes or swaps the two outputs, so they must predict the same quantity")
        if K:
            raise ValueError(f"{name} {verb}s the first frame of a video, but the schedule gives the first {K} "
                             f"frames (prefix): there is nothing to {verb}; use {name}=None")
        for who, m in (("model", model), (name, other)):
            if getattr(m, "mask_kind", "causal") != "causal":
                raise ValueError(f"{name} needs strictly causal DiTs (mask='causal'), but the {who} has "
                                 f"mask={m.mask_kind!r}: its frame 0 sees later frames, which {name} is not shown")
        if cfg_scale != 1.0 or (name == "first_frame" and labels is not None):
            raise ValueError(f"{name} together with class labels or classifier-free guidance (cfg_scale="
                             f"{cfg_scale}) is not supported; use one of them")
    history_guidance = check_float("history_guidance", history_guidance, 0.0)
    if history_guidance != 1.0:
        if getattr(model, "mask_kind", "causal") != "causal":
            raise ValueError(f"history_guidance needs a strictly causal model (mask='causal'), but it has "
                             f"mask={model.mask_kind!r}: its frames see later frames, so 'a frame alone' is not what "
                             f"it learned for a first frame")
        if cfg_scale != 1.0:
            raise ValueError(f"history_guidance together with classifier-free guidance (cfg_scale={cfg_scale}) is "
                             f"not supported; use one of them")
    if history_guidance_max_t is None:
        history_guidance_max_t = ns.T                  # every label t <= T - 1 is below it
    elif history_guidance == 1.0:
        raise ValueError(f"history_guidance_max_t={history_guidance_max_t} limits history guidance to an interval, "
                         f"but history_guidance is 1 (none): give a weight w != 1 or leave the interval out")
    max_t = check_int("history_guidance_max_t", history_guidance_max_t, 1, ns.T)
    temperature = check_temperature(temperature)
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        labels = labels.expand(B) if labels.numel() == 1 else labels
        if labels.numel() != B:
            raise ValueError(f"labels must hold one label per video (B = {B}), got {labels.numel()}")
    guided = cfg_scale != 1.0
    if guided:
        if labels is None:
            raise ValueError(f"cfg_scale={cfg_scale} needs labels (guidance mixes the class and the null label); "
                             f"use cfg_scale=1.0 for an unconditional model")
        labels = torch.cat([labels, torch.full_like(labels, _null_label(model))])   # both branches, one batch

    x = noise.clone()
    if temperature != 1.0:
        x[:, 1:] *= temperature                        # $x_T = \tau\,\epsilon$ for every frame after the first
    if K:
        if (not isinstance(prefix, torch.Tensor) or tuple(prefix.shape) != (B, K, *noise.shape[2:])):
            raise ValueError(f"the schedule has {K} given frames: prefix must be a tensor of shape "
                             f"{(B, K, *noise.shape[2:])}, got {None if prefix is None else tuple(prefix.shape)}")
        x[:, :K] = prefix.to(x.dtype)
    elif prefix is not None:
        raise ValueError("prefix was given, but the schedule has no given frames: build it with "
                         "ad_schedule(..., prefix_frames=K)")
    # context noise: one draw per frame, fixed for the whole run (so that finished frames stay cacheable)
    ctx_eps = None
    if context_noise:
        ctx_eps = (torch.randn(x.shape, generator=torch.Generator().manual_seed(0)) if context_eps is None
                   else context_eps.to(x.dtype))

    step_index = torch.tensor(schedule.step_index, dtype=torch.long)
    update_mask = torch.tensor(schedule.update_mask, dtype=torch.bool)
    rows = range(schedule.num_iterations)
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, desc=f"{schedule.kind} s={schedule.s}", unit="call", leave=False)
    finished_before = torch.zeros(F, dtype=torch.bool)
    finished_before[:K] = True
    for i in rows:
        lo, hi = (int(v) for v in schedule.windows[i])
        upd = update_mask[i]
        if not bool(upd[lo:hi].any()):
            continue                                   # nothing to compute in this window (never for AD schedules)
        k = step_index[i]
        done = finished_before & ~upd                  # finished frames: fed as context
        t = torch.where(done, context_noise if context_noise else template[S], template[k])
        fed = x if ctx_eps is None else torch.where(
            done[None, :, None, None], ns.q_sample(x, t.expand(B, F), noise=ctx_eps), x)
        if cache is not None:                          # run only frames [ready, stop): after the finished ones,
            ready = lo + int(torch.cumprod(done[lo:hi].int(), 0).sum())     # up to the last updated one
            stop = lo + int(upd[lo:hi].nonzero().max()) + 1
        else:
            ready, stop = lo, hi
        xx = torch.cat([fed, fed]) if guided else fed
        tt = t[None].expand(len(xx), F)
        if cache is not None:
            out = cache.run(xx, tt, labels, lo, ready, stop)
        else:
            out = model(xx[:, lo:hi], tt[:, lo:hi], labels) if labels is not None else model(xx[:, lo:hi],
                                                                                              tt[:, lo:hi])
        if guided:
            out = out[B:] + cfg_scale * (out[:B] - out[B:])
        first = max(ready, lo + 1)                     # frames with history in the window: [first, stop)
        # ... labelled inside the guidance interval: the frames history guidance changes (none without it)
        guide = torch.arange(first, stop)[t[first:stop] < max_t] if history_guidance != 1.0 else ()
        if len(guide):
            n = len(guide)
            alone_in = (fed[:, guide].reshape(B * n, 1, *x.shape[2:]), t[guide].repeat(B)[:, None])
            alone = model(*alone_in, *(() if labels is None else (labels.repeat_interleave(n),)))
            alone = alone.reshape(B, n, *x.shape[2:])
            # $D_w = D_{alone} + w\,(D - D_{alone})$: each frame guided by its own history
            out[:, guide - ready] = alone + history_guidance * (out[:, guide - ready] - alone)
        if (first_frame is not None or autoguide is not None) and ready == 0 and bool(upd[0]):  # frame 0 denoised
            first_in = (fed[:, :1], t[None, :1].expand(B, 1)) + (() if labels is None else (labels,))
            if first_frame is not None:                # frame 0 from the model of one frame
                out[:, :1] = first_frame(*first_in)
            if autoguide is not None:
                weak = autoguide(*first_in)
                out[:, :1] = weak + autoguide_scale * (out[:, :1] - weak)   # $D_w = D_{weak} + w\,(D - D_{weak})$
        seg = slice(ready, stop)
        xs, ks, mask = x[:, seg], k[seg], upd[seg].reshape(1, -1, 1, 1)
        if keep == "official":
            out = torch.where(mask, out, xs)           # the official keep: raw output := x for unscheduled frames
        x0_hat = ns.x0_from_prediction(prediction, xs, t[seg].expand(B, -1), out)
        z = None if not eta else step_eps[:, torch.arange(ready, stop), (ks - 1).clamp(min=0)]
        new = ddim_step(xs, x0_hat, ks, coef, z)          # z: frame f's draw for its step index k_f
        x[:, seg] = torch.where(mask, new, xs) if keep == "exact" else new
        if K:
            x[:, :K] = prefix.to(x.dtype)              # the given frames never change
        finished_before = finished_before | (upd & (k == S))
        if callback is not None:
            full = torch.full_like(x, float("nan"))
            full[:, seg] = x0_hat
            callback(i, x, full)
    return x
