"""The fixed evaluation protocol: which videos are generated, which real clips they meet, what is measured (nb 09).

Three tasks, each a list of **rows** (one set of videos each) scored the same way:

* ``generate``: unconditional videos of ``F`` frames for every checkpoint and every AR step ``s``, plus an
  **equal-NFE control** (``s = 0`` with ``S`` raised until it spends as many network calls as ``control_s``), beside
  the sanity rows: real clips, real clips through the tokenizer alone (the best a DiT on these latents can do),
  uniform noise, black frames, real clips with shuffled frames, and the first frame frozen. Scores: the ball tracker
  (:mod:`ardiff_edu.metrics`), the frame-to-frame difference (:mod:`ardiff_edu.quality`), the toy Fréchet distance in
  the features of :mod:`ardiff_edu.videonet` (per 16-frame window) and, with I3D weights, FVD (:mod:`ardiff_edu.fvd`).
* ``predict``: the first ``K`` frames of held-out simulated clips are given; the rest is compared with the
  simulator's true continuation, frame by frame: tracked ball-position error, PSNR, SSIM and mean absolute error,
  against the baselines "copy the last given frame", "extrapolate the tracked balls" and "black frames".
* ``drift``: long videos with the sliding window, scored per 16-frame segment against the frame index, for clean
  and noisy context (``context_noise``).

The protocol is pinned by its arguments: the real clips a row is scored against (``reference``, at least
``num_reference`` of them, so that the Fréchet distance's noise comes mostly from the row) are held-out clips of
seed ``10 000 + seed + 1000``; the "real" row and the given frames of ``predict`` are held-out clips of seed
``10 000 + seed``; generated videos use the starting noise of ``seed`` (so every checkpoint gets the same noise).
Every value comes with a bootstrap 95 % interval over videos, the same resamples for every row.
"""

from __future__ import annotations

import numpy as np

from ardiff_edu.ad import ad_nfe
from ardiff_edu.data import bouncing_balls
from ardiff_edu.ddim import check_eta, check_temperature
from ardiff_edu.fvd import fd_bootstrap, fd_from_features, i3d_features
from ardiff_edu.metrics import (DEFAULTS, KEYS, aggregate, black_frames, clip_records, copy_last_frame,
                                extrapolate_balls, frozen_first_frame, position_errors, shuffle_frames, uniform_noise)
from ardiff_edu.pipeline import HELD_OUT_SEED, generate, real_clips
from ardiff_edu.quality import (bootstrap_counts, bootstrap_indices, frame_difference, mae, mean_ci, percentile_ci,
                                psnr, ssim)
from ardiff_edu.utils import check_choice, check_float, check_int
from ardiff_edu.videonet import videonet_features

__all__ = ["TASKS", "SANITY", "REFERENCE_OFFSET", "NUM_REFERENCE", "reference_clips", "Scorer", "equal_nfe_steps",
           "row", "sanity_sets", "generation_rows", "ground_truth", "prediction_baselines", "drift_rows", "run_task"]

TASKS = ("generate", "predict", "drift")
#: The sanity rows of every ``generate`` table, in order.
SANITY = ("real", "real, tokenizer only", "uniform noise", "black frames", "frames shuffled", "first frame frozen")
#: The reference clips are held-out clips of seed ``10 000 + seed + REFERENCE_OFFSET``.
REFERENCE_OFFSET = 1000
#: How many held-out clips a table's reference holds at least (more if it scores more videos).
NUM_REFERENCE = 256


def equal_nfe_steps(num_frames: int, num_steps: int, s: int, window: int | None = None, overflow: str = "wait",
                    prefix_frames: int = 0, num_timesteps: int = 1000) -> int:
    """The ``S'`` that gives ``s = 0`` the network calls of ``(s, num_steps)`` (the closest, the larger on a tie)."""
    target = ad_nfe(num_frames, num_steps, s, window, overflow, num_timesteps, prefix_frames)
    best = None
    for S in range(1, num_timesteps):
        gap = abs(ad_nfe(num_frames, S, 0, window, overflow, num_timesteps, prefix_frames) - target)
        if best is None or gap <= best[0]:
            best = (gap, S)
        elif S > target:
            break
    return best[1]


