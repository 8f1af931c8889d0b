"""``python -m ardiff_edu plan``: what a paper-size run costs, counted by tracing one training step (notebook 10).

For a preset and a stage the networks are built at their true size on PyTorch's **meta device** (tensors with a shape
and no memory), and one training step of one per-GPU micro-batch (forward, loss, backward) is traced in bf16:

* **parameters**: counted;
* **FLOPs per step**: ``torch.utils.flop_counter.FlopCounterMode`` counts the matrix products, convolutions and
  attention of the traced step (a multiply-add is 2 FLOPs; element-wise work, the optimizer and the EMA are left
  out), times the micro-batches that make up one global batch;
* **activation memory**: the bytes of the tensors autograd keeps for the backward pass of one micro-batch, less the
  fp32 internals of the meta device's plain attention (its ``N × N`` matrices and fp32 copies of q, k, v), which the
  fused attention kernels of a GPU do not keep;
* **weights and optimizer state**: fp32 weights, gradients, AdamW's two moments and the EMA, 20 bytes per
  parameter, on every GPU (DistributedDataParallel replicates them).

GPU-hours = FLOPs per step × steps / (peak bf16 throughput × utilisation). The peaks are the vendors' datasheet
figures for dense bf16 tensor-core math; the utilisation (the share of the peak a run turns into model FLOPs) is an
assumption, 40 % unless told. Nothing here was measured on a GPU.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, fields, replace
from functools import lru_cache

import torch

from ardiff_edu.config import (PAPER_PRESETS, PRESETS, STAGES, TOKENIZER_FIELDS, TrainConfig, build_dit,
                               build_tokenizer)
from ardiff_edu.utils import check_choice, check_float, check_int

__all__ = ["GPU", "GPUS", "BYTES_PER_PARAM", "Trace", "trace_step", "plan_run", "plan_table", "format_table",
           "grad_accum_that_fits", "main"]


@dataclass(frozen=True)
class GPU:
    name: str
    tflops: float          # peak dense bf16 tensor-core TFLOP/s (datasheet)
    memory_gib: float


#: Datasheet figures: peak dense bf16 tensor-core throughput and memory (SXM parts).
GPUS = {g.name: g for g in (GPU("a100", 312, 80), GPU("l40s", 362, 48), GPU("h100", 989, 80),
                            GPU("h200", 989, 141))}
#: fp32 weights (4) + gradients (4) + AdamW's two moments (8) + the EMA (4)
BYTES_PER_PARAM = 20
GIB = 2 ** 30


@dataclass(frozen=True)
class Trace:
    """One traced training step of one micro-batch."""
    params: int
    flops: int                 # per micro-batch
    activation_bytes: int      # per micro-batch


def _arch(cfg: TrainConfig, stage: str) -> TrainConfig:
    """The part of a config that shapes a step (names, learning rates, steps... reset), so that traces are shared."""
    keep = {"num_frames", *TOKENIZER_FIELDS}
    if stage == "dit":
        keep |= {"width", "depth", "heads", "mask", "num_context_tokens", "official_residual", "prediction",
                 "num_classes"}
    return replace(TrainConfig(), **{f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name in keep})


def trace_step(cfg: TrainConfig, stage: str, micro_batch: int) -> Trace:
    """Trace one training step of ``micro_batch`` items (frames for the tokenizer, clips for the DiT) on the meta
    device: parameters, FLOPs and activation bytes (see the module docstring)."""
    check_choice("stage", stage, STAGES)
    return _trace(_arch(cfg, stage), stage, check_int("micro_batch", micro_batch, 1))


@lru_cache(maxsize=32)
def _trace(cfg: TrainConfig, stage: str, micro: int) -> Trace:
    from torch.utils.flop_counter import FlopCounterMode

    dtype, meta = torch.bfloat16, torch.device("meta")
    with meta:
        tok = build_tokenizer(cfg)
        model = tok if stage == "tokenizer" else build_dit(cfg, tok.num_tokens)
    model.to(dtype)
    params = {p.untyped_storage()._cdata for p in model.parameters()}
    if stage == "tokenizer":
        seq = getattr(tok, "grid", 1) ** 2 + tok.num_tokens if cfg.tokenizer == "titok" else None
        x = torch.zeros(micro, 3, cfg.image_size, cfg.image_size, device=meta, dtype=dtype)
        step = lambda: ((model(x).float() - x.float()) ** 2).mean()  # noqa: E731
    else:
        seq = model.num_context + cfg.num_frames * tok.num_tokens
        z = torch.zeros(micro, cfg.num_frames, tok.num_tokens, cfg.token_dim, device=meta, dtype=dtype)
        t = torch.zeros(micro, cfg.num_frames, dtype=torch.long, device=meta)
        y = None if cfg.num_classes is None else torch.zeros(micro, dtype=torch.long, device=meta)
        step = lambda: ((model.forward_frames(z, t, y)[0].float() - z.float()) ** 2).mean()  # noqa: E731
    saved: dict[int, int] = {}

    def pack(x):
        plain_attention = x.dtype == torch.float32 and x.ndim >= 3 and seq in tuple(x.shape[-2:])
        storage = x.untyped_storage()
        if storage._cdata not in params and not plain_attention:
            saved[storage._cdata] = storage.nbytes()
        return x

    with FlopCounterMode(display=False) as counter, torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        step().backward()
    return Trace(sum(p.numel() for p in model.parameters()), int(counter.get_total_flops()), sum(saved.values()))


def plan_run(cfg: TrainConfig, stage: str, gpus: int = 8, gpu: str = "h100", utilisation: float = 0.4,
             batch_size: int | None = None, grad_accum: int | None = None) -> dict:
    """The cost of one stage of ``cfg`` on ``gpus`` GPUs of kind ``gpu`` (one row of the plan table).

    The global batch is, unless ``batch_size`` says otherwise, the config's batch on every GPU (``gpus`` times the
    preset's): the official scripts fix the batch per GPU (16 × the accumulation), so the global batch grows with
    the GPUs. Train with ``--batch-size`` set to the same number."""
    check_choice("stage", stage, STAGES)
    gpus, spec = check_int("gpus", gpus, 1), GPUS[check_choice("gpu", gpu, GPUS)]
    utilisation = check_float("utilisation", utilisation, 0, 1, low_open=True)
    tok = stage == "tokenizer"
    per_gpu = cfg.tok_batch_size if tok else cfg.batch_size            # a paper preset's batch: one GPU's share
    B = per_gpu * gpus if batch_size is None else check_int("batch_size", batch_size, 1)
    accum = (cfg.tok_grad_accum if tok else cfg.grad_accum) if grad_accum is None else check_int("grad_accum",
                                                                                                 grad_accum, 1)
    if B % (gpus * accum):
        raise ValueError(f"the global batch {B} must be a multiple of gpus × grad_accum = {gpus} × {accum}: pass "
                         f"--batch-size or --grad-accum "
                         f"(e.g. --batch-size {gpus * accum * max(1, B // (gpus * accum))})")
    micro = B // (gpus * accum)
    tr = trace_step(cfg, stage, micro)
    steps = cfg.tok_steps if tok else cfg.steps
    flops_step = tr.flops * gpus * accum
    gpu_hours = flops_step * steps / (spec.tflops * 1e12 * utilisation) / 3600
    state = tr.params * BYTES_PER_PARAM
    return {"preset": cfg.name, "stage": stage, "params": tr.params, "batch": B, "grad_accum": accum,
            "micro_batch": micro, "flops_per_step": flops_step, "steps": steps,
            "activation_gib": tr.activation_bytes / GIB, "state_gib": state / GIB,
            "gib_per_gpu": (tr.activation_bytes + state) / GIB, "gpu_memory_gib": spec.memory_gib,
            "fits": tr.activation_bytes + state <= spec.memory_gib * GIB, "gpu_hours": gpu_hours,
            "days": gpu_hours / gpus / 24, "gpus": gpus, "gpu": gpu, "utilisation": utilisation}


def plan_table(names=None, **kw) -> list[dict]:
    """Rows of :func:`plan_run` for both stages of every preset in ``names`` (default: the four paper presets)."""
    names = list(PAPER_PRESETS) if names is None else list(names)
    return [plan_run(PRESETS[check_choice("preset", n, PRESETS)], stage, **kw) for n in names for stage in STAGES]


def _num(x: float) -> str:
    """Three significant digits, thousands separated (``1,328``, ``93.2``, ``0.0417``)."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def format_table(rows: list[dict]) -> str:
    """The plan as a fixed-width text table."""
    head = ("preset", "stage", "params (M)", "batch", "micro/GPU", "TFLOP/step", "steps", "act GiB", "state GiB",
            "GiB/GPU", "GPU-hours", "days")
    lines = []
    for r in rows:
        lines.append((r["preset"], r["stage"], _num(r["params"] / 1e6), str(r["batch"]),
                      f"{r['micro_batch']} x {r['grad_accum']}", _num(r["flops_per_step"] / 1e12),
                      f"{r['steps']:,}", _num(r["activation_gib"]), _num(r["state_gib"]),
                      _num(r["gib_per_gpu"]) + ("" if r["fits"] else " (!)"), _num(r["gpu_hours"]),
                      _num(r["days"])))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w)  # noqa: E731
                                  for i, (c, w) in enumerate(zip(cells, widths)))
    r0 = rows[0]
    spec = GPUS[r0["gpu"]]
    title = (f"compute plan: {r0['gpus']} x {spec.name} ({spec.tflops:g} TFLOP/s dense bf16 peak, "
             f"{spec.memory_gib:g} GiB) at {r0['utilisation']:.0%} utilisation, one step traced on the meta device\n"
             f"batch: the global batch, frames (tokenizer) or clips (dit), = the official per-GPU batch x "
             f"{r0['gpus']} GPUs; (!): does not fit in one GPU")
    return "\n".join([title, fmt(head)] + [fmt(line) for line in lines])


