"""Training: presets, the two stages (frame tokenizer, then the DiT on frozen latents), EMA, atomic checkpoints and
bit-identical resume (notebook 07).

    python -m ardiff_edu train --preset balls --stage tokenizer --out runs/balls
    python -m ardiff_edu train --preset balls --stage dit --out runs/balls [--resume] [--steps N] ...
    python -m ardiff_edu train --export runs/balls --to data/checkpoints/balls.pt

A run directory holds ``tokenizer.pt`` / ``dit.pt`` (model, EMA, optimizer, step and the state of every random
generator), their JSONL logs ``tokenizer.jsonl`` / ``dit.jsonl``, the latent cache ``latents.pt`` and
``commands.txt`` (every command run on it). Three explicit ``torch.Generator`` drive the data (clip indices, label
dropout), the timesteps and the noise; all three are checkpointed, so ``--resume`` continues exactly where the run
stopped and ends with the same weights, bit for bit, as a run that never stopped.

**DiT stage, step by step.** The clips are generated once into memory and encoded once with the frozen tokenizer
(its EMA weights), cached in ``latents.pt``. **Latent normalisation:** every channel is standardised with the mean
and std measured over all training latents, ``z = (tokens − mean) / std``, so each channel has unit variance like the
noise (the paper L2-normalises each token instead, notes §4.3; ``FrameTokenizer(l2_normalize=True)`` offers that, and
the standardisation is applied on top). Then per step: FoPP timesteps ``t (B, F)``, per-frame ``q_sample``, the
network's prediction, and the MSE averaged over tokens and channels into a per-frame loss ``(B, F)`` (logged per
frame index), then over frames and batch. AdamW with constant LR (optional linear warm-up), grad clipping, EMA with
warm-up ``min((1 + n) / (10 + n), decay)``.

**Speed (2 CPU cores).** fp32 is the default: bf16 autocast runs ~4× *slower* here (``python -m ardiff_edu bench
--only train`` prints both); ``--bf16`` is for GPUs.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import shlex
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ardiff_edu.diffusion import NoiseSchedule
from ardiff_edu.models import DiT, FrameTokenizer
from ardiff_edu.timesteps import KINDS as TIMESTEP_KINDS
from ardiff_edu.timesteps import sample_timesteps
from ardiff_edu.utils import atomic_open, atomic_torch_save, check_choice, check_float, check_int

__all__ = ["TrainConfig", "PRESETS", "STAGES", "train", "load_checkpoint", "Pipeline", "export", "plot_log",
           "read_log", "build_tokenizer", "build_dit", "drop_labels", "main"]

STAGES = ("tokenizer", "dit")
#: dataset name -> the generator in ``ardiff_edu.data``.
DATASETS = {"balls": "bouncing_balls", "digits": "moving_digits", "sky": "sky_timelapse", "taichi": "taichi",
            "faces": "faces", "ucf": "ucf_actions"}
FORMAT = "ardiff-edu-checkpoint-v1"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run (both stages). ``PRESETS`` holds the named ones."""
    name: str = "balls"
    dataset: str = "balls"
    num_clips: int = 10000
    num_frames: int = 16
    image_size: int = 32
    data_seed: int = 0
    # frame tokenizer (stage 1)
    token_dim: int = 8
    tok_width: int = 32
    l2_normalize: bool = False
    tok_steps: int = 1200
    tok_batch_size: int = 128          # frames
    tok_lr: float = 1e-3               # the CPU probe: 2e-3 diverged
    tok_fg_weight: float = 5.0         # MSE weight on non-black pixels (balls are ~5 % of the frame)
    tok_ema_decay: float = 0.995
    # DiT (stage 2)
    width: int = 128
    depth: int = 4
    heads: int = 4
    mask: str = "causal"
    prediction: str = "x0"
    num_classes: int | None = None     # set from the data for class-conditional presets
    label_dropout: float = 0.0         # P(label -> null) for classifier-free guidance
    num_timesteps: int = 1000
    timesteps: str = "fopp"
    steps: int = 20000
    batch_size: int = 32               # clips
    lr: float = 4e-4
    warmup: int = 0
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    # bookkeeping
    seed: int = 0
    ckpt_every: int = 200
    log_every: int = 10
    device: str = "cpu"
    bf16: bool = False

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        for name, low in [("num_clips", 1), ("num_frames", 1), ("image_size", 4), ("data_seed", 0), ("token_dim", 1),
                          ("tok_width", 1), ("tok_steps", 0), ("tok_batch_size", 1), ("width", 4), ("depth", 1),
                          ("heads", 1), ("num_timesteps", 2), ("steps", 0), ("batch_size", 1), ("warmup", 0),
                          ("seed", 0), ("ckpt_every", 1), ("log_every", 1)]:
            check_int(name, getattr(self, name), low)
        if self.num_classes is not None:
            check_int("num_classes", self.num_classes, 1)
        check_choice("mask", self.mask, ("causal", "leaky", "full"))
        check_choice("prediction", self.prediction, ("x0", "eps", "v"))
        check_choice("timesteps", self.timesteps, TIMESTEP_KINDS)
        check_choice("device", self.device, ("cpu", "cuda"))
        for name in ("tok_lr", "lr", "grad_clip"):
            check_float(name, getattr(self, name), 0, low_open=True)
        for name in ("tok_ema_decay", "ema_decay", "label_dropout", "weight_decay"):
            check_float(name, getattr(self, name), 0, 1, high_open=True)


