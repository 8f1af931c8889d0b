"""From a checkpoint to videos: the trained tokenizer and DiT as one :class:`Pipeline` (notebooks 07, 08).

    pipe = load_pipeline("data/checkpoints/balls.pt")        # or a run's dit.pt
    videos = generate(pipe, num_videos=4, num_frames=16, s=5)  # uint8 (M, N, H, W, 3)

:func:`generate` draws the whole video's starting noise up front from ``seed``, builds AR-Diffusion's AD schedule
(:func:`ardiff_edu.ad.ad_schedule`; given frames are part of it), runs the DDIM sampler (:func:`ardiff_edu.ddim.sample`)
on the normalised latents and decodes them with the tokenizer. :func:`export` writes the small file that ships:
EMA weights in fp16, the config, the latent statistics, a thinned training log and the commands that made it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu.ad import OVERFLOW_MODES, ad_schedule
from ardiff_edu.config import HELD_OUT_SEED
from ardiff_edu.ddim import MAX_TEMPERATURE, check_eta, sample
from ardiff_edu.models import DiT, FrameTokenizer
from ardiff_edu.noise import NoiseSchedule
from ardiff_edu.train import TrainConfig, build_dit, build_tokenizer, load_clips
from ardiff_edu.utils import DATA_DIR, atomic_torch_save, check_choice, check_int, fastest
from ardiff_edu.video import to_float, to_uint8

__all__ = ["DEFAULT_CHECKPOINT", "AUTOGUIDE_SCALE", "Pipeline", "load_pipeline", "export", "export_checkpoint",
           "generate", "real_clips", "check_same_latents", "add_guidance_arguments", "load_autoguide", "load_first_frame",
           "choose_threads"]

#: The shipped checkpoint, the default of every command that samples.
DEFAULT_CHECKPOINT = DATA_DIR / "checkpoints" / "balls.pt"
#: The autoguidance weight ``w`` of the command lines: the one whose first frames' ball counts came closest to the
#: data's for the default model guided by the FoPP ablation arm (``python data/samples/autoguidance.py``).
AUTOGUIDE_SCALE = 4.0


@dataclass
class Pipeline:
    """A trained model ready for sampling: eval mode, EMA weights, float32.

    The sampler works on **normalised latents** ``(B, F, L, C)``: :meth:`encode_video` turns pixel clips into them,
    :meth:`decode_video` turns them back into pixel clips in [-1, 1].
    """
    tokenizer: FrameTokenizer
    model: DiT
    noise_schedule: NoiseSchedule
    config: TrainConfig
    latent_mean: torch.Tensor
    latent_std: torch.Tensor
    class_names: list | None = None
    meta: dict = dataclasses.field(default_factory=dict)
    log: list = dataclasses.field(default_factory=list)

    @property
    def device(self) -> torch.device:
        return self.latent_mean.device

    @torch.no_grad()
    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """Pixel clips ``(B, F, 3, H, W)`` in [-1, 1] → normalised latents ``(B, F, L, C)``."""
        z = self.tokenizer.encode_video(frames.to(self.device).float())
        return (z - self.latent_mean) / self.latent_std

    @torch.no_grad()
    def decode_video(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents ``(B, F, L, C)`` → pixel clips ``(B, F, 3, H, W)``, clamped to [-1, 1]."""
        z = latents.to(self.device).float() * self.latent_std + self.latent_mean
        return self.tokenizer.decode_video(z).clamp(-1, 1)

    def encode_uint8(self, videos) -> torch.Tensor:
        """uint8 videos ``(M, N, H, W, 3)`` → normalised latents ``(M, N, L, C)``."""
        return self.encode_video(to_float(np.ascontiguousarray(videos)))

    def decode_uint8(self, latents: torch.Tensor) -> np.ndarray:
        """Normalised latents ``(M, N, L, C)`` → uint8 videos ``(M, N, H, W, 3)``."""
        return np.asarray(to_uint8(self.decode_video(latents)))


