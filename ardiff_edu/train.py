"""Training AR-Diffusion (notebook 07): the frame tokenizer first, then the DiT on frozen latents.

One DiT training step, as the official code takes it (``p_losses`` in ``src/ardiff/modules/diffusion.py`` and
``py_scripts/diff_train.py`` of iva-mzsun/AR-Diffusion, commit 7a37b94):

1. a batch of clean latent clips ``z0 (B, F, L, C)``;
2. per-frame timesteps ``t (B, F)`` from FoPP (:mod:`ardiff_edu.fopp`), non-decreasing along the frames;
3. per-frame noising ``z_t = √ᾱ_t · z0 + √(1 − ᾱ_t) · ε`` (:mod:`ardiff_edu.noise`);
4. the DiT's prediction of ``z0`` and the squared error averaged over tokens and channels: a **per-frame loss**
   ``(B, F)``, then its mean;
5. backward, gradient clipping, AdamW, and an EMA of the weights (sampling uses the EMA).

The clips are encoded once with the frozen tokenizer (its EMA weights) and every channel is standardised with the
mean and std of all training latents, ``z = (tokens − mean) / std``, so that each has unit variance like the noise.
Every random draw comes from three explicit generators (:mod:`ardiff_edu.checkpoint`), so a run can be stopped,
resumed, or spread over several processes (:mod:`ardiff_edu.distributed`) and still take the same steps.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu import distributed as dist
from ardiff_edu.fopp import KINDS as TIMESTEP_KINDS
from ardiff_edu.fopp import sample_timesteps
from ardiff_edu.models import MASKS, DiT, FrameTokenizer
from ardiff_edu.noise import PREDICTIONS, NoiseSchedule
from ardiff_edu.utils import atomic_torch_save, check_choice, check_float, check_int

__all__ = ["STAGES", "DATASETS", "PRECISIONS", "LR_SCHEDULES", "TrainConfig", "PRESETS", "build_tokenizer",
           "build_dit", "load_clips", "tokenizer_loss", "dit_loss", "learning_rate", "ema_update", "drop_labels",
           "train"]

STAGES = ("tokenizer", "dit")
#: dataset name -> the generator in :mod:`ardiff_edu.data`.
DATASETS = {"balls": "bouncing_balls", "digits": "moving_digits", "sky": "sky_timelapse", "taichi": "taichi",
            "faces": "faces", "ucf": "ucf_actions"}
PRECISIONS = ("fp32", "bf16", "auto")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run (both stages). :data:`PRESETS` holds the named ones."""
    name: str = "balls"
    dataset: str = "balls"
    num_clips: int = 10000
    num_frames: int = 16               # F, also the DiT's window
    image_size: int = 32
    data_seed: int = 0
    # stage 1: the frame tokenizer
    token_dim: int = 8                 # C channels per token
    tok_width: int = 32
    l2_normalize: bool = False
    tok_steps: int = 1200
    tok_batch_size: int = 128          # frames
    tok_lr: float = 1e-3
    tok_lr_schedule: str = "constant"
    tok_fg_weight: float = 5.0         # MSE weight on non-black pixels (balls cover ~5 % of a frame)
    tok_ema_decay: float = 0.995
    # stage 2: the DiT
    width: int = 128
    depth: int = 4
    heads: int = 4
    mask: str = "causal"
    num_context_tokens: int = 0
    official_residual: bool = False
    prediction: str = "x0"
    num_classes: int | None = None     # set from the data for class-conditional datasets
    label_dropout: float = 0.0         # P(label -> null), for classifier-free guidance
    num_timesteps: int = 1000          # T
    timesteps: str = "fopp"            # the training timestep sampler
    steps: int = 20000
    batch_size: int = 32               # clips in the global batch (over every process)
    grad_accum: int = 1                # micro-batches per process and step
    lr: float = 4e-4
    lr_schedule: str = "constant"
    warmup: int = 0                    # linear warm-up steps of the DiT's learning rate
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    # bookkeeping
    seed: int = 0
    ckpt_every: int = 200
    log_every: int = 10
    device: str = "cpu"
    precision: str = "fp32"            # "auto": the faster of fp32 and bf16 autocast, measured when the run starts
    compile: bool = False

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        for name, low in [("num_clips", 1), ("num_frames", 1), ("image_size", 4), ("data_seed", 0), ("token_dim", 1),
                          ("tok_width", 1), ("tok_steps", 0), ("tok_batch_size", 1), ("width", 4), ("depth", 1),
                          ("heads", 1), ("num_context_tokens", 0), ("num_timesteps", 2), ("steps", 0),
                          ("batch_size", 1), ("grad_accum", 1), ("warmup", 0), ("seed", 0), ("ckpt_every", 1),
                          ("log_every", 1)]:
            check_int(name, getattr(self, name), low)
        if self.num_classes is not None:
            check_int("num_classes", self.num_classes, 1)
        check_choice("mask", self.mask, MASKS)
        if self.mask == "leaky" and self.num_context_tokens == 0 and self.num_classes is None:
            raise ValueError("mask='leaky' needs num_context_tokens >= 1: without context tokens nothing can leak "
                             "and it is exactly mask='causal' (the official final configs use both)")
        check_choice("prediction", self.prediction, PREDICTIONS)
        check_choice("timesteps", self.timesteps, TIMESTEP_KINDS)
        check_choice("device", self.device, ("cpu", "cuda"))
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice("tok_lr_schedule", self.tok_lr_schedule, LR_SCHEDULES)
        for name in ("tok_lr", "lr", "grad_clip"):
            check_float(name, getattr(self, name), 0, low_open=True)
        for name in ("tok_ema_decay", "ema_decay", "label_dropout", "weight_decay"):
            check_float(name, getattr(self, name), 0, 1, high_open=True)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