_SMALL = dict(num_clips=64, num_frames=8, token_dim=4, tok_width=8, tok_steps=20, tok_batch_size=16,
              width=32, depth=1, heads=2, steps=40, batch_size=4, ckpt_every=10, log_every=1)
#: The named configurations. ``balls`` is the default and the shipped checkpoint; ``balls-smoke`` runs in seconds
#: (tests, notebooks). The real-footage presets keep the toy model size and follow the official LR/clip per dataset
#: (notes §5) where it matters.
PRESETS: dict[str, TrainConfig] = {
    "balls": TrainConfig(),
    "balls-smoke": TrainConfig(name="balls-smoke", **_SMALL),
    "digits": TrainConfig(name="digits", dataset="digits"),
    "sky": TrainConfig(name="sky", dataset="sky", num_clips=4000, lr=2e-4),
    "taichi": TrainConfig(name="taichi", dataset="taichi", num_clips=4000, lr=2e-4),
    "faces": TrainConfig(name="faces", dataset="faces", num_clips=4000, lr=1e-4, grad_clip=0.1),
    # class-conditional: labels are dropped to the null label with probability 0.2 — what the official config meant;
    # it wrote `randn < 0.2`, which drops ~58 % (notes §4.4)
    "ucf": TrainConfig(name="ucf", dataset="ucf", num_clips=4000, lr=1e-4, grad_clip=0.1, label_dropout=0.2),
}


# ----------------------------------------------------------------------------------------------------------------
# models, data
# ----------------------------------------------------------------------------------------------------------------
def build_tokenizer(cfg: TrainConfig) -> FrameTokenizer:
    return FrameTokenizer(image_size=cfg.image_size, token_dim=cfg.token_dim, width=cfg.tok_width,
                          l2_normalize=cfg.l2_normalize)


def build_dit(cfg: TrainConfig, num_tokens: int) -> DiT:
    return DiT(cfg.token_dim, num_tokens, max_frames=cfg.num_frames, width=cfg.width, depth=cfg.depth,
               heads=cfg.heads, mask=cfg.mask, prediction=cfg.prediction, num_classes=cfg.num_classes)


def load_clips(cfg: TrainConfig):
    """``(uint8 clips (N, F, H, W, 3), labels (N,) int64 or None, class names or None)`` for ``cfg.dataset``."""
    from ardiff_edu import data

    fn = getattr(data, DATASETS[cfg.dataset], None)
    if fn is None:
        raise ValueError(f"dataset {cfg.dataset!r} needs ardiff_edu.data.{DATASETS[cfg.dataset]}, "
                         f"which this checkout does not have")
    out = fn(cfg.num_clips, num_frames=cfg.num_frames, size=cfg.image_size, seed=cfg.data_seed)
    if isinstance(out, tuple):
        clips, labels, names = out
        return torch.as_tensor(clips), torch.as_tensor(labels, dtype=torch.long), list(names)
    return torch.as_tensor(out), None, None