def row(group: str, videos=None, **meta) -> dict:
    """A row before scoring: ``group`` (``sanity``, ``generated``, ``control``, ``baseline``), its videos, and what
    identifies it (``checkpoint``, ``s``, ``S``, ``nfe``, ``context_noise``...)."""
    return {"group": group, "videos": videos, **meta}


class Scorer:
    """Scores sets of videos against ``reference`` real clips, with bootstrap intervals (``num_boot`` draws of
    ``seed``, the same for every set of the same size). ``videonet`` (optional) gives the toy Fréchet distance per
    ``videonet.cfg.num_frames``-frame window; ``i3d`` (optional) gives FVD on whole clips."""

    def __init__(self, reference, videonet=None, i3d=None, num_boot: int = 1000, seed: int = 0, level: float = 0.95):
        self.reference = np.asarray(reference)
        self.videonet, self.i3d = videonet, i3d
        self.num_boot, self.seed, self.level = check_int("num_boot", num_boot, 1), seed, level
        self._indices, self._ref = {}, {}

    def indices(self, n: int) -> np.ndarray:
        if n not in self._indices:
            self._indices[n] = bootstrap_indices(n, self.num_boot, self.seed)
        return self._indices[n]

    def windows(self, videos) -> np.ndarray | None:
        """Videonet features of every non-overlapping window: ``(N, windows, D)``, or None without a network."""
        if self.videonet is None:
            return None
        w = self.videonet.cfg.num_frames
        n = videos.shape[1] // w
        if n == 0 or videos.shape[2:4] != (self.videonet.cfg.image_size,) * 2:
            return None
        segs = videos[:, :n * w].reshape(len(videos) * n, w, *videos.shape[2:])
        return videonet_features(segs, self.videonet).reshape(len(videos), n, -1)

    def _fd(self, ref, feats) -> tuple[float, list]:
        """The distance of window features ``feats`` ``(N, W, D)`` to ``ref`` ``(M, W', D)`` and its interval.

        A resample repeats videos, which shrinks its covariance and lifts every resampled distance; the interval
        keeps the width of the bootstrap distribution but is shifted so that its median is the full-set value."""
        ref = ref.reshape(-1, ref.shape[-1])
        value = fd_from_features(ref, feats.reshape(-1, feats.shape[-1]))
        samples = fd_bootstrap(ref, feats, self.indices(len(feats)))
        shift = float(np.median(samples)) - value
        return value, [v - shift for v in percentile_ci(samples, self.level)]

    def score(self, videos, keys=KEYS) -> dict:
        """``{"values": {metric: float}, "ci": {metric: [lo, hi]}}`` for one set of uint8 videos."""
        videos = np.asarray(videos)
        idx = self.indices(len(videos))
        got = clip_records(videos)
        point, boots = aggregate(got["records"]), aggregate(got["records"], bootstrap_counts(idx))
        values = {k: point[k] for k in keys}
        ci = {k: list(percentile_ci(boots[k], self.level)) for k in keys}
        counts = got["records"]["counts"]                                  # (N, F): blobs per frame
        for k in range(5):                                                 # the ball-count distribution over frames
            m, lo, hi = mean_ci((np.minimum(counts, 4) == k).mean(axis=1), idx, self.level)
            values[f"balls_{k}"], ci[f"balls_{k}"] = float(m), [lo, hi]
        if videos.shape[1] >= 2:
            m, lo, hi = mean_ci(frame_difference(videos), idx, self.level)
            values["frame_diff"], ci["frame_diff"] = float(m), [lo, hi]
        feats = self.windows(videos)
        if feats is not None:
            if "videonet" not in self._ref:
                self._ref["videonet"] = self.windows(self.reference)
            values["fd_videonet"], ci["fd_videonet"] = self._fd(self._ref["videonet"], feats)
        if self.i3d is not None and videos.shape[1] == self.reference.shape[1]:
            if "i3d" not in self._ref:
                self._ref["i3d"] = i3d_features(self.reference, self.i3d)
            feats = i3d_features(videos, self.i3d)
            values["fvd_i3d"], ci["fvd_i3d"] = self._fd(self._ref["i3d"], feats[:, None])
        return {"values": values, "ci": ci}

    def score_prediction(self, videos, truth, given: int, state=None) -> dict:
        """Frame-by-frame comparison of ``videos`` with the true continuation ``truth`` after ``given`` frames:
        per-frame ``curves`` (with ``curves_ci``) and their mean over the horizon (``values``, ``ci``)."""
        v, t = np.asarray(videos)[:, given:], np.asarray(truth)[:, given:]
        per_frame = {"psnr": psnr(v, t), "ssim": ssim(v, t), "mae": mae(v, t)}
        if state is not None:
            per_frame["position_error"] = position_errors(v, state["positions"][:, given:], state["present"])
        idx = self.indices(len(v))
        out = {"values": {}, "ci": {}, "curves": {}, "curves_ci": {}}
        for k, x in per_frame.items():
            m, lo, hi = mean_ci(x, idx, self.level)
            out["curves"][k], out["curves_ci"][k] = m.tolist(), [lo.tolist(), hi.tolist()]
            m, lo, hi = mean_ci(x.mean(axis=1), idx, self.level)
            out["values"][k], out["ci"][k] = float(m), [lo, hi]
        return out

    def score_segments(self, videos, keys=("match_frac", "accel_median", "colour_drift_median", "empty_frac"),
                       segment: int = 16) -> dict:
        """Scores per non-overlapping ``segment`` of frames (against the frame index): ``curves``, ``curves_ci``
        and ``starts`` (the first frame of every segment); ``fd_videonet`` per window with a network."""
        videos = np.asarray(videos)
        n = videos.shape[1] // check_int("segment", segment, 2)
        idx = self.indices(len(videos))
        counts = bootstrap_counts(idx)
        curves = {k: [] for k in keys}
        bounds = {k: ([], []) for k in keys}
        for j in range(n):
            rec = clip_records(videos[:, j * segment:(j + 1) * segment])["records"]
            point, boots = aggregate(rec), aggregate(rec, counts)
            for k in keys:
                curves[k].append(point[k])
                lo, hi = percentile_ci(boots[k], self.level)
                bounds[k][0].append(lo)
                bounds[k][1].append(hi)
        feats = self.windows(videos) if (self.videonet is None or self.videonet.cfg.num_frames == segment) else None
        if feats is not None:
            if "videonet" not in self._ref:
                self._ref["videonet"] = self.windows(self.reference)
            fd = [self._fd(self._ref["videonet"], feats[:, j:j + 1]) for j in range(feats.shape[1])]
            curves["fd_videonet"] = [f[0] for f in fd]
            bounds["fd_videonet"] = ([f[1][0] for f in fd], [f[1][1] for f in fd])
        return {"starts": [j * segment for j in range(n)], "curves": curves,
                "curves_ci": {k: [list(lo), list(hi)] for k, (lo, hi) in bounds.items()}}