_SMALL = dict(num_clips=64, num_frames=8, token_dim=4, tok_width=8, tok_steps=20, tok_batch_size=16, width=32,
              depth=1, heads=2, steps=40, batch_size=4, ckpt_every=10, log_every=1)
#: The named configurations. ``balls`` is the default and the shipped checkpoint; ``balls-smoke`` runs in seconds
#: (tests, notebooks); ``ablation`` is the paper's training-sampler ablation (notebook 09). The stand-ins for the
#: paper's datasets keep the toy model size and take the official LR and gradient clip of their dataset.
_BALLS = TrainConfig(tok_steps=4000, tok_lr_schedule="cosine", heads=2, precision="auto", steps=30000,
                     lr_schedule="cosine", warmup=500)
PRESETS: dict[str, TrainConfig] = {
    "balls": _BALLS,
    "balls-smoke": TrainConfig(name="balls-smoke", **_SMALL),
    # the paper's training-sampler ablation at small scale: the default model, shorter, constant LR (as the
    # official code), one run per --timesteps with the same seed, data and tokenizer
    "ablation": replace(_BALLS, name="ablation", steps=6000, lr_schedule="constant", warmup=0),
    "digits": TrainConfig(name="digits", dataset="digits"),
    "sky": TrainConfig(name="sky", dataset="sky", num_clips=4000, lr=2e-4),
    "taichi": TrainConfig(name="taichi", dataset="taichi", num_clips=4000, lr=2e-4),
    "faces": TrainConfig(name="faces", dataset="faces", num_clips=4000, lr=1e-4, grad_clip=0.1),
    # labels are dropped to the null label with probability 0.2, which is what the official UCF config meant: it
    # wrote `randn < 0.2`, true for about 58 % of the draws
    "ucf": TrainConfig(name="ucf", dataset="ucf", num_clips=4000, lr=1e-4, grad_clip=0.1, label_dropout=0.2),
}


# ----------------------------------------------------------------------------------------------------------------
# models and data
# ----------------------------------------------------------------------------------------------------------------
def build_tokenizer(cfg: TrainConfig) -> FrameTokenizer:
    return FrameTokenizer(image_size=cfg.image_size, token_dim=cfg.token_dim, width=cfg.tok_width,
                          l2_normalize=cfg.l2_normalize)