def _make_gens(seed: int) -> dict[str, torch.Generator]:
    # one generator per source of randomness, so each one's stream does not depend on the others
    return {k: torch.Generator().manual_seed(seed * 1000 + i) for i, k in enumerate(("data", "time", "noise"))}


def drop_labels(labels: torch.Tensor, p: float, null_label: int, generator: torch.Generator) -> torch.Tensor:
    """Replace each label by ``null_label`` with probability ``p`` (classifier-free guidance training).

    A uniform draw ``u < p``; the official UCF config drew ``randn < 0.2``, which is true ~58 % of the time."""
    drop = (torch.rand(labels.shape, generator=generator) < p).to(labels.device)
    return torch.where(drop, torch.full_like(labels, null_label), labels)


# ----------------------------------------------------------------------------------------------------------------
# losses (module-level so tests can replace them)
# ----------------------------------------------------------------------------------------------------------------
def _tokenizer_loss(model, batch, cfg: TrainConfig) -> tuple[torch.Tensor, dict]:
    """Reconstruction MSE, weighted ``tok_fg_weight``× on non-black pixels."""
    recon = model(batch)
    w = 1 + (cfg.tok_fg_weight - 1) * (batch > -0.95).any(dim=1, keepdim=True).float()
    se = (recon.float() - batch) ** 2
    return (w * se).mean(), {"mse": se.mean().item()}


def _dit_loss(model, batch, cfg: TrainConfig, schedule: NoiseSchedule, gens) -> tuple[torch.Tensor, dict]:
    """One DiT training loss: per-frame timesteps, per-frame noising, MSE to the target → ``(B, F)`` → scalar."""
    z0, labels = batch
    B, Fr = z0.shape[:2]
    t = sample_timesteps(cfg.timesteps, B, Fr, cfg.num_timesteps, generator=gens["time"])
    noise = torch.randn(z0.shape, generator=gens["noise"]).to(z0.device)
    zt = schedule.q_sample(z0, t, noise=noise)
    pred = model(zt, t.to(z0.device), labels)
    if cfg.prediction == "x0":
        target = z0
    elif cfg.prediction == "eps":
        target = noise
    else:
        target = schedule.v_from_x0_eps(z0, noise, t)
    per_frame = ((pred.float() - target) ** 2).mean(dim=(2, 3))          # (B, F)
    return per_frame.mean(), {"per_frame": per_frame.detach().mean(0)}


# ----------------------------------------------------------------------------------------------------------------
# checkpoints and logs
# ----------------------------------------------------------------------------------------------------------------
def _ckpt_path(out: Path, stage: str) -> Path:
    return Path(out) / f"{stage}.pt"


def _log_path(out: Path, stage: str) -> Path:
    return Path(out) / f"{stage}.jsonl"