# ----------------------------------------------------------------------------------------------------------------
# the rows of each task
# ----------------------------------------------------------------------------------------------------------------
def sanity_sets(pipe, real, seed: int = 0) -> list[dict]:
    """The sanity rows for held-out ``real`` clips: each must score worse than them, each for a known reason."""
    real = np.asarray(real)
    tok = np.concatenate([pipe.decode_uint8(pipe.encode_uint8(real[i:i + 16])) for i in range(0, len(real), 16)])
    sets = [real, tok, uniform_noise(real.shape, seed), black_frames(real.shape), shuffle_frames(real, seed),
            frozen_first_frame(real)]
    return [row("sanity", v, name=name, frames=real.shape[1]) for name, v in zip(SANITY, sets)]


def generation_rows(pipe, label: str, s_values, num_videos: int, num_frames: int, num_steps: int, seed: int = 0,
                    window: int | None = None, overflow: str = "wait", control_s: int | None = None,
                    prefix_frames: int | None = None, context_noise: int = 0, progress: bool = False,
                    autoguide=None, autoguide_scale: float = 1.0, first_frame=None, history_guidance: float = 1.0,
                    history_guidance_max_t: int | None = None, temperature: float = 1.0,
                    eta: float = 0.0) -> list[dict]:
    """Videos of checkpoint ``label`` for every ``s`` (and the equal-NFE control of ``control_s``), same noise;
    ``autoguide``, ``autoguide_scale``: autoguidance of the first frame, ``first_frame``: a model of one frame that
    draws it, ``history_guidance``: the weight of history
    guidance, ``history_guidance_max_t`` its interval, ``temperature`` the scale of the later frames' starting noise,
    ``eta`` DDIM's ``η`` (:func:`ardiff_edu.pipeline.generate`)."""
    F, S = check_int("num_frames", num_frames, 2), check_int("num_steps", num_steps, 1)
    T, W = pipe.noise_schedule.T, window or pipe.config.num_frames
    K = prefix_frames or 0
    configs = [(check_int("s", s, 0, S), S, "generated") for s in s_values]
    if control_s is not None:
        configs.append((0, equal_nfe_steps(F, S, check_int("control_s", control_s, 1, S), W, overflow, K, T),
                        "control"))
    rows = []
    for s, steps, group in configs:
        videos = generate(pipe, num_videos, F, s, num_steps=steps, window=W, seed=seed, overflow=overflow,
                          prefix_frames=prefix_frames, context_noise=context_noise, progress=progress,
                          autoguide=autoguide, autoguide_scale=autoguide_scale, first_frame=first_frame,
                          history_guidance=history_guidance, history_guidance_max_t=history_guidance_max_t,
                          temperature=temperature, eta=eta)
        name = (f"{label} s={s} S={steps}" + (f" ctx={context_noise}" if context_noise else "")
                + (" first_frame" if first_frame is not None else "")
                + (f" autoguide={autoguide_scale:g}" if autoguide is not None else "")
                + (f" history={history_guidance:g}" if history_guidance != 1 else "")
                + (f" t<{history_guidance_max_t}" if history_guidance_max_t is not None else "")
                + (f" temperature={temperature:g}" if temperature != 1 else "")
                + (f" eta={eta:g}" if eta else ""))
        rows.append(row(group, videos, name=name + (f" (equal NFE to s={control_s})" if group == "control" else ""),
                        checkpoint=label, s=s, S=steps, nfe=ad_nfe(F, steps, s, W, overflow, T, K), frames=F,
                        context_noise=context_noise, control_of=control_s if group == "control" else None,
                        autoguide_scale=autoguide_scale if autoguide is not None else None,
                        history_guidance=history_guidance, history_guidance_max_t=history_guidance_max_t,
                        temperature=temperature, eta=eta))
    return rows