def load_pipeline(path=DEFAULT_CHECKPOINT, device="cpu") -> Pipeline:
    """Load an exported checkpoint (``data/checkpoints/*.pt``) or a run's ``dit.pt`` (its sibling ``tokenizer.pt``
    gives the tokenizer) into a :class:`Pipeline` with the EMA weights, in eval mode on ``device``."""
    path = Path(path)
    ck = ckpt.load_file(path)
    if ck["format"] == ckpt.EXPORT_FORMAT:
        tok_sd, dit_sd, meta, log = ck["tokenizer"], ck["dit"], ck.get("meta", {}), ck.get("log", [])
    elif ck.get("stage") == "dit":
        tok_sd = ckpt.load_file(path.parent / "tokenizer.pt")["ema"]
        dit_sd, meta = ck["ema"], {"steps": ck["step"]}
        log = ckpt.read_log(path.with_suffix(".jsonl")) if path.with_suffix(".jsonl").exists() else []
    else:
        raise ValueError(f"{str(path)!r} is a tokenizer run checkpoint; sampling needs an exported checkpoint or a "
                         f"run's dit.pt")
    cfg = TrainConfig.from_dict(ck["config"])
    tok = build_tokenizer(cfg)
    tok.load_state_dict({k: v.float() for k, v in tok_sd.items()})
    model = build_dit(cfg, tok.num_tokens)
    model.load_state_dict({k: v.float() for k, v in dit_sd.items()})
    return Pipeline(tok.eval().to(device), model.eval().to(device), NoiseSchedule(cfg.num_timesteps), cfg,
                    ck["latent_mean"].float().to(device), ck["latent_std"].float().to(device),
                    ck.get("class_names"), meta, log)


def _thin(records: list[dict], n: int = 400) -> list[dict]:
    if len(records) <= n:
        return records
    keep = sorted({round(i * (len(records) - 1) / (n - 1)) for i in range(n)})
    return [records[i] for i in keep]


def export(run, to) -> Path:
    """Write the small file for sampling from run directory ``run`` (:func:`export_checkpoint`) to ``to``."""
    return atomic_torch_save(export_checkpoint(run), Path(to))