def build_dit(cfg: TrainConfig, num_tokens: int) -> DiT:
    return DiT(cfg.token_dim, num_tokens, max_frames=cfg.num_frames, width=cfg.width, depth=cfg.depth,
               heads=cfg.heads, mask=cfg.mask, prediction=cfg.prediction, num_classes=cfg.num_classes,
               num_context_tokens=cfg.num_context_tokens, official_residual=cfg.official_residual)


def load_clips(cfg: TrainConfig, num_clips: int | None = None, seed: int | None = None, num_frames=None):
    """``(uint8 clips (N, F, H, W, 3), labels (N,) int64 or None, class names or None)`` of ``cfg.dataset``
    (``num_clips``, ``seed`` and ``num_frames`` default to the config's training data)."""
    from ardiff_edu import data

    out = getattr(data, DATASETS[cfg.dataset])(cfg.num_clips if num_clips is None else num_clips,
                                               num_frames=cfg.num_frames if num_frames is None else num_frames,
                                               size=cfg.image_size, seed=cfg.data_seed if seed is None else seed)
    if isinstance(out, tuple):
        clips, labels, names = out
        return torch.as_tensor(clips), torch.as_tensor(labels, dtype=torch.long), list(names)
    return torch.as_tensor(out), None, None


def drop_labels(labels: torch.Tensor, p: float, null_label: int, generator: torch.Generator) -> torch.Tensor:
    """Replace each label by ``null_label`` with probability ``p`` (a uniform draw ``u < p``)."""
    drop = (torch.rand(labels.shape, generator=generator) < p).to(labels.device)
    return torch.where(drop, torch.full_like(labels, null_label), labels)


# ----------------------------------------------------------------------------------------------------------------
# the losses and the update
# ----------------------------------------------------------------------------------------------------------------
def tokenizer_loss(model: FrameTokenizer, frames: torch.Tensor, fg_weight: float) -> tuple[torch.Tensor, float]:
    """Reconstruction MSE, weighted ``fg_weight``× on non-black pixels; returns ``(loss, plain MSE)``."""
    recon = model(frames).float()
    w = 1 + (fg_weight - 1) * (frames > -0.95).any(dim=1, keepdim=True).float()
    se = (recon - frames) ** 2
    return (w * se).mean(), se.mean().item()


def dit_loss(model, z0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: NoiseSchedule,
             labels: torch.Tensor | None = None, prediction: str = "x0") -> torch.Tensor:
    """The per-frame loss ``(B, F)``: noise every frame to its own ``t``, predict, squared error per frame."""
    zt = schedule.q_sample(z0, t, noise=noise)          # $z_t = \sqrt{\bar\alpha_t}\,z_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$
    pred = model(zt, t.to(z0.device), labels)
    target = schedule.target(prediction, z0, noise, t)
    return ((pred.float() - target) ** 2).mean(dim=(2, 3))   # $\ell_f = \frac{1}{LC}\sum_{l,c} (\hat z - z)^2$


def learning_rate(base: float, step: int, total: int, schedule: str = "constant", warmup: int = 0) -> float:
    """The learning rate of update ``step`` (0-based): linear warm-up, then constant or a cosine decay to 0."""
    lr = base * min(1.0, (step + 1) / warmup) if warmup else base
    if schedule == "cosine" and total > warmup:
        progress = max(0.0, (step - warmup) / (total - warmup))
        lr *= 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return lr


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, step: int, decay: float) -> None:
    """EMA with the diffusers warm-up: ``ema ← d·ema + (1 − d)·model``, ``d = min((1 + n) / (10 + n), decay)``."""
    d = min((1 + step) / (10 + step), decay)
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm, 1 - d)