def read_log(path) -> list[dict]:
    """The records of a JSONL training log."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _truncate_log(path: Path, step: int) -> float:
    """Drop records after ``step`` (written after the checkpoint a resumed run starts from); return the training
    time logged up to there, so that ``elapsed_s`` keeps counting across resumes."""
    if not path.exists():
        return 0.0
    keep = [r for r in read_log(path) if r["step"] <= step]
    with atomic_open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in keep)
    return keep[-1].get("elapsed_s", 0.0) if keep else 0.0


def _save(path: Path, stage, cfg, step, model, ema, opt, gens, extra) -> None:
    atomic_torch_save({"format": "ardiff-edu-run-v1", "stage": stage, "config": asdict(cfg), "step": step,
                       "model": model.state_dict(), "ema": ema.state_dict(), "optimizer": opt.state_dict(),
                       "generators": {k: g.get_state() for k, g in gens.items()}, **extra}, path)


def _config_from(d: dict) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in known})


# ----------------------------------------------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------------------------------------------
def _encode_pool(cfg: TrainConfig, out: Path, clips: torch.Tensor, device) -> dict:
    """Encode every clip once with the frozen tokenizer (EMA weights); cached in ``out/latents.pt``."""
    from ardiff_edu.data import to_float

    tok_ckpt = torch.load(_ckpt_path(out, "tokenizer"), map_location="cpu", weights_only=False)
    cache = Path(out) / "latents.pt"
    key = {"tokenizer_step": tok_ckpt["step"], "num_clips": cfg.num_clips, "data_seed": cfg.data_seed,
           "num_frames": cfg.num_frames, "dataset": cfg.dataset}
    if cache.exists():
        c = torch.load(cache, map_location="cpu", weights_only=False)
        if c["key"] == key:
            return c
    tok = build_tokenizer(_config_from(tok_ckpt["config"]))
    tok.load_state_dict(tok_ckpt["ema"])
    tok.eval().to(device)
    chunks = []
    with torch.no_grad():
        for i in range(0, len(clips), 128):
            chunks.append(tok.encode_video(to_float(clips[i:i + 128]).to(device)).float().cpu())
    z = torch.cat(chunks)                                                  # (N, F, L, C)
    mean, std = z.mean(dim=(0, 1, 2)), z.std(dim=(0, 1, 2))
    c = {"key": key, "latents": (z - mean) / std, "mean": mean, "std": std}
    atomic_torch_save(c, cache)
    return c


def train(config: TrainConfig | str = "balls", out="runs/balls", stage: str = "dit", resume: bool = False,
          progress: bool = True) -> dict:
    """Train one stage up to ``config.steps`` (DiT) or ``config.tok_steps`` (tokenizer); callable from a notebook.

    ``resume=True`` continues from ``out/<stage>.pt`` (its config wins, except ``steps``/``tok_steps``,
    ``ckpt_every``, ``log_every`` and ``device`` which come from ``config``). Returns
    ``{"step", "loss", "model", "ema", "log"}``. A non-finite loss or gradient stops the run with
    ``FloatingPointError``; the last checkpoint on disk is the last good state.
    """
    cfg = PRESETS.get(config) if isinstance(config, str) else config
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"config must be a TrainConfig or one of {sorted(PRESETS)}, got {config!r}")
    stage = check_choice("stage", stage, STAGES)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = _ckpt_path(out, stage), _log_path(out, stage)
    ckpt = None
    if ckpt_path.exists():
        if not resume:
            raise ValueError(f"{ckpt_path} exists: pass resume=True (--resume) to continue it, or use another out")
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        cfg = replace(_config_from(ckpt["config"]), steps=cfg.steps, tok_steps=cfg.tok_steps,
                      ckpt_every=cfg.ckpt_every, log_every=cfg.log_every, device=cfg.device)
    device = torch.device(cfg.device)
    clips, labels, class_names = load_clips(cfg)
    torch.manual_seed(cfg.seed)
    gens = _make_gens(cfg.seed + (0 if stage == "tokenizer" else 1))
    extra: dict = {}
    if stage == "tokenizer":
        model = build_tokenizer(cfg)
        total, lr, decay, wd = cfg.tok_steps, cfg.tok_lr, cfg.tok_ema_decay, 0.0
    else:
        if not _ckpt_path(out, "tokenizer").exists():
            raise ValueError(f"the DiT stage needs a trained tokenizer: run --stage tokenizer --out {out} first")
        if labels is not None and cfg.num_classes is None:
            cfg = replace(cfg, num_classes=len(class_names))
        pool = _encode_pool(cfg, out, clips, device)
        latents = pool["latents"].to(device)
        extra = {"latent_mean": pool["mean"], "latent_std": pool["std"], "class_names": class_names}
        model = build_dit(cfg, latents.shape[2])
        total, lr, decay, wd = cfg.steps, cfg.lr, cfg.ema_decay, cfg.weight_decay
        schedule = NoiseSchedule(cfg.num_timesteps)
        if labels is not None:
            labels = labels.to(device)
    model.to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    step, clock0 = 0, 0.0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
        for k, g in gens.items():
            g.set_state(ckpt["generators"][k])
        step = ckpt["step"]
        clock0 = _truncate_log(log_path, step)
    elif log_path.exists():
        log_path.unlink()

    def save():
        _save(ckpt_path, stage, cfg, step, model, ema, opt, gens, extra)

    from tqdm.auto import tqdm

    from ardiff_edu.data import to_float

    bar = tqdm(total=total, initial=step, desc=f"{cfg.name}/{stage}", disable=not progress, dynamic_ncols=True)
    acc_loss, acc_n, acc_frames, acc_extra = 0.0, 0, None, 0.0
    last_loss, t0 = float("nan"), time.perf_counter()
    model.train()
    try:
        while step < total:
            # --- a batch: everything random comes from the explicit generators
            if stage == "tokenizer":
                ci = torch.randint(len(clips), (cfg.tok_batch_size,), generator=gens["data"])
                fi = torch.randint(clips.shape[1], (cfg.tok_batch_size,), generator=gens["data"])
                batch = to_float(clips[ci, fi]).to(device)
            else:
                idx = torch.randint(len(latents), (cfg.batch_size,), generator=gens["data"]).to(device)
                y = None
                if labels is not None:
                    y = drop_labels(labels[idx], cfg.label_dropout, cfg.num_classes, gens["data"])
                batch = (latents[idx], y)
            for group in opt.param_groups:       # constant LR with optional linear warm-up
                group["lr"] = lr * min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else lr
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                if stage == "tokenizer":
                    loss, info = _tokenizer_loss(model, batch, cfg)
                else:
                    loss, info = _dit_loss(model, batch, cfg, schedule, gens)
            if not torch.isfinite(loss):
                raise FloatingPointError(_nan_message("loss", loss, step, ckpt_path))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            if not torch.isfinite(gnorm):
                raise FloatingPointError(_nan_message("gradient norm", gnorm, step, ckpt_path))
            opt.step()
            # EMA with warm-up: $\mathrm{decay}_n = \min\big(\tfrac{1+n}{10+n}, \mathrm{decay}\big)$
            d = min((1 + step) / (10 + step), decay)
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(pm, 1 - d)
            step += 1
            last_loss = loss.item()
            acc_loss, acc_n = acc_loss + last_loss, acc_n + 1
            if "per_frame" in info:
                pf = info["per_frame"].cpu()
                acc_frames = pf if acc_frames is None else acc_frames + pf
            else:
                acc_extra += info["mse"]
            bar.update(1)
            if step % cfg.log_every == 0 or step == total:
                rec = {"step": step, "loss": round(acc_loss / acc_n, 6), "lr": lr, "grad_norm": round(gnorm.item(), 4),
                       "elapsed_s": round(clock0 + time.perf_counter() - t0, 2)}
                if acc_frames is not None:
                    rec["per_frame"] = [round(v, 6) for v in (acc_frames / acc_n).tolist()]
                else:
                    rec["mse"] = round(acc_extra / acc_n, 6)
                with open(log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                bar.set_postfix(loss=f"{rec['loss']:.4f}")
                acc_loss, acc_n, acc_frames, acc_extra = 0.0, 0, None, 0.0
            if step % cfg.ckpt_every == 0 or step == total:
                save()
    except KeyboardInterrupt:
        save()                                   # a notebook's stop button keeps the progress
        raise
    finally:
        bar.close()
    if ckpt is None and total == 0:
        save()
    return {"step": step, "loss": last_loss, "model": model, "ema": ema, "log": log_path}


def _nan_message(what, value, step, ckpt_path) -> str:
    where = f"{ckpt_path} (step {torch.load(ckpt_path, weights_only=False)['step']})" if ckpt_path.exists() \
        else "none (no checkpoint was written yet)"
    return (f"the {what} became {value.item()} at step {step + 1}; stopping without saving. The last good checkpoint "
            f"is {where}: lower the learning rate (--lr) and --resume from it")


# ----------------------------------------------------------------------------------------------------------------
# loading for sampling, export
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Pipeline:
    """A trained model ready for sampling (eval mode, EMA weights, float32).

    The sampler works on **normalised latents** ``(B, F, L, C)``: :meth:`encode_video` turns pixel clips into them
    and :meth:`decode_video` turns them back into pixel clips in [-1, 1].
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

    @property
    def num_frames(self) -> int:
        return self.config.num_frames

    @property
    def prediction(self) -> str:
        return self.model.prediction

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