def ground_truth(pipe, num_videos: int, num_frames: int, seed: int = 0):
    """The held-out clips the ``real`` row and ``predict`` use, and the simulator's state (``None`` unless the
    pipeline's dataset is bouncing balls)."""
    clips = real_clips(pipe, num_videos, num_frames, seed)[0]
    if pipe.config.dataset != "balls":
        return clips, None
    again, state = bouncing_balls(num_videos, num_frames=num_frames, size=pipe.config.image_size,
                                  seed=HELD_OUT_SEED + seed, return_state=True)
    assert np.array_equal(again, clips), "the held-out clips and the simulator's state disagree"
    return clips, state


def prediction_baselines(pipe, truth, given: int) -> list[dict]:
    """What a predictor must beat, and the floors: the true frames, the tokenizer's reconstruction of them, the last
    given frame copied, the tracked balls extrapolated, and black frames."""
    F = truth.shape[1]
    tok = np.concatenate([pipe.decode_uint8(pipe.encode_uint8(truth[i:i + 16])) for i in range(0, len(truth), 16)])
    rows = [("simulator frames (floor)", truth), ("real, tokenizer only", tok),
            ("copy last given frame", copy_last_frame(truth[:, :given], F))]
    if given >= 2:
        rows.append(("extrapolate tracked balls", extrapolate_balls(truth[:, :given], F)))
    rows.append(("black frames", black_frames(truth.shape)))
    return [row("baseline", v, name=name, frames=F, given=given) for name, v in rows]