# ----------------------------------------------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------------------------------------------
def encode_latents(cfg: TrainConfig, out, clips: torch.Tensor, device) -> dict:
    """Encode every training clip once with the frozen tokenizer (EMA weights) and standardise every channel;
    cached in ``out/latents.pt``. Returns ``{"latents", "mean", "std", "key"}``."""
    from ardiff_edu.video import to_float

    tok_ck = ckpt.load_file(ckpt.checkpoint_path(out, "tokenizer"))
    cache = Path(out) / "latents.pt"
    key = {"tokenizer_step": tok_ck["step"], "num_clips": cfg.num_clips, "data_seed": cfg.data_seed,
           "num_frames": cfg.num_frames, "dataset": cfg.dataset}
    if cache.exists():
        c = torch.load(cache, map_location="cpu", weights_only=False)
        if c["key"] == key:
            return c
    with torch.random.fork_rng(devices=[]):     # building it must not consume the random numbers of the DiT's init
        tok = build_tokenizer(TrainConfig.from_dict(tok_ck["config"]))
    tok.load_state_dict(tok_ck["ema"])
    tok.eval().to(device)
    with torch.no_grad():
        z = torch.cat([tok.encode_video(to_float(clips[i:i + 128]).to(device)).float().cpu()
                       for i in range(0, len(clips), 128)])                       # (N, F, L, C)
    mean, std = z.mean(dim=(0, 1, 2)), z.std(dim=(0, 1, 2))
    c = {"key": key, "latents": (z - mean) / std, "mean": mean, "std": std}
    if dist.world()[0] == 0:
        atomic_torch_save(c, cache)
    return c


def choose_precision(step_fn, device: torch.device) -> str:
    """Time ``step_fn(bf16)`` with and without bf16 autocast (interleaved, median of 3) and return the faster."""
    times = {"fp32": [], "bf16": []}
    for name in times:
        step_fn(name == "bf16")                                   # warm-up
    for _ in range(3):
        for name in times:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            step_fn(name == "bf16")
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return min(times, key=lambda n: sorted(times[n])[1])


#: What a resumed run may not change: the shapes of its state, its data and its seed.
FIXED_ON_RESUME = ("dataset", "num_clips", "num_frames", "image_size", "data_seed", "token_dim", "tok_width",
                   "l2_normalize", "width", "depth", "heads", "mask", "num_context_tokens", "official_residual",
                   "prediction", "num_timesteps", "seed")


def resumed_config(saved: TrainConfig, given: TrainConfig) -> TrainConfig:
    """The config a resumed run continues with: ``given`` (more steps, another learning rate, another device...),
    which must agree with ``saved`` on :data:`FIXED_ON_RESUME`; ``precision="auto"`` keeps the saved choice."""
    for name in FIXED_ON_RESUME:
        if getattr(saved, name) != getattr(given, name):
            raise ValueError(f"cannot resume with {name}={getattr(given, name)!r}: the run was started with "
                             f"{name}={getattr(saved, name)!r}, and it fixes the run's state")
    given = replace(given, num_classes=saved.num_classes)
    return replace(given, precision=saved.precision) if given.precision == "auto" else given


def _check_device(cfg: TrainConfig) -> torch.device:
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested, but this machine has no CUDA device (torch.cuda.is_available()"
                         " is False); use device='cpu'")
    return torch.device(cfg.device)