def load_checkpoint(path, device="cpu") -> Pipeline:
    """Load an exported checkpoint (``data/checkpoints/*.pt``) or a run's ``dit.pt`` (its sibling ``tokenizer.pt``
    is used) into a :class:`Pipeline` with the EMA weights, in eval mode on ``device``."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"path {str(path)!r} does not exist")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck.get("format") == FORMAT:
        cfg = _config_from(ck["config"])
        tok_sd, dit_sd, meta, log = ck["tokenizer"], ck["dit"], ck.get("meta", {}), ck.get("log", [])
    elif ck.get("format") == "ardiff-edu-run-v1" and ck["stage"] == "dit":
        cfg = _config_from(ck["config"])
        tok_sd = torch.load(path.parent / "tokenizer.pt", map_location="cpu", weights_only=False)["ema"]
        dit_sd, meta = ck["ema"], {"steps": ck["step"]}
        log = read_log(path.with_suffix(".jsonl")) if path.with_suffix(".jsonl").exists() else []
    else:
        raise ValueError(f"{path} is neither an exported checkpoint nor a run's dit.pt")
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
    """Write a small file for sampling: EMA weights in fp16 (DiT + tokenizer), config, latent statistics, a thinned
    training log and the commands/seed/steps that made it."""
    run, to = Path(run), Path(to)
    ck = torch.load(_ckpt_path(run, "dit"), map_location="cpu", weights_only=False)
    tk = torch.load(_ckpt_path(run, "tokenizer"), map_location="cpu", weights_only=False)
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
    log = read_log(_log_path(run, "dit")) if _log_path(run, "dit").exists() else []
    log = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in log if r["step"] <= ck["step"]]
    tail = [r["loss"] for r in log[-10:]]
    commands = (run / "commands.txt").read_text().splitlines() if (run / "commands.txt").exists() else []
    meta = {"steps": ck["step"], "tokenizer_steps": tk["step"], "seed": ck["config"]["seed"],
            "final_loss": round(sum(tail) / len(tail), 4) if tail else None, "commands": commands,
            "exported_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
    atomic_torch_save({"format": FORMAT, "config": ck["config"], "tokenizer": half(tk["ema"]), "dit": half(ck["ema"]),
                       "latent_mean": ck["latent_mean"], "latent_std": ck["latent_std"],
                       "class_names": ck.get("class_names"), "meta": meta, "log": _thin(log)}, to)
    return to


def plot_log(path_or_records, smooth: int = 20, ax=None):
    """Loss curves: the total loss (left) and the loss per frame index (right), moving-averaged over ``smooth``
    records. ``path_or_records`` is a JSONL log or a list of records (``Pipeline.log``). Returns the figure."""
    import matplotlib.pyplot as plt
    import numpy as np

    recs = read_log(path_or_records) if isinstance(path_or_records, (str, Path)) else list(path_or_records)
    if not recs:
        raise ValueError("the log has no records")
    steps = np.array([r["step"] for r in recs])
    k = max(1, min(smooth, len(recs)))
    sm = lambda y: np.convolve(y, np.ones(k) / k, mode="valid")  # noqa: E731
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(8, 2.8), dpi=70)
    fig = ax[0].figure
    ax[0].plot(steps[k - 1:], sm(np.array([r["loss"] for r in recs])))
    ax[0].set(xlabel="step", ylabel="loss", title="training loss", yscale="log")
    if "per_frame" in recs[0]:
        pf = np.array([r["per_frame"] for r in recs])                  # (records, F)
        cmap = plt.get_cmap("viridis")
        for f in range(pf.shape[1]):
            ax[1].plot(steps[k - 1:], sm(pf[:, f]), color=cmap(f / max(1, pf.shape[1] - 1)), lw=0.8)
        ax[1].set(xlabel="step", ylabel="loss", title="per frame (dark = frame 0)", yscale="log")
    else:
        ax[1].set_axis_off()
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------------------------
# benchmark and CLI
# ----------------------------------------------------------------------------------------------------------------
def bench_train(steps: int = 4, preset: str = "balls") -> None:
    """Training throughput of the ``balls`` DiT on random latents, fp32 and bf16 autocast, and achieved FLOP/s as a
    fraction of a 1024² fp32 matmul measured in the same run."""
    from torch.utils.flop_counter import FlopCounterMode

    from ardiff_edu.bench import best_time

    cfg = PRESETS[check_choice("preset", preset, PRESETS)]
    torch.manual_seed(0)
    L = (cfg.image_size // 8) ** 2
    model = build_dit(cfg, L)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    sched, gens = NoiseSchedule(cfg.num_timesteps), _make_gens(0)
    z = torch.randn(cfg.batch_size, cfg.num_frames, L, cfg.token_dim)

    def step(bf16):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _ = _dit_loss(model, (z, None), cfg, sched, gens)
        opt.zero_grad()
        loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as fc:
        step(False)
    flops = fc.get_total_flops()
    a = torch.randn(1024, 1024)
    mm = 2 * 1024 ** 3 / best_time(lambda: a @ a, repeat=10)
    tokens = cfg.batch_size * cfg.num_frames * L
    print(f"train: {cfg.name} DiT, B={cfg.batch_size} F={cfg.num_frames} L={L} width={cfg.width} depth={cfg.depth}, "
          f"{flops / 1e9:.1f} GFLOP/step, {torch.get_num_threads()} threads")
    print(f"  1024² fp32 matmul            {mm / 1e9:9.1f} GFLOP/s (the reference)")
    for bf16 in (False, True):
        step(bf16)
        sec = best_time(lambda: step(bf16), repeat=steps)
        name = "bf16 autocast" if bf16 else "fp32"
        print(f"  {name:<14} {1 / sec:6.2f} steps/s  {cfg.batch_size / sec:7.1f} clips/s  "
              f"{tokens / sec:8.0f} tokens/s  {flops / sec / 1e9:6.1f} GFLOP/s = {flops / sec / mm:5.2f}x matmul")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ardiff_edu train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="balls", choices=sorted(PRESETS))
    p.add_argument("--stage", default="dit", choices=STAGES + ("all",))
    p.add_argument("--out", default=None, help="run directory (default runs/<preset>)")
    p.add_argument("--steps", type=int, help="total steps of this stage")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--timesteps", choices=TIMESTEP_KINDS)
    p.add_argument("--device", choices=("cpu", "cuda"))
    p.add_argument("--bf16", action="store_true", default=None, help="bf16 autocast (slower on our 2-core CPU)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--seed", type=int)
    p.add_argument("--ckpt-every", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--export", metavar="RUN", help="export RUN's EMA weights (fp16) to --to and exit")
    p.add_argument("--to", metavar="FILE")
    a = p.parse_args(argv)
    if a.export:
        if not a.to:
            p.error("--export needs --to FILE")
        print(f"wrote {export(a.export, a.to)}")
        return 0
    out = Path(a.out or f"runs/{a.preset}")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "commands.txt", "a") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}  "
                f"python -m ardiff_edu train {shlex.join(sys.argv[2:] if argv is None else argv)}\n")
    try:
        for stage in (STAGES if a.stage == "all" else (a.stage,)):
            over = {"batch_size": a.batch_size, "lr": a.lr, "timesteps": a.timesteps, "device": a.device,
                    "bf16": a.bf16, "seed": a.seed, "ckpt_every": a.ckpt_every}
            if stage == "tokenizer":
                over.update(tok_steps=a.steps, tok_batch_size=a.batch_size, tok_lr=a.lr, batch_size=None, lr=None)
            else:
                over["steps"] = a.steps
            cfg = replace(PRESETS[a.preset], **{k: v for k, v in over.items() if v is not None})
            if a.resume and _ckpt_path(out, stage).exists():
                saved = _config_from(torch.load(_ckpt_path(out, stage), weights_only=False)["config"])
                cfg = replace(saved, **{k: v for k, v in over.items() if v is not None})
            res = train(cfg, out, stage, resume=a.resume, progress=not a.no_progress)
            print(f"{stage}: step {res['step']}, loss {res['loss']:.4f}, checkpoint {_ckpt_path(out, stage)}")
    except (FloatingPointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
