"""Fine-tuning: a DiT run that starts from an exported checkpoint (``train --init-from FILE``) instead of random
weights, for example to train the shipped model further under another recipe for a few thousand steps.

The DiT learned the latent space of one tokenizer, so a fine-tune takes that tokenizer too: the export's tokenizer is
installed in the run directory as a finished tokenizer stage (``out/tokenizer.pt``), and the export's DiT weights (its
EMA) become the starting weights of both the trained model and its EMA. The optimizer, the learning-rate schedule
and the random generators start afresh, from the run's own config. An export holds fp16 weights, so the run starts from
those rounded weights and recomputes its latent statistics with the rounded tokenizer.

A fine-tune keeps the architecture (every field of :data:`ARCHITECTURE`) with one exception: it may **grow the
depth** (``--depth`` larger than the export's). The export's blocks keep their weights and places; the new blocks are
appended after them, freshly initialised. Their adaLN-Zero gates start at 0, so each new block starts as the identity
and the grown network computes exactly the function of the export (a test checks it): training starts from the
export's model with more room to improve it. The data, the seed and the whole training recipe are the run's own.
"""

from __future__ import annotations

import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu import distributed as dist
from ardiff_edu.config import FIXED_ON_RESUME, TrainConfig, build_tokenizer, first_mismatch

__all__ = ["ARCHITECTURE", "load_init", "install_tokenizer", "load_dit"]

#: What a fine-tune must share with the checkpoint it starts from: the shapes of the tokenizer and of the DiT.
ARCHITECTURE = tuple(f for f in FIXED_ON_RESUME if f not in ("dataset", "num_clips", "data_seed", "seed", "init_from"))


def load_init(path, cfg: TrainConfig) -> dict:
    """The exported checkpoint at ``path``, checked against the run's config ``cfg`` (:data:`ARCHITECTURE`)."""
    ck = ckpt.load_file(path)
    if ck["format"] != ckpt.EXPORT_FORMAT:
        raise ValueError(f"init_from={str(path)!r} is a run checkpoint, not an exported one: --resume continues a "
                         f"run; to start a new one from it, export it first (train --export RUN --to FILE)")
    init = TrainConfig.from_dict(ck["config"])
    if cfg.depth < init.depth:
        raise ValueError(f"cannot start from {str(path)!r} with depth={cfg.depth}: it has {init.depth} blocks; a "
                         f"fine-tune can add blocks (depth >= {init.depth}), not remove them")
    name = first_mismatch(init, cfg, [f for f in ARCHITECTURE if f != "depth"])
    if name is not None:
        raise ValueError(f"cannot start from {str(path)!r}: it was trained with {name}={getattr(init, name)!r} "
                         f"and this run has {name}={getattr(cfg, name)!r}; a fine-tune keeps the architecture "
                         f"({', '.join(ARCHITECTURE)})")
    return ck


def install_tokenizer(cfg: TrainConfig, out, rank: int = 0) -> dict:
    """Write the export's tokenizer as the finished tokenizer stage of run ``out`` (rank 0; fp32 copies of its fp16
    EMA weights), or check that the tokenizer already there is that one; returns the export."""
    ck = load_init(cfg.init_from, cfg)
    path = ckpt.checkpoint_path(out, "tokenizer")
    weights = _fp32(ck["tokenizer"])
    if rank == 0 and not path.exists():
        with torch.random.fork_rng(devices=[]):          # the DiT's initial draws do not depend on this
            tok = build_tokenizer(TrainConfig.from_dict(ck["config"]))
        tok.load_state_dict(weights)
        opt = torch.optim.AdamW(tok.parameters(), lr=cfg.tok_lr)
        ckpt.save_state(path, stage="tokenizer", config=ck["config"], step=ck["meta"]["tokenizer_steps"], model=tok,
                        ema=tok, optimizer=opt, generators=ckpt.make_generators(cfg.seed))
    dist.barrier()
    have = ckpt.load_file(path)["ema"]
    if have.keys() != weights.keys() or any(not torch.equal(have[k].float(), weights[k]) for k in have):
        raise ValueError(f"{path} holds another tokenizer than init_from={str(cfg.init_from)!r}: a fine-tune needs "
                         f"the tokenizer its DiT was trained on; use a new --out")
    return ck


def load_dit(model: torch.nn.Module, ck: dict) -> None:
    """Load the export's DiT (EMA) weights, in fp32, into the freshly built ``model`` of the run.

    A model deeper than the export keeps its own fresh blocks ``depth_export, ..., depth - 1`` (identity at the start,
    see the module's docstring); every other weight must come from the export."""
    first_new = TrainConfig.from_dict(ck["config"]).depth
    missing, unexpected = model.load_state_dict(_fp32(ck["dit"]), strict=False)
    new = [k for k in missing if k.startswith("blocks.") and int(k.split(".")[1]) >= first_new]
    if unexpected or len(new) != len(missing):
        raise ValueError(f"the export's DiT does not fit the run's: unexpected {unexpected}, missing "
                         f"{sorted(set(missing) - set(new))}")


def _fp32(state: dict) -> dict[str, torch.Tensor]:
    """An export's fp16 state dict as fp32 (integer buffers as they are)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}