def train(config: TrainConfig | str = "balls", out="runs/balls", stage: str = "dit", resume: bool = False,
          progress: bool = True) -> dict:
    """Train one stage up to ``config.steps`` (DiT) or ``config.tok_steps`` (tokenizer); callable from a notebook.

    ``resume=True`` continues from ``out/<stage>.pt`` if it exists (its config wins, except the number of steps,
    ``ckpt_every``, ``log_every``, ``device`` and ``compile``, which come from ``config``). Under ``torchrun`` every
    process runs this function; see :mod:`ardiff_edu.distributed`. Returns ``{"step", "loss", "model", "ema",
    "log", "precision"}``. A non-finite loss or gradient stops every process with ``FloatingPointError``; the last
    checkpoint on disk is then the last good state.
    """
    cfg = PRESETS.get(config) if isinstance(config, str) else config
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"config must be a TrainConfig or one of {sorted(PRESETS)}, got {config!r}")
    stage = check_choice("stage", stage, STAGES)
    out = Path(out)
    path, log = ckpt.checkpoint_path(out, stage), ckpt.log_path(out, stage)
    saved = None
    if path.exists():
        if not resume:
            raise ValueError(f"{path} exists: pass resume=True (--resume) to continue it, or use another out")
        saved = ckpt.load_file(path)
        cfg = resumed_config(TrainConfig.from_dict(saved["config"]), cfg)
    device = _check_device(cfg)
    rank, world_size = dist.setup(device)
    out.mkdir(parents=True, exist_ok=True)
    clips, labels, class_names = load_clips(cfg)
    torch.manual_seed(cfg.seed)
    gens = ckpt.make_generators(cfg.seed + (0 if stage == "tokenizer" else 1))
    extra: dict = {}
    if stage == "tokenizer":
        model = build_tokenizer(cfg)
        total, base_lr, decay, wd, sched_kind = cfg.tok_steps, cfg.tok_lr, cfg.tok_ema_decay, 0.0, cfg.tok_lr_schedule
        B, warmup = cfg.tok_batch_size, 0
    else:
        if not ckpt.checkpoint_path(out, "tokenizer").exists():
            raise ValueError(f"the DiT stage needs a trained tokenizer: run --stage tokenizer --out {out} first")
        if labels is not None and cfg.num_classes is None:
            cfg = replace(cfg, num_classes=len(class_names))
        pool = encode_latents(cfg, out, clips, device)
        latents = pool["latents"].to(device)
        extra = {"latent_mean": pool["mean"], "latent_std": pool["std"], "class_names": class_names}
        model = build_dit(cfg, latents.shape[2])
        total, base_lr, decay, wd, sched_kind = cfg.steps, cfg.lr, cfg.ema_decay, cfg.weight_decay, cfg.lr_schedule
        B, warmup = cfg.batch_size, cfg.warmup
        noise_schedule = NoiseSchedule(cfg.num_timesteps)
        labels = None if labels is None else labels.to(device)
    rows = dist.rank_slice(B, rank, world_size)
    if (rows.stop - rows.start) % cfg.grad_accum:
        raise ValueError(f"grad_accum={cfg.grad_accum} must divide the per-process batch "
                         f"{rows.stop - rows.start} (= batch size {B} / {world_size} processes)")
    micro = (rows.stop - rows.start) // cfg.grad_accum
    model.to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=base_lr, weight_decay=wd)
    step, clock0 = 0, 0.0
    if saved is not None:
        ckpt.load_state(path, model, ema, opt, gens)
        step = saved["step"]
        clock0 = ckpt.truncate_log(log, step) if rank == 0 else 0.0
    elif rank == 0 and log.exists():
        log.unlink()
    net = torch.compile(model) if cfg.compile else model
    if world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(net)

    from ardiff_edu.video import to_float

    def draw():
        """The global batch of this step, identical on every process (all randomness from the generators)."""
        if stage == "tokenizer":
            ci = torch.randint(len(clips), (B,), generator=gens["data"])
            fi = torch.randint(clips.shape[1], (B,), generator=gens["data"])
            return (to_float(clips[ci, fi]).to(device),)
        idx = torch.randint(len(latents), (B,), generator=gens["data"]).to(device)
        y = None if labels is None else drop_labels(labels[idx], cfg.label_dropout, cfg.num_classes, gens["data"])
        t = sample_timesteps(cfg.timesteps, B, cfg.num_frames, cfg.num_timesteps, generator=gens["time"])
        noise = torch.randn(latents[idx].shape, generator=gens["noise"]).to(device)
        return latents[idx], t, noise, y

    def loss_of(module, batch, sl, bf16):
        """``(loss, what to log)`` of the rows ``sl`` of a batch: the mean loss, and the plain MSE (tokenizer) or
        the per-frame loss summed over the rows (DiT)."""
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if stage == "tokenizer":
                loss, mse = tokenizer_loss(module, batch[0][sl], cfg.tok_fg_weight)
                return loss, torch.tensor([mse * (sl.stop - sl.start)])
            z0, t, noise, y = batch
            per_frame = dit_loss(module, z0[sl], t[sl], noise[sl], noise_schedule, None if y is None else y[sl],
                                 cfg.prediction)
            return per_frame.mean(), per_frame.detach().sum(0).cpu()

    if cfg.precision == "auto":
        cfg = replace(cfg, precision=_measure_precision(model, draw, loss_of, gens, micro, base_lr, device))
    bf16 = cfg.precision == "bf16"

    def save():
        if rank == 0:
            ckpt.save_state(path, stage=stage, config=asdict(cfg), step=step, model=model, ema=ema, optimizer=opt,
                            generators=gens, world_size=world_size, **extra)

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=step, desc=f"{cfg.name}/{stage}", disable=not progress or rank > 0,
               dynamic_ncols=True)
    acc_loss, acc_n, acc_info, last_loss, t0 = 0.0, 0, None, float("nan"), time.perf_counter()
    model.train()
    try:
        while step < total:
            batch = draw()
            lr = learning_rate(base_lr, step, total, sched_kind, warmup)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            step_loss, step_info = 0.0, 0.0
            for m in range(cfg.grad_accum):
                sl = slice(rows.start + m * micro, rows.start + (m + 1) * micro)
                sync = m == cfg.grad_accum - 1 or world_size == 1
                with contextlib.nullcontext() if sync else net.no_sync():
                    loss, info = loss_of(net, batch, sl, bf16)
                    bad = dist.any_rank(not bool(torch.isfinite(loss)), device)
                    if bad >= 0:
                        raise FloatingPointError(_nan_message("loss", bad, step, path))
                    (loss / cfg.grad_accum).backward()
                step_loss += loss.item() / cfg.grad_accum
                step_info = step_info + info
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            if not torch.isfinite(gnorm):
                raise FloatingPointError(_nan_message("gradient norm", rank, step, path))
            opt.step()
            ema_update(ema, model, step, decay)
            step += 1
            summed = dist.all_reduce_sum(torch.cat([torch.tensor([step_loss]), step_info]))
            last_loss = float(summed[0]) / world_size
            acc_loss, acc_n = acc_loss + last_loss, acc_n + 1
            acc_info = summed[1:] / B if acc_info is None else acc_info + summed[1:] / B
            bar.update(1)
            if rank == 0 and (step % cfg.log_every == 0 or step == total):
                rec = {"step": step, "loss": round(acc_loss / acc_n, 6), "lr": lr, "grad_norm": round(gnorm.item(), 4),
                       "elapsed_s": round(clock0 + time.perf_counter() - t0, 2)}
                values = [round(v, 6) for v in (acc_info / acc_n).tolist()]
                rec.update({"mse": values[0]} if stage == "tokenizer" else {"per_frame": values})
                ckpt.append_log(log, rec)
                bar.set_postfix(loss=f"{rec['loss']:.4f}")
            if step % cfg.log_every == 0:
                acc_loss, acc_n, acc_info = 0.0, 0, None
            if step % cfg.ckpt_every == 0 or step == total:
                save()
    except KeyboardInterrupt:
        save()                                   # a notebook's stop button keeps the progress
        raise
    finally:
        bar.close()
    if saved is None and total == 0:
        save()
    return {"step": step, "loss": last_loss, "model": model, "ema": ema, "log": log, "precision": cfg.precision}


def _measure_precision(model, draw, loss_of, gens, micro, lr, device) -> str:
    """Resolve ``precision="auto"``: time training steps of a copy of the model (the run's generators are restored
    after drawing the probe batch, so the run itself is untouched) in fp32 and bf16 autocast; the faster wins."""
    probe, state = copy.deepcopy(model), {k: g.get_state() for k, g in gens.items()}
    batch = draw()
    for k, g in gens.items():
        g.set_state(state[k])
    opt = torch.optim.AdamW(probe.parameters(), lr=lr)

    def step(bf16):
        opt.zero_grad()
        loss_of(probe, batch, slice(0, micro), bf16)[0].backward()
        opt.step()

    return choose_precision(step, device)


def _nan_message(what: str, rank: int, step: int, path: Path) -> str:
    where = (f"{path} (step {ckpt.load_file(path)['step']})" if path.exists()
             else "none (no checkpoint was written yet)")
    return (f"the {what} became non-finite at step {step + 1} (seen by process {rank}); stopping without saving. "
            f"The last good checkpoint is {where}: lower the learning rate (--lr) and --resume from it")
