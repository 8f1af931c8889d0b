"""Training AR-Diffusion (notebooks 07 and 10): the frame tokenizer first, then the DiT on frozen latents.

One DiT training step, as the official code takes it (``p_losses`` in ``src/ardiff/modules/diffusion.py`` and
``py_scripts/diff_train.py`` of iva-mzsun/AR-Diffusion, commit 7a37b94):

1. a batch of clean latent clips ``z0 (B, F, L, C)``;
2. per-frame timesteps ``t (B, F)`` from FoPP (:mod:`ardiff_edu.fopp`), non-decreasing along the frames;
3. per-frame noising ``z_t = √ᾱ_t · z0 + √(1 − ᾱ_t) · ε`` (:mod:`ardiff_edu.noise`);
4. the DiT's prediction of ``z0`` and the squared error averaged over tokens and channels: a **per-frame loss**
   ``(B, F)``, then its mean (:mod:`ardiff_edu.losses`);
5. backward, gradient clipping, AdamW, and an EMA of the weights (sampling uses the EMA).

The clips are encoded once with the frozen tokenizer (its EMA weights) and every channel is standardised with the
mean and std of all training latents, ``z = (tokens − mean) / std``, so that each has unit variance like the noise.
Every random draw comes from three explicit generators (:mod:`ardiff_edu.checkpoint`), so a run can be stopped,
resumed, or spread over several processes (:mod:`ardiff_edu.distributed`) and still take the same steps.

The toy presets hold their clips in memory. A run on a benchmark cache (``cache``, ``--data``; the paper presets of
:mod:`ardiff_edu.config`) streams them instead (:mod:`ardiff_edu.loaders`): frames of the cache for the tokenizer,
latent shards encoded once for the DiT, through a ``DistributedSampler``; the timesteps, the noise and the label
dropout still come from the three generators, drawn for the whole global batch.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu import distributed as dist
from ardiff_edu import finetune, loaders
from ardiff_edu.config import (CACHE_DATASETS, DATASETS, FIXED_ON_RESUME, LR_SCHEDULES, PAPER_PRESETS, PRECISIONS,
                               PRESETS, STAGES, TOKENIZER_FIELDS, TOKENIZERS, TrainConfig, build_dit, build_tokenizer,
                               first_mismatch, resumed_config)
from ardiff_edu.fopp import first_frame_timesteps, mix_clean_history, mix_synchronous, sample_timesteps
from ardiff_edu.latents import encode_latents, shard_latents
from ardiff_edu.losses import dit_loss, drop_labels, tokenizer_loss
from ardiff_edu.noise import NoiseSchedule
from ardiff_edu.utils import check_choice

__all__ = ["STAGES", "DATASETS", "PRECISIONS", "LR_SCHEDULES", "TOKENIZERS", "TrainConfig", "PRESETS",
           "PAPER_PRESETS", "FIXED_ON_RESUME", "build_tokenizer", "build_dit", "load_clips", "tokenizer_loss",
           "dit_loss", "learning_rate", "ema_update", "drop_labels", "encode_latents", "shard_latents",
           "resumed_config", "preflight", "train"]


# ----------------------------------------------------------------------------------------------------------------
# data, the learning rate and the EMA
# ----------------------------------------------------------------------------------------------------------------
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


def _check_device(cfg: TrainConfig) -> torch.device:
    """The run's device; on CUDA also TF32 matmuls and convolutions (bf16 autocast is ``precision="bf16"``, fused
    attention is ``scaled_dot_product_attention`` in the models)."""
    if cfg.device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device='cuda' was requested, but this machine has no CUDA device "
                             "(torch.cuda.is_available() is False); use device='cpu'")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return torch.device(cfg.device)


def _check_tokenizer_agrees(cfg: TrainConfig, out) -> None:
    """The DiT stage's config must build the tokenizer that ``out`` holds, if any: the export keeps one config for
    both."""
    tok_path = ckpt.checkpoint_path(out, "tokenizer")
    if not tok_path.exists():
        return
    tok_cfg = TrainConfig.from_dict(ckpt.load_file(tok_path)["config"])
    name = first_mismatch(tok_cfg, cfg, TOKENIZER_FIELDS)
    if name is not None:
        raise ValueError(f"{name}={getattr(cfg, name)!r} does not fit the tokenizer in {tok_path}, trained with "
                         f"{name}={getattr(tok_cfg, name)!r}: give the DiT stage the tokenizer's settings")


def preflight(cfg: TrainConfig, stage: str, world_size: int = 1, out=None):
    """Check what a run of ``stage`` on ``world_size`` processes needs before anything is written (the device, the
    split of the global batch, the cache, and for the DiT stage the tokenizer already in run directory ``out``);
    ``ValueError`` naming the bad value and the accepted range. Returns the opened clip cache, or None for data
    generated in memory."""
    _check_device(cfg)
    tok = check_choice("stage", stage, STAGES) == "tokenizer"
    B, accum = (cfg.tok_batch_size, cfg.tok_grad_accum) if tok else (cfg.batch_size, cfg.grad_accum)
    if B % world_size:
        raise ValueError(f"{'tok_' if tok else ''}batch_size={B} (the global batch, --batch-size) must be a multiple "
                         f"of the world size {world_size} (the number of processes): one of {world_size}, "
                         f"{2 * world_size}, {3 * world_size}, ...")
    if (B // world_size) % accum:
        raise ValueError(f"{'tok_' if tok else ''}grad_accum={accum} must divide the per-process batch "
                         f"{B // world_size} (= batch size {B} / {world_size} processes)")
    if tok and cfg.init_from is not None:
        raise ValueError(f"init_from={cfg.init_from!r} starts the DiT stage from an exported model, its tokenizer "
                         f"included: train --stage dit only")
    if not tok and out is not None:
        _check_tokenizer_agrees(cfg, out)
    if cfg.cache is None:
        return None
    cache = loaders.open_cache(cfg.cache, CACHE_DATASETS[cfg.dataset], cfg.image_size, cfg.num_frames)
    loaders.steps_per_epoch(len(cache) * (cfg.num_frames if stage == "tokenizer" else 1), B)
    return cache


def train(config: TrainConfig | str = "balls", out="runs/balls", stage: str = "dit", resume: bool = False,
          progress: bool = True) -> dict:
    """Train one stage up to ``config.steps`` (DiT) or ``config.tok_steps`` (tokenizer); callable from a notebook.

    ``resume=True`` continues from ``out/<stage>.pt`` if it exists (its config wins, except the number of steps,
    ``ckpt_every``, ``keep_every``, ``log_every``, ``device`` and ``compile``, which come from ``config``), with any
    number of processes. Under ``torchrun`` every process runs this function; see :mod:`ardiff_edu.distributed`. Returns
    ``{"step", "loss", "model", "ema", "log", "precision"}``. A non-finite loss or gradient stops every process with
    ``FloatingPointError``; the last checkpoint on disk is then the last good state.
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
    cache = preflight(cfg, stage, world_size, out)
    B, accum = (cfg.tok_batch_size, cfg.tok_grad_accum) if stage == "tokenizer" else (cfg.batch_size, cfg.grad_accum)
    rows = dist.rank_rows(B, rank, world_size)                   # this process's rows of every global batch
    micro = B // world_size // accum
    out.mkdir(parents=True, exist_ok=True)
    if cache is None:
        clips, labels, class_names = load_clips(cfg)
    else:
        labels, class_names, data = cache.labels, cache.class_names, loaders.CacheFrames(cache.path)
    torch.manual_seed(cfg.seed)
    gens = ckpt.make_generators(cfg.seed + (0 if stage == "tokenizer" else 1))
    extra, init = {}, None
    if stage == "tokenizer":
        model = build_tokenizer(cfg)
        total, base_lr, decay, wd, sched_kind = cfg.tok_steps, cfg.tok_lr, cfg.tok_ema_decay, 0.0, cfg.tok_lr_schedule
        warmup = 0
    else:
        if cfg.init_from is not None and saved is None:     # a fine-tune: the export's tokenizer, then its DiT
            init = finetune.install_tokenizer(cfg, out, rank)
        if not ckpt.checkpoint_path(out, "tokenizer").exists():
            raise ValueError(f"the DiT stage needs a trained tokenizer: run --stage tokenizer --out {out} first")
        if labels is not None and cfg.num_classes is None:
            cfg = replace(cfg, num_classes=len(class_names))
        if labels is not None and len(class_names) > cfg.num_classes:
            raise ValueError(f"num_classes={cfg.num_classes} is too small for the {len(class_names)} classes of "
                             f"the data: it must be >= {len(class_names)}")
        if cfg.cache is None:
            pool = encode_latents(cfg, out, clips, device)
            latents = pool["latents"].to(device)
            mean, std, num_tokens = pool["mean"], pool["std"], latents.shape[2]
            labels = None if labels is None else labels.to(device)
        else:
            data = shard_latents(cfg, out, cache, device)
            mean, std, num_tokens = data.mean, data.std, data.num_tokens
        extra = {"latent_mean": mean, "latent_std": std, "class_names": class_names}
        if cfg.init_from is not None:       # what the fine-tune started from, kept through resumes for the export
            extra["init_meta"] = init["meta"] if init is not None else saved.get("init_meta")
        model = build_dit(cfg, num_tokens)
        if init is not None:
            finetune.load_dit(model, init)
        total, base_lr, decay, wd, sched_kind = cfg.steps, cfg.lr, cfg.ema_decay, cfg.weight_decay, cfg.lr_schedule
        warmup = cfg.warmup
        noise_schedule = NoiseSchedule(cfg.num_timesteps)
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

    def stream_from(first_step, workers):
        """This process's share of every global batch of the cache, from ``first_step`` on (None: in memory)."""
        if cfg.cache is None:
            return None
        return loaders.batches(data, B, rank, world_size, cfg.seed * 1000 + 3, first_step, workers,
                               pin_memory=device.type == "cuda")

    def timesteps():
        """The step's per-frame timesteps for the whole global batch (``--sync-fraction``: some clips synchronous;
        ``--clean-history-fraction``: some clips with clean first frames)."""
        t = sample_timesteps(cfg.timesteps, B, cfg.num_frames, cfg.num_timesteps, generator=gens["time"])
        t = mix_synchronous(t, cfg.sync_fraction, cfg.num_timesteps, gens["time"])
        return mix_clean_history(t, cfg.clean_history_fraction, gens["time"])

    def draw(stream):
        """This process's rows of the step's global batch (every random draw from the generators, for all rows)."""
        if stage == "tokenizer":
            if stream is not None:
                return (next(stream).to(device, non_blocking=True),)
            ci = torch.randint(len(clips), (B,), generator=gens["data"])
            fi = torch.randint(clips.shape[1], (B,), generator=gens["data"])
            return (to_float(clips[ci, fi]).to(device)[rows],)
        if stream is None:
            idx = torch.randint(len(latents), (B,), generator=gens["data"]).to(device)
            y = None if labels is None else drop_labels(labels[idx], cfg.label_dropout, cfg.num_classes, gens["data"])
            t = timesteps()
            noise = torch.randn(latents[idx].shape, generator=gens["noise"]).to(device)
            return (latents[idx][rows], t[rows], noise[rows], None if y is None else y[rows],
                    first_frames(latents.shape[2:]))
        z0, y = next(stream)
        y = None if cfg.num_classes is None else torch.where(   # dropout drawn for the whole batch, as in memory
            torch.rand((B,), generator=gens["data"])[rows] < cfg.label_dropout, cfg.num_classes, y).to(device)
        t = timesteps()
        noise = torch.randn((B, *z0.shape[1:]), generator=gens["noise"])
        return z0.to(device, non_blocking=True), t[rows], noise[rows].to(device), y, first_frames(z0.shape[2:])

    def first_frames(token_shape):
        """``--first-frame-band``: timesteps ``(B, K)`` and noise ``(B, K, L, C)`` for every clip's frame 0 trained
        alone ``K = first_frame_draws`` more times (drawn after everything else, so runs without it draw exactly what
        they drew before)."""
        if cfg.first_frame_band is None:
            return None
        K = cfg.first_frame_draws
        t0 = first_frame_timesteps(cfg.first_frame_band, B, cfg.num_timesteps, gens["time"], K)
        return t0[rows].to(device), torch.randn((B, K, *token_shape), generator=gens["noise"])[rows].to(device)

    def loss_of(module, batch, sl, bf16):
        """``(loss, what to log)`` of the rows ``sl`` of this process's batch: the mean loss, and the plain MSE
        (tokenizer) or the per-frame loss summed over the rows (DiT)."""
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if stage == "tokenizer":
                loss, mse = tokenizer_loss(module, batch[0][sl], cfg.tok_fg_weight)
                return loss, torch.tensor([mse * (sl.stop - sl.start)])
            z0, t, noise, y, first = batch
            y = None if y is None else y[sl]
            per_frame = dit_loss(module, z0[sl], t[sl], noise[sl], noise_schedule, y, cfg.prediction,
                                 cfg.snr_weight)                                          # (b, F)
            if first is not None:        # frame 0 alone, K times, as K more frames of its clip: (b, F + K)
                K = cfg.first_frame_draws
                alone = dit_loss(module, z0[sl, :1].repeat_interleave(K, 0), first[0][sl].reshape(-1, 1),
                                 first[1][sl].flatten(0, 1)[:, None], noise_schedule,
                                 None if y is None else y.repeat_interleave(K), cfg.prediction,
                                 cfg.snr_weight)                                          # (b K, 1)
                per_frame = torch.cat([per_frame, alone.reshape(-1, K)], dim=1)
            return per_frame.mean(), per_frame.detach().sum(0).cpu()

    if cfg.precision == "auto":                 # measured by every process, rank 0's choice taken by all
        probe = stream_from(step, 0)
        fastest = _measure_precision(model, lambda: draw(probe), loss_of, gens, micro, base_lr, device)
        cfg = replace(cfg, precision=PRECISIONS[dist.from_rank0(PRECISIONS.index(fastest), device)])
    bf16 = cfg.precision == "bf16"

    def save(to=path):
        if rank == 0:
            ckpt.save_state(to, stage=stage, config=asdict(cfg), step=step, model=model, ema=ema, optimizer=opt,
                            generators=gens, world_size=world_size, **extra)

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=step, desc=f"{cfg.name}/{stage}", disable=not progress or rank > 0,
               dynamic_ncols=True)
    acc_loss, acc_n, acc_info, last_loss, t0 = 0.0, 0, None, float("nan"), time.perf_counter()
    stream = stream_from(step, cfg.workers) if step < total else None
    dist.barrier()          # every process has read what it needs before rank 0 writes
    if saved is None:
        save()              # the initial state: a job killed before its first checkpoint restarts from these weights
    model.train()
    try:
        while step < total:
            batch = draw(stream)
            lr = learning_rate(base_lr, step, total, sched_kind, warmup)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            step_loss, step_info = 0.0, 0.0
            for m in range(accum):
                sl = slice(m * micro, (m + 1) * micro)
                sync = m == accum - 1 or world_size == 1
                with contextlib.nullcontext() if sync else net.no_sync():
                    loss, info = loss_of(net, batch, sl, bf16)
                    bad = dist.any_rank(not bool(torch.isfinite(loss)), device)
                    if bad >= 0:
                        raise FloatingPointError(_nan_message("loss", bad, step, path))
                    (loss / accum).backward()
                step_loss += loss.item() / accum
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
                rec.update({"mse": values[0]} if stage == "tokenizer" else {"per_frame": values[:cfg.num_frames]})
                if stage == "dit" and cfg.first_frame_band is not None:    # the loss of frame 0 alone, in its band
                    rec["first_frame_band"] = round(sum(values[cfg.num_frames:]) / cfg.first_frame_draws, 6)
                if world_size > 1:                   # single-process records keep their fields
                    rec["world_size"] = world_size
                ckpt.append_log(log, rec)
                bar.set_postfix(loss=f"{rec['loss']:.4f}")
            if step % cfg.log_every == 0:
                acc_loss, acc_n, acc_info = 0.0, 0, None
            if step % cfg.ckpt_every == 0 or step == total:
                save()
            if cfg.keep_every and step % cfg.keep_every == 0:
                save(ckpt.snapshot_path(out, stage, step))
    except KeyboardInterrupt:
        save()                                   # a notebook's stop button keeps the progress
        raise
    finally:
        bar.close()
    dist.barrier()          # the last checkpoint is on disk before any process goes on (to the next stage)
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

