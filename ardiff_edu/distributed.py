"""Many processes, one training run: PyTorch's DistributedDataParallel behind three small helpers (notebook 10).

``torchrun --nproc-per-node N -m ardiff_edu train ...`` starts ``N`` copies of the trainer with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and a rendezvous address in their environment. :func:`setup` joins them into one
process group (gloo on the CPU, NCCL on CUDA). Every process then draws the same **global** batch from the same
seeded generators and keeps its own slice (:func:`rank_slice`); DDP averages the gradients, so a step equals the
step one process would take on the whole batch, up to the order of float sums. Only rank 0 writes files.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["setup", "world", "rank_slice", "all_reduce_sum", "any_rank", "cleanup"]


def world() -> tuple[int, int]:
    """``(rank, world_size)``: ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def setup(device: torch.device) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in the environment (no-op for one process)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return world()
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return world()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_slice(global_batch: int, rank: int, world_size: int) -> slice:
    """The rows of a global batch that process ``rank`` trains on (contiguous, equal sizes)."""
    if global_batch % world_size:
        raise ValueError(f"the global batch size must be divisible by the number of processes "
                         f"(world size {world_size}), got {global_batch}")
    n = global_batch // world_size
    return slice(rank * n, (rank + 1) * n)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of ``t`` over every process (``t`` itself for one process)."""
    if world()[1] > 1:
        t = t.clone()
        dist.all_reduce(t)
    return t


def any_rank(flag: bool, device) -> int:
    """The lowest rank where ``flag`` is true, or -1 if it is true nowhere (every process must call it)."""
    rank, size = world()
    if size == 1:
        return 0 if flag else -1
    x = torch.tensor([rank if flag else size], device=device)
    dist.all_reduce(x, op=dist.ReduceOp.MIN)
    return int(x) if int(x) < size else -1