def export_checkpoint(run) -> dict:
    """The small file for sampling from run directory ``run``, as a dict: EMA weights in fp16 (DiT and tokenizer),
    config, latent statistics, a thinned training log and the commands, seed and steps that made it (for a fine-tune,
    ``train --init-from``, also the steps and commands of the checkpoint it started from: ``meta["init_from"]``)."""
    run = Path(run)
    dit, tok = ckpt.load_file(ckpt.checkpoint_path(run, "dit")), ckpt.load_file(ckpt.checkpoint_path(run, "tokenizer"))
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
    log_file = ckpt.log_path(run, "dit")
    log = [{k: v for k, v in r.items() if k != "elapsed_s"}
           for r in (ckpt.read_log(log_file) if log_file.exists() else []) if r["step"] <= dit["step"]]
    tail = [r["loss"] for r in log[-10:]]
    commands = (run / "commands.txt").read_text().splitlines() if (run / "commands.txt").exists() else []
    meta = {"steps": dit["step"], "tokenizer_steps": tok["step"], "seed": dit["config"]["seed"],
            "final_loss": round(sum(tail) / len(tail), 4) if tail else None, "commands": commands,
            "precision": dit["config"].get("precision"), "world_size": dit.get("world_size", 1),
            "exported_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
    if dit.get("init_meta") is not None:            # a fine-tune (train --init-from): what it started from
        base = dit["init_meta"]
        meta["init_from"] = {"file": dit["config"]["init_from"], "steps": base["steps"],
                             "commands": base["commands"], "exported_utc": base.get("exported_utc")}
    return {"format": ckpt.EXPORT_FORMAT, "config": dit["config"], "tokenizer": half(tok["ema"]),
            "dit": half(dit["ema"]), "latent_mean": dit["latent_mean"], "latent_std": dit["latent_std"],
            "class_names": dit.get("class_names"), "meta": meta, "log": _thin(log)}


def real_clips(pipeline: Pipeline, num_videos: int, num_frames: int, seed: int = 0):
    """Held-out clips of the pipeline's own dataset (seed ``10 000 + seed``, never the training seed):
    ``(uint8 (M, N, H, W, 3), labels or None)``."""
    clips, labels, _ = load_clips(pipeline.config, num_videos, HELD_OUT_SEED + seed, num_frames=num_frames)
    return clips.numpy(), labels


def generate(pipeline: Pipeline, num_videos: int = 4, num_frames: int = 16, s: int = 5, num_steps: int = 50,
             window: int | None = None, seed: int = 0, prefix_frames=None, labels=None, cfg_scale: float = 1.0,
             overflow: str = "raise", keep: str = "exact", context_noise: int = 0, kv_cache: bool | None = None,
             batch_size: int | None = None, progress: bool = False, return_latents: bool = False, callback=None,
             autoguide: Pipeline | None = None, autoguide_scale: float = 1.0, first_frame: Pipeline | None = None,
             history_guidance: float = 1.0, history_guidance_max_t: int | None = None, temperature: float = 1.0,
             eta: float = 0.0):
    """Generate ``num_videos`` videos with AR-Diffusion's AD schedule and decode them: uint8 ``(M, N, H, W, 3)``.

    Args:
        num_frames: ``N``; longer than the training length slides a window of ``window`` frames (default: the
            training clip length).
        s, num_steps: the AR step and ``S`` DDIM steps.
        seed: the starting noise ``(M, N, L, C)`` (then the context noise and the steps' fresh noise) come from
            ``torch.Generator().manual_seed(seed)``, so a video does not depend on ``batch_size``.
        prefix_frames: video prediction: ``None``; an int ``K`` (the first ``K`` frames of held-out clips of the
            pipeline's dataset, :func:`real_clips` with ``seed``); or uint8 videos ``(M, K, H, W, 3)``.
        labels, cfg_scale: class labels ``(M,)`` (or one int) and the guidance scale.
        overflow, keep, context_noise, kv_cache: see :func:`ardiff_edu.ad.ad_schedule` and
            :func:`ardiff_edu.ddim.sample`.
        return_latents: also return the latents ``(M, N, L, C)``.
        autoguide, autoguide_scale: autoguidance of the first frame by a weaker pipeline of the same latents (the
            same tokenizer and normalisation) with weight ``w`` (:func:`ardiff_edu.ddim.sample`).
        first_frame: a pipeline of a model of one frame of the same latents that draws every video's frame 0 in
            place of the video model (and that ``autoguide`` guides; :func:`ardiff_edu.ddim.sample`).
        history_guidance: ``w`` of history guidance, every frame guided by the frames before it
            (:func:`ardiff_edu.ddim.sample`); ``1`` = none.
        history_guidance_max_t: guide only the frames labelled ``t < t_max`` (``None``: every noise level).
        temperature: ``τ``: the starting noise of every frame after the first scaled by ``τ``
            (:func:`ardiff_edu.ddim.sample`); ``1`` = none.
        eta: DDIM's ``η`` in ``[0, 1]``, fresh noise in every step (:func:`ardiff_edu.ddim.sample`); ``0`` = none.
    """
    M = check_int("num_videos", num_videos, 1)
    N = check_int("num_frames", num_frames, 1)
    S = check_int("num_steps", num_steps, 1)
    overflow = check_choice("overflow", overflow, OVERFLOW_MODES)
    window = pipeline.config.num_frames if window is None else check_int("window", window, 1)
    prefix_videos = None
    if prefix_frames is not None:
        if isinstance(prefix_frames, (int, np.integer)) and not isinstance(prefix_frames, bool):
            K = check_int("prefix_frames", prefix_frames, 1, N - 1)
            prefix_videos = real_clips(pipeline, M, N, seed)[0][:, :K]
        else:
            prefix_videos = np.asarray(prefix_frames)
            if prefix_videos.ndim == 4:                                  # the same given frames for every video
                prefix_videos = np.broadcast_to(prefix_videos, (M, *prefix_videos.shape))
            if prefix_videos.dtype != np.uint8 or prefix_videos.ndim != 5 or prefix_videos.shape[0] != M:
                raise ValueError(f"prefix_frames must be None, an int or uint8 videos (M={M}, K, H, W, 3), got "
                                 f"{prefix_videos.dtype} {prefix_videos.shape}")
            check_int("prefix_frames (K)", prefix_videos.shape[1], 1, N - 1)
    K = 0 if prefix_videos is None else prefix_videos.shape[1]
    for name, other in (("autoguide", autoguide), ("first_frame", first_frame)):
        if other is not None:
            check_same_latents(pipeline, other, name)
    schedule = ad_schedule(N, S, check_int("s", s, 0, S), window, pipeline.noise_schedule.T, overflow, K)
    model = pipeline.model
    generator = torch.Generator().manual_seed(int(seed))
    noise = torch.randn((M, N, model.num_tokens, model.token_dim), generator=generator)
    ctx_eps = torch.randn(noise.shape, generator=generator) if context_noise else None
    step_eps = torch.randn((M, N, S, *noise.shape[2:]), generator=generator) if check_eta(eta) else None
    prefix = None if K == 0 else pipeline.encode_uint8(prefix_videos).to(noise.dtype)
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        labels = labels.expand(M) if labels.numel() == 1 else labels
    bs = M if batch_size is None else check_int("batch_size", batch_size, 1)
    chunks = []
    for start in range(0, M, bs):
        sl = slice(start, min(start + bs, M))
        chunks.append(sample(model, schedule, noise[sl], pipeline.noise_schedule,
                             labels=None if labels is None else labels[sl], cfg_scale=cfg_scale,
                             prefix=None if prefix is None else prefix[sl], keep=keep, context_noise=context_noise,
                             context_eps=None if ctx_eps is None else ctx_eps[sl],
                             kv_cache=kv_cache, progress=progress, callback=callback,
                             autoguide=None if autoguide is None else autoguide.model,
                             autoguide_scale=autoguide_scale,
                             first_frame=None if first_frame is None else first_frame.model,
                             history_guidance=history_guidance,
                             history_guidance_max_t=history_guidance_max_t, temperature=temperature, eta=eta,
                             step_eps=None if step_eps is None else step_eps[sl]))
    latents = torch.cat(chunks)
    videos = pipeline.decode_uint8(latents)
    return (videos, latents) if return_latents else videos


def check_same_latents(pipeline: Pipeline, other: Pipeline, name: str = "autoguide") -> None:
    """Raise ``ValueError`` unless ``other`` diffuses the same latents as ``pipeline``: the same encoder weights (the
    decoders may differ: only ``pipeline``'s turns latents into frames), token shape and noise schedule, and a latent
    normalisation within 1 % of a standard deviation (a fine-tune re-measures it on its own encoding, which the fp16
    tokenizer of an export moves by about 0.1 %); what mixing two models' predictions needs. ``name``: the argument
    that ``other`` came as, for the message."""
    if not isinstance(other, Pipeline):
        raise ValueError(f"{name} must be a Pipeline (load_pipeline(path)), got {type(other).__name__}")
    mine, theirs = pipeline.tokenizer.encoder_state_dict(), other.tokenizer.encoder_state_dict()
    a, b = pipeline.noise_schedule, other.noise_schedule
    checks = {"token shape": (pipeline.model.num_tokens, pipeline.model.token_dim) == (other.model.num_tokens,
                                                                                      other.model.token_dim),
              "noise schedule": a.T == b.T and torch.equal(a.alphas_cumprod, b.alphas_cumprod),
              "encoder weights": mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine),
              "latent normalisation": pipeline.latent_mean.shape == other.latent_mean.shape
              and bool(((pipeline.latent_mean - other.latent_mean).abs() <= 0.01 * pipeline.latent_std).all()
                       and ((pipeline.latent_std - other.latent_std).abs() <= 0.01 * pipeline.latent_std).all())}
    differ = [what for what, same in checks.items() if not same]
    if differ:
        raise ValueError(f"{name} must diffuse the same latents as the model; these differ: {', '.join(differ)}")