def drift_rows(pipe, label: str, s: int, num_videos: int, num_frames: int, num_steps: int, seed: int = 0,
               context_noise=(0,), progress: bool = False, autoguide=None,
               autoguide_scale: float = 1.0, first_frame=None, history_guidance: float = 1.0,
               history_guidance_max_t: int | None = None, temperature: float = 1.0,
               eta: float = 0.0) -> list[dict]:
    """Long videos of ``label`` with the sliding window, one row per context-noise level."""
    rows = []
    for tau in context_noise:
        rows += generation_rows(pipe, label, [s], num_videos, num_frames, num_steps, seed,
                                context_noise=check_int("context_noise", tau, 0, pipe.noise_schedule.T - 1),
                                progress=progress, autoguide=autoguide, autoguide_scale=autoguide_scale,
                                first_frame=first_frame, history_guidance=history_guidance,
                                history_guidance_max_t=history_guidance_max_t,
                                temperature=temperature, eta=eta)
    return rows


def _describe(pipe, path=None) -> dict:
    cfg = pipe.config
    return {"path": None if path is None else str(path), "steps": pipe.meta.get("steps"), "timesteps": cfg.timesteps,
            "seed": cfg.seed, "dataset": cfg.dataset, "window": cfg.num_frames}


def reference_clips(pipe, num_videos: int, num_frames: int, seed: int = 0, num_reference: int = NUM_REFERENCE):
    """The real clips a table's ``num_videos`` generated videos are scored against: ``num_reference`` held-out clips
    of ``num_frames`` frames (``num_videos`` if that is more), drawn with seed ``seed + REFERENCE_OFFSET``."""
    n = max(num_videos, check_int("num_reference", num_reference, 2))
    return real_clips(pipe, n, num_frames, seed + REFERENCE_OFFSET)[0]


