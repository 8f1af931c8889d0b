"""Many processes, one training run: PyTorch's DistributedDataParallel behind a few small helpers (notebook 10).

``torchrun --nproc-per-node N -m ardiff_edu train ...`` starts ``N`` copies of the trainer with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and a rendezvous address in their environment (``--nnodes``, ``--rdzv-endpoint``:
several machines). :func:`setup` joins them into one process group (gloo on the CPU, NCCL on CUDA). Every process
then draws the same **global** batch from the same seeded generators and keeps its rows (:func:`rank_rows`); DDP
averages the gradients, so a step equals the step one process would take on the whole batch, up to the order of float
sums. Only rank 0 writes files.

The rows of process ``r`` out of ``W`` are ``r, r + W, r + 2W, ...``: interleaved, the order in which PyTorch's
``DistributedSampler`` deals a shuffled epoch out to the processes, so that a run streaming from a cache
(:mod:`ardiff_edu.loaders`) puts the same clip, timesteps and noise together as one process would.
"""

from __future__ import annotations

import os
import warnings

import torch
import torch.distributed as dist

__all__ = ["setup", "world", "rank_rows", "all_reduce_sum", "any_rank", "from_rank0", "barrier", "cleanup"]


def world() -> tuple[int, int]:
    """``(rank, world_size)``: ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


#: torchrun's agent keeps one rendezvous store across the restarts of ``--max-restarts`` unless this is "1", and a
#: restarted process group can then read the addresses of the processes that died (PyTorch issue #135712)
FRESH_STORE = "TORCH_DISABLE_SHARE_RDZV_TCP_STORE"


def setup(device: torch.device) -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in the environment (no-op for one process)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return world()
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if (os.environ.get("RANK") == "0" and int(os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0")) > 0
            and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"):
        warnings.warn(f"torchrun --max-restarts shares one rendezvous store between attempts, and a restarted job "
                      f"may fail to connect: export {FRESH_STORE}=1 before torchrun", stacklevel=2)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return world()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_rows(global_batch: int, rank: int, world_size: int) -> slice:
    """The rows of a global batch that process ``rank`` trains on: ``rank, rank + W, ...`` (``W = world_size``)."""
    if global_batch % world_size:
        ok = ", ".join(str(world_size * k) for k in range(1, 4))
        raise ValueError(f"the global batch size must be a multiple of the number of processes (world size "
                         f"{world_size}: {ok}, ...), got {global_batch}")
    return slice(rank, global_batch, world_size)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of ``t`` over every process (``t`` itself for one process)."""
    if world()[1] > 1:
        x = t.to("cuda", copy=True) if dist.get_backend() == "nccl" else t.clone()   # NCCL reduces CUDA tensors
        dist.all_reduce(x)
        t = x.to(t.device)
    return t


def any_rank(flag: bool, device) -> int:
    """The lowest rank where ``flag`` is true, or -1 if it is true nowhere (every process must call it)."""
    rank, size = world()
    if size == 1:
        return 0 if flag else -1
    x = torch.tensor([rank if flag else size], device=device)
    dist.all_reduce(x, op=dist.ReduceOp.MIN)
    return int(x) if int(x) < size else -1


def from_rank0(value: int, device) -> int:
    """Rank 0's integer ``value`` on every process (``value`` itself for one process)."""
    if world()[1] == 1:
        return value
    x = torch.tensor([value], device=device)
    dist.broadcast(x, src=0)
    return int(x)


def barrier() -> None:
    """Wait until every process gets here (no-op for one process)."""
    if world()[1] > 1:
        dist.barrier()