def add_guidance_arguments(parser, scope: str = "") -> None:
    """Declare the sampler options beyond the paper of the ``sample`` and ``evaluate`` commands once:
    ``--autoguide PATH``, ``--autoguide-scale W`` (both read back by :func:`load_autoguide`), ``--first-frame PATH``
    (by :func:`load_first_frame`), ``--history-guidance W``,
    ``--history-guidance-max-t T_MAX``, ``--temperature TAU`` and ``--eta ETA``; ``scope`` starts the autoguidance
    help (the tasks it applies to)."""
    parser.add_argument("--autoguide", type=Path, default=None,
                        help=f"{scope}guide every video's first frame away from this weaker checkpoint of the same "
                             f"latents (autoguidance, not in the paper; e.g. data/checkpoints/ablation/fopp.pt)")
    parser.add_argument("--autoguide-scale", type=float, default=None,
                        help=f"the autoguidance weight w (with --autoguide; default {AUTOGUIDE_SCALE:g}, the measured "
                             f"choice)")
    parser.add_argument("--first-frame", type=Path, default=None,
                        help=f"{scope}draw every video's first frame with this model of one frame of the same latents "
                             f"(guided by --autoguide when given; not in the paper; data/samples/one_frame_model.py)")
    parser.add_argument("--history-guidance", type=float, default=1.0,
                        help="history guidance: every frame guided by the frames before it with this weight w (1 = "
                             "none; not in the paper; the measured choices: data/samples/history_guidance_interval16.md"
                             " for 16 frames, history_guidance_interval.md for 64)")
    parser.add_argument("--history-guidance-max-t", type=int, default=None,
                        help="guide only the frames whose timestep t is below this (an interval of noise levels, in "
                             "[1, T]; default: every level; data/samples/history_guidance_interval*.md)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help=f"scale the starting noise of every frame after the first by this, in (0, "
                             f"{MAX_TEMPERATURE:g}] (1 = none; not in the paper; the measured choices: "
                             f"data/samples/temperature*.md)")
    parser.add_argument("--eta", type=float, default=0.0,
                        help="DDIM's eta in [0, 1]: fresh noise in every step (0 = deterministic, as the paper's "
                             "code; 1 = the DDPM variance)")


def load_autoguide(path, scale: float | None) -> tuple[Pipeline | None, float]:
    """The command lines' ``--autoguide PATH --autoguide-scale W``: the weaker pipeline (``None`` without a path) and
    the weight to sample with (1 = none without a path; :data:`AUTOGUIDE_SCALE` when a path comes without a weight)."""
    if path is None:
        if scale is not None:
            raise ValueError(f"--autoguide-scale={scale} needs --autoguide (a weaker checkpoint)")
        return None, 1.0
    return load_pipeline(path), AUTOGUIDE_SCALE if scale is None else scale


def load_first_frame(path) -> Pipeline | None:
    """The command lines' ``--first-frame PATH``: a pipeline of a model of one frame (``None`` without a path)."""
    if path is None:
        return None
    pipe = load_pipeline(path)
    if pipe.config.num_frames != 1:
        raise ValueError(f"--first-frame={path} is a model of {pipe.config.num_frames} frames, not of one frame")
    return pipe


def choose_threads(pipeline: Pipeline, num_videos: int, window: int | None = None) -> int:
    """Set torch's thread count to the faster of 1 thread and torch's default for this sampling job, measured on a
    few network calls of its shape (on a loaded machine one thread can be much faster); returns the count."""
    default = torch.get_num_threads()
    if default == 1:
        return 1
    model = pipeline.model
    F = min(window or pipeline.config.num_frames, model.max_frames)
    x = torch.randn(num_videos, F, model.num_tokens, model.token_dim, generator=torch.Generator().manual_seed(0))
    t = torch.full((num_videos, F), pipeline.noise_schedule.T - 1, dtype=torch.long)

    def call(threads: int):
        def run():
            torch.set_num_threads(threads)
            with torch.no_grad():
                model(x, t)
        return run

    best = int(fastest({"1": call(1), str(default): call(default)}))
    torch.set_num_threads(best)
    return best