def run_task(task: str, pipelines: dict, s_values=(0, 5), num_videos: int = 16, num_frames: int = 16,
             num_steps: int = 20, seed: int = 0, control_s: int | None = None, given: int = 4, context_noise=(0,),
             videonet=None, i3d=None, num_boot: int = 1000, sanity: bool = True, paths: dict | None = None,
             num_reference: int = NUM_REFERENCE, progress: bool = False, autoguide=None, autoguide_scale: float = 1.0,
             autoguide_path=None, first_frame=None, first_frame_path=None, history_guidance: float = 1.0,
             history_guidance_max_t: int | None = None,
             temperature: float = 1.0, eta: float = 0.0) -> dict:
    """Generate and score every row of ``task`` for ``pipelines`` (``{label: Pipeline}``, same dataset and frame
    size); returns ``{"task", "protocol", "rows"}`` with the videos dropped (JSON-ready up to NaNs). ``autoguide``
    (a weaker :class:`~ardiff_edu.pipeline.Pipeline`, from ``autoguide_path``) guides every generated video's first
    frame with weight ``autoguide_scale``; ``first_frame`` (a model of one frame, from ``first_frame_path``) draws it;
    ``predict`` gives the first frames, so it refuses both.
    ``history_guidance`` guides every frame by the frames before it (every task), at the noise levels
    ``t < history_guidance_max_t`` (``None``: all); ``temperature`` scales the starting noise of every frame after the
    first (every task), ``eta`` is DDIM's ``η`` (every task)."""
    task = check_choice("task", task, TASKS)
    for name, other in (("autoguide", autoguide), ("first_frame", first_frame)):
        if other is not None and task == "predict":
            raise ValueError(f"{name} acts on the first frame, which the predict task gives: use it with generate "
                             f"or drift")
    history_guidance = check_float("history_guidance", history_guidance, 0.0)     # before any video is generated
    temperature, eta = check_temperature(temperature), check_eta(eta)
    M, F = check_int("num_videos", num_videos, 2), check_int("num_frames", num_frames, 2)
    first = next(iter(pipelines.values()))
    if history_guidance_max_t is not None:
        check_int("history_guidance_max_t", history_guidance_max_t, 1, first.noise_schedule.T)
        if history_guidance == 1.0:
            raise ValueError(f"history_guidance_max_t={history_guidance_max_t} needs a history guidance weight "
                             f"w != 1 (history_guidance is 1: none)")
    sampler = {"history_guidance": history_guidance, "history_guidance_max_t": history_guidance_max_t,
               "temperature": temperature, "eta": eta}
    guide = {"autoguide": autoguide, "autoguide_scale": autoguide_scale, "first_frame": first_frame, **sampler}
    segment = first.config.num_frames
    if len({(p.config.dataset, p.config.image_size, p.config.num_frames) for p in pipelines.values()}) != 1:
        raise ValueError("every checkpoint of one evaluation must share the dataset, frame size and window")
    reference = reference_clips(first, M, segment if task == "drift" else F, seed, num_reference)
    scorer = Scorer(reference, videonet, i3d, num_boot, seed)
    truth, state = ground_truth(first, M, F, seed)
    rows = []
    if task == "generate":
        rows += sanity_sets(first, truth, seed)[:2] if sanity else []
        for label, pipe in pipelines.items():
            rows += generation_rows(pipe, label, s_values, M, F, num_steps, seed, control_s=control_s,
                                    progress=progress, **guide)
        rows += sanity_sets(first, truth, seed)[2:] if sanity else []
    elif task == "predict":
        check_int("given", given, 1, F - 1)
        rows += prediction_baselines(first, truth, given)
        for label, pipe in pipelines.items():
            rows += generation_rows(pipe, label, s_values, M, F, num_steps, seed, control_s=control_s,
                                    prefix_frames=given, progress=progress, **sampler)
    else:
        rows += [row("sanity", truth, name="real", frames=F)]
        for label, pipe in pipelines.items():
            for s in s_values:
                rows += drift_rows(pipe, label, s, M, F, num_steps, seed, context_noise, progress, **guide)
    bar = rows
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(rows, desc=f"scoring {task}", unit="row")
    for r in bar:
        videos = r.pop("videos")
        if task == "generate":
            r.update(scorer.score(videos))
        elif task == "predict":
            r.update(scorer.score_prediction(videos, truth, given, state))
        else:
            r.update(scorer.score_segments(videos, segment=segment))
    protocol = {"task": task, "num_videos": M, "num_frames": F, "num_steps": num_steps, "seed": seed,
                "s_values": list(s_values), "control_s": control_s, "overflow": "wait",
                "real": f"held-out clips, seed {HELD_OUT_SEED} + {seed}",
                "reference": f"{len(reference)} held-out clips, seed {HELD_OUT_SEED} + {seed} + {REFERENCE_OFFSET}",
                "bootstrap": {"draws": num_boot, "level": 0.95, "over": "videos",
                              "interval": "percentile (Fréchet distances: shifted to the full-set median)"},
                "tracker": dict(DEFAULTS), "segment": segment if task == "drift" else None,
                "given": given if task == "predict" else None,
                "context_noise": list(context_noise) if task == "drift" else None,
                "autoguide": None if autoguide is None else {"path": None if autoguide_path is None
                                                             else str(autoguide_path), "scale": autoguide_scale,
                                                             "frames": "the first frame of every video"},
                "first_frame": None if first_frame is None else {"path": None if first_frame_path is None
                                                                 else str(first_frame_path)},
                "history_guidance": history_guidance, "history_guidance_max_t": history_guidance_max_t,
                "temperature": temperature, "eta": eta,
                "checkpoints": {k: _describe(p, (paths or {}).get(k)) for k, p in pipelines.items()},
                "i3d": None if i3d is None else {"feature_dim": int(scorer._ref["i3d"].shape[-1])
                                                 if "i3d" in scorer._ref else None},
                "videonet": None if videonet is None else {"feature_dim": videonet.cfg.feature_dim,
                                                           **getattr(videonet, "meta", {})}}
    return {"task": task, "protocol": protocol, "rows": rows}