def grad_accum_that_fits(global_batch: int, gpus: int, activation_bytes_per_item: float, free_bytes: float) -> int:
    """The smallest gradient accumulation ``k`` that divides the per-GPU batch ``global_batch / gpus`` and whose
    micro-batch's activations (``per_gpu / k`` items) fit in ``free_bytes``; ``ValueError`` if even one item does
    not fit."""
    per_gpu = check_int("global_batch", global_batch, 1) // check_int("gpus", gpus, 1)
    if global_batch % gpus:
        raise ValueError(f"global_batch={global_batch} must be a multiple of gpus={gpus}")
    for k in range(1, per_gpu + 1):
        if per_gpu % k == 0 and per_gpu // k * activation_bytes_per_item <= free_bytes:
            return k
    raise ValueError(f"one item needs {activation_bytes_per_item / GIB:.2f} GiB of activations, more than the "
                     f"{free_bytes / GIB:.2f} GiB left: use more memory-frugal training (checkpointing, sharding)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ardiff_edu plan",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                description="Parameters, FLOPs per training step, memory per GPU and GPU-hours of "
                                            "a preset's official schedule, from one step traced on the meta device.")
    p.add_argument("--preset", action="append", choices=sorted(PRESETS),
                   help="a preset (repeatable; default: the four paper presets)")
    p.add_argument("--gpus", type=int, default=8, help="GPUs sharing each global batch")
    p.add_argument("--gpu", default="h100", choices=sorted(GPUS), help="GPU kind (datasheet peak and memory)")
    p.add_argument("--utilisation", type=float, default=0.4, help="share of the peak turned into model FLOPs")
    p.add_argument("--batch-size", type=int, help="global batch (default: the preset's)")
    p.add_argument("--grad-accum", type=int, help="micro-batches per GPU and step (default: the preset's)")
    a = p.parse_args(argv)
    try:
        rows = plan_table(a.preset, gpus=a.gpus, gpu=a.gpu, utilisation=a.utilisation, batch_size=a.batch_size,
                          grad_accum=a.grad_accum)
    except ValueError as err:
        print(f"plan: error: {err}", file=sys.stderr)
        return 1
    print(format_table(rows))
    total = sum(r["gpu_hours"] for r in rows)
    print(f"total: {_num(total)} GPU-hours, {_num(total / a.gpus / 24)} days on {a.gpus} GPUs")
    return 0
