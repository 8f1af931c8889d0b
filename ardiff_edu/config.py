"""What defines a training run: :class:`TrainConfig`, the named presets, and the two networks built from a config.

``PRESETS`` holds two families:

* **toy presets** (``balls``, ``balls-v1``, ``balls-smoke``, ``ablation``, ``digits``, ``sky``, ``taichi``, ``faces``,
  ``ucf``):
  32×32 procedural data generated in memory, a small convolutional tokenizer and a small DiT; they train on a CPU;
* **paper presets** (``faceforensics-paper``, ``sky-paper``, ``taichi-paper``, ``ucf101-paper``, notebook 10): the
  official setup of each benchmark (``shell_scripts/stage2_ardiff_scripts/<data>_gen/train_base_script.sh`` and
  ``configs/`` of iva-mzsun/AR-Diffusion, commit 7a37b94):
  16-frame 256×256 clips read from a cache made by ``python -m ardiff_edu prepare``, a TiTok-style ViT-L/16 tokenizer
  with 32 tokens × 4 channels per frame, a DiT-XL-sized backbone (depth 28, width 1152, 16 heads) with 77 context
  tokens and the official ``leaky`` mask, x0-prediction, FoPP, AdamW at the official learning rate and gradient
  clip, EMA 0.9999, 100k steps, bf16 on CUDA. They need GPUs (``python -m ardiff_edu plan`` says how many hours).

**Paper vs code:** the official global batch is 16 clips per GPU × the gradient accumulation × the number of GPUs,
and the number of GPUs is not stated. A paper preset's ``batch_size`` is one GPU's share (16 × accumulation: 96, or
48 for FaceForensics); scale it with ``--batch-size`` to the GPUs you have.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ardiff_edu.fopp import KINDS as TIMESTEP_KINDS
from ardiff_edu.fopp import check_band
from ardiff_edu.models import MASKS, DiT, FrameTokenizer
from ardiff_edu.models.dit import check_width
from ardiff_edu.models.titok import TiTokTokenizer
from ardiff_edu.noise import PREDICTIONS
from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["STAGES", "HELD_OUT_SEED", "DATASETS", "CACHE_DATASETS", "PRECISIONS", "LR_SCHEDULES", "MAX_SNR_WEIGHT",
           "TOKENIZERS", "TOKENIZER_FIELDS", "TrainConfig", "PRESETS", "PAPER_PRESETS", "FIXED_ON_RESUME",
           "first_mismatch", "resumed_config", "build_tokenizer", "build_dit"]

STAGES = ("tokenizer", "dit")
#: Seeds of held-out clips start here; training data seeds (``data_seed``) stay below it.
HELD_OUT_SEED = 10_000
#: dataset name -> the generator in :mod:`ardiff_edu.data`.
DATASETS = {"balls": "bouncing_balls", "digits": "moving_digits", "sky": "sky_timelapse", "taichi": "taichi",
            "faces": "faces", "ucf": "ucf_actions"}
#: dataset name -> the benchmark whose ``prepare`` cache it can train on (``--data``)
CACHE_DATASETS = {"sky": "sky", "taichi": "taichi", "faces": "faces", "ucf": "ucf101"}
PRECISIONS = ("fp32", "bf16", "auto")
LR_SCHEDULES = ("constant", "cosine")
#: The largest ``snr_weight`` γ (:func:`ardiff_edu.losses.snr_weight`) a config accepts; 0 = the plain loss.
MAX_SNR_WEIGHT = 1000.0
TOKENIZERS = ("conv", "titok")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run (both stages). :data:`PRESETS` holds the named ones."""
    name: str = "balls"
    dataset: str = "balls"
    num_clips: int = 10000
    num_frames: int = 16               # F, also the DiT's window
    image_size: int = 32
    data_seed: int = 0
    cache: str | None = None           # a clip cache made by `prepare` (streamed); None: `dataset`'s generator
    workers: int = 0                   # data-loader worker processes (runs on a cache)
    # stage 1: the frame tokenizer
    tokenizer: str = "conv"            # "conv" (FrameTokenizer) or "titok" (TiTokTokenizer, the paper's kind)
    token_dim: int = 8                 # C channels per token
    tok_width: int = 32
    tok_depth: int = 2                 # titok only: transformer blocks of the encoder and of the decoder
    tok_heads: int = 4                 # titok only
    tok_patch: int = 8                 # titok only: patch side in pixels
    tok_tokens: int = 32               # titok only: L latent tokens per frame (conv: 16, its 4x4 grid)
    tok_subgrid: int = 1               # conv only: each token a k x k block of a k times finer map (an experiment)
    l2_normalize: bool = False
    tok_steps: int = 1200
    tok_batch_size: int = 128          # frames
    tok_grad_accum: int = 1            # micro-batches per process and step of the tokenizer stage
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
    sync_fraction: float = 0.0         # share of clips drawn synchronous instead (an experiment, not the paper)
    clean_history_fraction: float = 0.0    # share of clips given clean first frames (an experiment, not the paper)
    snr_weight: float = 0.0            # γ: each frame's loss × (1 + min(SNR_t, γ)); 0 = the paper's plain loss
    first_frame_band: tuple | None = None   # (lo, hi): also train every clip's frame 0 alone at t in [lo, hi)
    first_frame_draws: int = 1         # with first_frame_band: that many band draws of frame 0 per clip and step
    init_from: str | None = None       # an exported checkpoint the DiT starts from (a fine-tune), None: random weights
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
    keep_every: int = 0                # also keep a copy of the checkpoint every this many steps (0: never)
    log_every: int = 10
    device: str = "cpu"
    precision: str = "fp32"            # "auto": the faster of fp32 and bf16 autocast, measured when the run starts
    compile: bool = False

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        for name, low in [("num_clips", 1), ("num_frames", 1), ("image_size", 4), ("workers", 0),
                          ("token_dim", 1), ("tok_width", 1), ("tok_depth", 1), ("tok_heads", 1), ("tok_patch", 1),
                          ("tok_tokens", 1), ("tok_subgrid", 1), ("tok_steps", 0), ("tok_batch_size", 1),
                          ("tok_grad_accum", 1),
                          ("width", 4), ("depth", 1), ("heads", 1), ("num_context_tokens", 0), ("num_timesteps", 2),
                          ("first_frame_draws", 1), ("steps", 0), ("batch_size", 1), ("grad_accum", 1), ("warmup", 0),
                          ("seed", 0), ("ckpt_every", 1), ("keep_every", 0), ("log_every", 1)]:
            check_int(name, getattr(self, name), low)
        check_int("data_seed", self.data_seed, 0, HELD_OUT_SEED - 1)      # the held-out clips are never trained on
        check_width(self.width, self.heads)              # before a run writes anything, as the DiT would
        if self.num_classes is not None:
            check_int("num_classes", self.num_classes, 1)
        check_choice("tokenizer", self.tokenizer, TOKENIZERS)
        if self.tok_subgrid != 1 and self.tokenizer != "conv":
            raise ValueError(f"tok_subgrid={self.tok_subgrid} needs tokenizer='conv' (the titok tokenizer has no "
                             f"grid), got tokenizer={self.tokenizer!r}")
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
        check_float("sync_fraction", self.sync_fraction, 0, 1)
        check_float("clean_history_fraction", self.clean_history_fraction, 0, 1)
        check_float("snr_weight", self.snr_weight, 0, MAX_SNR_WEIGHT)
        if self.clean_history_fraction > 0 and self.num_frames < 2:
            raise ValueError(f"clean_history_fraction={self.clean_history_fraction:g} needs num_frames >= 2 (a clean "
                             f"frame before a noisy one), got {self.num_frames}")
        if self.first_frame_band is not None:
            object.__setattr__(self, "first_frame_band", check_band(self.first_frame_band, self.num_timesteps))
        elif self.first_frame_draws != 1:
            raise ValueError(f"first_frame_draws={self.first_frame_draws} needs a first_frame_band (--first-frame-band "
                             f"LO HI) to draw from; without one it must be 1")
        for name in ("tok_ema_decay", "ema_decay", "label_dropout", "weight_decay"):
            check_float(name, getattr(self, name), 0, 1, high_open=True)
        if self.cache is not None and self.dataset not in CACHE_DATASETS:
            raise ValueError(f"dataset={self.dataset!r} is generated in memory and has no benchmark cache; a cache "
                             f"(--data) needs one of {sorted(CACHE_DATASETS)}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


_SMALL = dict(num_clips=64, num_frames=8, token_dim=4, tok_width=8, tok_steps=20, tok_batch_size=16, width=32,
              depth=1, heads=2, steps=40, batch_size=4, ckpt_every=10, log_every=1)
#: ``balls`` is the default recipe (the shipped ``data/checkpoints/balls.pt``), ``balls-v1`` the recipe of the first
#: shipped model (kept for ``bench``'s before/after); ``balls-smoke`` runs in seconds (tests, notebooks);
#: ``ablation`` is the paper's training-sampler ablation (notebook 09). The stand-ins for the paper's datasets keep
#: the toy model size and take the official LR and gradient clip of their dataset.
_BALLS = TrainConfig(tok_steps=4000, tok_lr_schedule="cosine", heads=2, precision="auto", steps=24000,
                     lr_schedule="cosine", warmup=500)
PRESETS: dict[str, TrainConfig] = {
    "balls": _BALLS,
    # the recipe of the first shipped balls.pt (trained 2026-11-24, in git history; its tokenizer stopped at step 600)
    "balls-v1": TrainConfig(name="balls-v1", tok_steps=600),
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


def _paper(name: str, dataset: str, lr: float, grad_clip: float, accum: int, tok_lr: float, tok_steps: int,
           **kw) -> TrainConfig:
    """The official setup of one benchmark (see the module docstring); ``accum`` is its gradient accumulation."""
    return TrainConfig(
        name=name, dataset=dataset, num_frames=16, image_size=256, workers=8,
        tokenizer="titok", token_dim=4, tok_width=1024, tok_depth=24, tok_heads=16, tok_patch=16, tok_tokens=32,
        l2_normalize=True, tok_steps=tok_steps, tok_batch_size=32, tok_grad_accum=2, tok_lr=tok_lr, tok_fg_weight=1.0,
        tok_ema_decay=0.9999,
        width=1152, depth=28, heads=16, mask="leaky", num_context_tokens=77, official_residual=True, prediction="x0",
        timesteps="fopp", steps=100_000, batch_size=16 * accum, grad_accum=accum, lr=lr, lr_schedule="constant",
        warmup=0, weight_decay=1e-4, grad_clip=grad_clip, ema_decay=0.9999, ckpt_every=1000, log_every=50,
        device="cuda", precision="bf16", **kw)


#: The four benchmarks at the paper's size: DiT learning rate, gradient clip and accumulation from the official run
#: scripts; the tokenizer's learning rate and steps from its official training (the checkpoints the configs load).
PAPER_PRESETS: dict[str, TrainConfig] = {
    "faceforensics-paper": _paper("faceforensics-paper", "faces", 1e-4, 0.1, 3, 1e-4, 500_000),
    "sky-paper": _paper("sky-paper", "sky", 2e-4, 1.0, 6, 2e-4, 80_000),
    "taichi-paper": _paper("taichi-paper", "taichi", 2e-4, 1.0, 6, 1e-4, 500_000),
    # class-conditional, 101 classes; labels dropped with probability 0.2 for classifier-free guidance
    "ucf101-paper": _paper("ucf101-paper", "ucf", 1e-4, 0.1, 6, 2e-4, 427_500, num_classes=101, label_dropout=0.2),
}
PRESETS.update(PAPER_PRESETS)


#: The fields that build the tokenizer (:func:`build_tokenizer`): a DiT stage must agree with its tokenizer on them.
TOKENIZER_FIELDS = ("image_size", "tokenizer", "token_dim", "tok_width", "tok_depth", "tok_heads", "tok_patch",
                    "tok_tokens", "tok_subgrid", "l2_normalize")
#: What a resumed run may not change: the shapes of its state, its data, its seed and what it started from.
FIXED_ON_RESUME = ("dataset", "num_clips", "num_frames", "data_seed") + TOKENIZER_FIELDS + (
    "width", "depth", "heads", "mask", "num_context_tokens", "official_residual", "prediction", "num_timesteps", "seed",
    "init_from")


def first_mismatch(a: TrainConfig, b: TrainConfig, fields) -> str | None:
    """The first of ``fields`` on which configs ``a`` and ``b`` differ, or None where they agree on all."""
    return next((name for name in fields if getattr(a, name) != getattr(b, name)), None)


def resumed_config(saved: TrainConfig, given: TrainConfig) -> TrainConfig:
    """The config a resumed run continues with: ``given`` (more steps, another learning rate, another device...),
    which must agree with ``saved`` on :data:`FIXED_ON_RESUME`; ``precision="auto"`` keeps the saved choice."""
    name = first_mismatch(saved, given, FIXED_ON_RESUME)
    if name is not None:
        raise ValueError(f"cannot resume with {name}={getattr(given, name)!r}: the run was started with "
                         f"{name}={getattr(saved, name)!r}, and it fixes the run's state")
    given = replace(given, num_classes=saved.num_classes)
    return replace(given, precision=saved.precision) if given.precision == "auto" else given


def build_tokenizer(cfg: TrainConfig) -> FrameTokenizer | TiTokTokenizer:
    """The config's tokenizer (``cfg.tokenizer``), freshly initialised from torch's global generator."""
    if cfg.tokenizer == "titok":
        return TiTokTokenizer(image_size=cfg.image_size, token_dim=cfg.token_dim, num_tokens=cfg.tok_tokens,
                              width=cfg.tok_width, depth=cfg.tok_depth, heads=cfg.tok_heads, patch=cfg.tok_patch,
                              l2_normalize=cfg.l2_normalize)
    return FrameTokenizer(image_size=cfg.image_size, token_dim=cfg.token_dim, width=cfg.tok_width,
                          l2_normalize=cfg.l2_normalize, subgrid=cfg.tok_subgrid)


def build_dit(cfg: TrainConfig, num_tokens: int) -> DiT:
    """The config's DiT over ``num_tokens`` tokens per frame, freshly initialised from torch's global generator."""
    return DiT(cfg.token_dim, num_tokens, max_frames=cfg.num_frames, width=cfg.width, depth=cfg.depth,
               heads=cfg.heads, mask=cfg.mask, prediction=cfg.prediction, num_classes=cfg.num_classes,
               num_context_tokens=cfg.num_context_tokens, official_residual=cfg.official_residual)
