# %% [markdown]
# # 10 · Full benchmarks at scale: the paper's data sets, many processes, faults and what it costs
#
# Notebooks 05–08 trained AR-Diffusion on 32×32 toy clips held in memory, in one process on two CPU cores. The paper
# trains on four real benchmarks (UCF-101, Sky-Timelapse, Taichi-HD, FaceForensics) at 256×256, with a ViT-L
# tokenizer and a DiT-XL-sized backbone, on many GPUs. The training step is the same; what changes is everything
# around it. This notebook shows that machinery, all of it running here on small fake data:
#
# 1. the four **benchmark layouts** and `prepare`, which caches them as uint8 clip shards;
# 2. the **paper presets**: the official setup of each benchmark, built at full size on the meta device;
# 3. **many processes, one run**: how a global batch is shared, and a 2-process run launched from here that ends
#    with the weights of a 1-process run;
# 4. **streaming** from a cache, and resuming with another number of processes;
# 5. **faults**: a killed process, a NaN;
# 6. **what it costs**: the compute plan of the four presets;
# 7. **launching on a cluster**.
#
# Everything here runs on the CPU. Nothing in this notebook was measured on a GPU.

# %%
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu import distributed as dist
from ardiff_edu import loaders, plan
from ardiff_edu.checkpoint import read_log
from ardiff_edu.data import CachedClips, make_example_tree, prepare
from ardiff_edu.figures import integer_ticks
from ardiff_edu.train import PAPER_PRESETS, PRESETS, build_dit, build_tokenizer, preflight, train
from ardiff_edu.utils import REPO_ROOT, seed_all
from ardiff_edu.video import show_grid

seed_all(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})
tmp = Path(tempfile.mkdtemp(prefix="nb10-"))

# %% [markdown]
# ## 1. Four benchmarks, four layouts, one cache
#
# Each benchmark is published in its own folder layout: UCF-101 as `.avi` files in one folder per class with
# official split lists, Sky-Timelapse as folders of `.jpg` frames (one extra nesting level in the training set),
# Taichi-HD as `.mp4` files or folders of `.png` frames, FaceForensics as `.mp4` files. The data sets cannot be
# downloaded here, so `make_example_tree` writes tiny trees in each layout, with real encoded files. `prepare` reads
# any of them, resizes the short side, centre-crops a square and cuts clips of `F` frames every `stride` frames into
# memory-mappable uint8 shards plus an `index.json`.

# %%
BENCHES = ("ucf101", "sky", "taichi", "faces")
caches = {}
for bench in BENCHES:
    root = make_example_tree(bench, tmp / "trees" / bench, videos_per_split=1 if bench == "ucf101" else 2,
                             num_frames=20, size=40)
    files = sorted(str(p.relative_to(tmp / "trees" / bench)) for p in (tmp / "trees" / bench).rglob("*")
                   if p.is_file())
    caches[bench] = prepare(bench, root, tmp / "caches" / bench, size=32, num_frames=8, stride=4, progress=False)
    info = CachedClips(caches[bench]).info
    print(f"{bench:7s} {len(files):3d} files, e.g. {files[0]:45s} -> {len(info['videos'])} training videos, "
          f"{info['num_clips']:2d} clips of {info['num_frames']}x{info['size']}x{info['size']}, "
          f"classes: {len(info['class_names']) if info['class_names'] else '-'}")

# %%
fig = show_grid([CachedClips(caches[b]).uint8(0) for b in BENCHES], max_frames=8, row_titles=list(BENCHES),
                title="the first cached clip of each fake benchmark (8 frames, 32x32)")
plt.show()

# %% [markdown]
# A run checks the cache against what it needs **before it writes anything**: the data set, the frame size and the
# clip length. The paper presets train on 16-frame 256×256 clips, so the 32×32 cache above is refused by name:

# %%
cfg = replace(PRESETS["ucf101-paper"], cache=str(caches["ucf101"]), device="cpu")
try:
    preflight(cfg, "tokenizer")
except ValueError as err:
    message = str(err)
print(message.replace(str(tmp), "<tmp>"))
assert "holds 32x32 frames (prepare --size 32); this run needs image_size=256" in message

# %% [markdown]
# ## 2. The paper presets
#
# `PRESETS` holds one configuration per benchmark at the size of the paper, taken from the official training
# scripts and configs (`shell_scripts/stage2_ardiff_scripts/<data>_gen/train_base_script.sh` and `configs/` of
# iva-mzsun/AR-Diffusion, commit 7a37b94): 16-frame 256×256 clips; a TiTok-style tokenizer (a ViT-L/16 whose 32
# learned latent tokens × 4 channels carry each frame); a DiT with depth 28, width 1152, 16 heads, 77 context tokens
# and the official `leaky` mask; x0-prediction, FoPP timesteps, AdamW at a constant learning rate, EMA 0.9999, 100k
# steps, bf16 on CUDA. The data sets differ in the learning rate, the gradient clip and the gradient accumulation;
# UCF-101 is class-conditional.

# %%
print(f"{'preset':20s} {'lr':>7s} {'clip':>5s} {'accum':>5s} {'batch':>5s} {'tok steps':>9s} {'classes':>7s}")
for name, c in PAPER_PRESETS.items():
    print(f"{name:20s} {c.lr:7.0e} {c.grad_clip:5.1f} {c.grad_accum:5d} {c.batch_size:5d} {c.tok_steps:9,d} "
          f"{c.num_classes or '-':>7}")
    assert (c.image_size, c.num_frames, c.tok_tokens, c.token_dim, c.depth, c.width) == (256, 16, 32, 4, 28, 1152)

# %% [markdown]
# > **Paper vs code: the global batch.** The official scripts fix the batch per GPU: 16 clips times the gradient
# > accumulation (6, or 3 for FaceForensics), and the number of GPUs is not stated, so neither is the global batch.
# > A paper preset's `batch_size` is one GPU's share (96, or 48); on `N` GPUs pass `--batch-size` = `N` times that to
# > follow the official recipe (`python -m ardiff_edu plan` does so). Our `--batch-size` is always the global batch.
#
# > **Paper vs code: the precision.** The official scripts train in fp16 mixed precision (`--mixed_precision="fp16"`
# > with accelerate) and keep the EMA on the CPU; the paper presets use bf16 autocast, which needs no loss scaling,
# > and keep the EMA next to the weights.
#
# > **Paper vs code: the tokenizer.** The official tokenizer is a TiTok ViT-L/16 with a class token, a KL head of
# > weight 0 and a MaskGIT-VQGAN pixel decoder behind its transformer, trained from the public TiTok-L-32 weights on an
# > L1 + LPIPS + GAN loss, on frames drawn from the videos. Ours (`ardiff_edu.models.titok.TiTokTokenizer`) has the
# > same encoder and latent shape, no class token, reads the pixels off the decoder's patch tokens with one linear
# > layer, trains from scratch on the plain MSE, on frames of the 16-frame clip cache.
#
# A network at this size does not fit in a notebook's memory budget, but its **shape** does: on PyTorch's `meta`
# device tensors have a shape and no data, so the full models can be built and counted for free.

# %%
with torch.device("meta"):
    tok = build_tokenizer(PRESETS["sky-paper"])
    dit = build_dit(PRESETS["sky-paper"], tok.num_tokens)
    ucf = build_dit(PRESETS["ucf101-paper"], tok.num_tokens)
count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
print(f"tokenizer {count(tok) / 1e6:.1f} M parameters (ViT-L/16 encoder and decoder, {tok.num_tokens} tokens x "
      f"{tok.token_dim} channels per frame)")
print(f"DiT {count(dit) / 1e6:.1f} M (class-conditional UCF-101: {count(ucf) / 1e6:.1f} M), sequence "
      f"{dit.num_context} context + 16 x 32 video tokens = {dit.num_context + 16 * 32}")
assert 660e6 < count(dit) < 690e6          # the official backbone has about 672 M

# %% [markdown]
# ## 3. Many processes, one run
#
# `torchrun --nproc-per-node N -m ardiff_edu train ...` starts `N` copies of the trainer and PyTorch's
# DistributedDataParallel (DDP) joins them: gloo on CPUs, NCCL on GPUs. `--batch-size` stays the **global** batch.
# Every process draws the same global batch from the same seeded generators (the clips, the per-frame timesteps, the
# noise) and keeps its **rows**: process `r` of `W` takes rows `r, r + W, r + 2W, ...`. After the backward pass DDP
# averages the gradients over the processes, so each step is the step one process would take on the whole batch,
# up to the order in which floats are summed.
#
# Why every `W`-th row instead of a block? A run on a benchmark cache reads its clips through PyTorch's
# `DistributedSampler`, which shuffles each epoch once and deals the clips out to the processes like cards. The
# global batch of step `k` is then positions `kB … kB + B − 1` of the shuffled epoch for **any** `W`, with process
# `r` holding positions `kB + r, kB + r + W, …`. The rows of the timesteps and noise must follow the same pattern.

# %%
data = torch.arange(23)                               # 23 clips, global batch 6: 3 steps per epoch
B = 6


def global_batches(world_size, steps=5, first_step=0):
    """The clips of each global batch, every process's share put back in its rows."""
    streams = [loaders.batches(data, B, r, world_size, seed=1, step=first_step) for r in range(world_size)]
    out, owner = [], []
    for _ in range(steps):
        rows, who = torch.empty(B, dtype=torch.long), torch.empty(B, dtype=torch.long)
        for r, s in enumerate(streams):
            rows[dist.rank_rows(B, r, world_size)] = next(s)
            who[dist.rank_rows(B, r, world_size)] = r
        out.append(rows.tolist())
        owner.append(who.tolist())
    return out, owner


batches = {W: global_batches(W) for W in (1, 2, 3)}
assert batches[1][0] == batches[2][0] == batches[3][0]          # the same clips in the same rows for any W
assert global_batches(2, 2, first_step=3)[0] == batches[1][0][3:]   # a resume at step 3, with any W
print("global batches, W = 1, 2 or 3:", batches[1][0][:4], "...")

colours = plt.matplotlib.colors.ListedColormap(["#fc8d62", "#a6d854", "#e5c494"])
fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.2), sharey=True, layout="constrained")
for ax, (W, (clips, owner)) in zip(axes, batches.items()):
    im = ax.imshow(np.array(owner).T, cmap=colours, vmin=-0.5, vmax=2.5, aspect="auto")
    for step, row in np.ndindex(len(clips), B):
        ax.text(step, row, clips[step][row], ha="center", va="center", fontsize=9)
    ax.set_title(f"W = {W} process{'es' if W > 1 else ''}")
    ax.set_xlabel("step")
    integer_ticks(ax)
axes[0].set_ylabel("row of the global batch")
cb = fig.colorbar(im, ax=axes, ticks=[0, 1, 2], fraction=0.03)
cb.set_label("process (rank)")
fig.suptitle("which process trains on which clip: the clip indices (numbers) are the same for every W")
plt.show()

# %% [markdown]
# ### A 2-process run, launched from here
#
# This runs both stages of the `balls-smoke` preset for 6 steps on 2 processes (gloo on this CPU), exactly as on a
# cluster (§5): `--max-restarts 1` with `--resume`, so that if a process dies torchrun starts both again and they
# continue from the last checkpoint. `--log-dir` with `--redirects 3` writes each process's output to its own file
# (`<log dir>/<job>/attempt_0/<rank>/stderr.log`): when a process fails, its own error is there, not only torchrun's
# summary of it.

# %%
two, two_logs = tmp / "two", tmp / "two-logs"
cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "--max-restarts", "1",
       "--log-dir", str(two_logs), "--redirects", "3",
       "-m", "ardiff_edu", "train", "--preset", "balls-smoke", "--stage", "all", "--steps", "6", "--ckpt-every", "3",
       "--out", str(two), "--resume", "--no-progress"]
env = {**os.environ, "OMP_NUM_THREADS": "1", "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}
res = subprocess.run(cmd, capture_output=True, text=True, env=env)
rank_errors = "".join(f"\n--- {p.relative_to(two_logs)}:\n{p.read_text()[-1500:]}"
                      for p in sorted(two_logs.rglob("stderr.log")))
assert res.returncode == 0, res.stderr[-1000:] + rank_errors
assert len(list(two_logs.rglob("attempt_0/*/stderr.log"))) == 2       # one file per process
for rec in read_log(two / "dit.jsonl"):
    print(f"DiT step {rec['step']}: loss {rec['loss']:.3f}, gradient norm {rec['grad_norm']:.2f}, "
          f"world size {rec['world_size']}")
assert torch.load(two / "dit.pt", weights_only=False)["world_size"] == 2

# %% [markdown]
# The same run in this process, with the same global batch and seed:

# %%
one = tmp / "one"
cfg = replace(PRESETS["balls-smoke"], tok_steps=6, steps=6, ckpt_every=3)
for stage in ("tokenizer", "dit"):
    train(cfg, one, stage, progress=False)
for stage in ("tokenizer", "dit"):
    a, b = (torch.load(d / f"{stage}.pt", weights_only=False)["model"] for d in (one, two))
    diff = max((a[k] - b[k]).abs().max().item() for k in a)
    same_bits = all(torch.equal(a[k], b[k]) for k in a)
    print(f"{stage}: 2 processes vs 1, largest weight difference below 1e-5: {diff < 1e-5}; bit-identical: "
          f"{same_bits}")
    assert diff < 1e-5 and not same_bits      # the same steps, the floats summed in another order

# %% [markdown]
# What each process computed is in the run: rank 0 alone wrote the log and the checkpoints (atomically), and both
# record the world size. A global batch that the processes cannot share evenly is refused before anything is
# written, naming the values that work:

# %%
try:
    preflight(replace(cfg, batch_size=6), "dit", world_size=4)
except ValueError as err:
    print(err)
    assert "must be a multiple of the world size 4" in str(err)

# %% [markdown]
# ## 4. Streaming from a cache
#
# A real benchmark does not fit in memory, so a run on a cache (`--data`) streams it through a `DataLoader` with
# worker processes. The tokenizer stage reads single frames of the clip cache. The DiT stage first encodes every clip
# once with the trained tokenizer into **latent shards** (float16 `(n, F, L, C)` files and their per-channel mean
# and std, each process encoding its share) and reads those. Resuming needs no saved loader state: step `k` of an
# epoch of `N` items with global batch `B` starts at `(k mod ⌊N/B⌋) · B/W` in each process's share of the epoch
# `⌊k / ⌊N/B⌋⌋`. Here the toy `ucf` preset on the UCF-101 cache of §1:

# %%
stream_cfg = replace(PRESETS["ucf"], cache=str(caches["ucf101"]), num_frames=8, token_dim=4, tok_width=8,
                     tok_steps=3, tok_batch_size=8, width=32, depth=1, heads=2, steps=3, batch_size=4,
                     precision="fp32", workers=1)
for stage in ("tokenizer", "dit"):
    res_stream = train(stream_cfg, tmp / "stream", stage, progress=False)
shards = loaders.LatentShards(tmp / "stream" / "latents")
z, label = shards[0]
print(f"{len(shards)} clips encoded to shards of {tuple(z.shape)} latents, labels of "
      f"{len(shards.info['class_names'])} classes; the DiT is class-conditional: {res_stream['model'].num_classes}")
print("a run resumed at step 7 of 23 items, global batch 4, on 2 processes starts at (epoch, start) =",
      loaders.sampler_position(7, 23, 4, 2))

# %% [markdown]
# > **Paper vs code: the latents.** The official pipeline scales the tokenizer's latents by 0.5 and L2-normalises
# > every token, and the DiT trains on those. Our paper presets L2-normalise the tokens too (inside the tokenizer),
# > then standardise every channel with the mean and std stored with the shards, as the toy presets do.

# %% [markdown]
# ## 5. Faults
#
# On hundreds of GPUs something fails every few days. Two kinds of failure are handled:
#
# * **A process dies** (SIGKILL, a lost node). Started with `torchrun --max-restarts K`, the job stops the other
#   processes and starts them all again; `--resume` makes them continue from the last checkpoint, which holds the
#   weights, the EMA, the optimizer and the state of the three random generators. The restarted run ends with the
#   **same weights** as an uninterrupted one (the tests kill a process in the middle of a step and check it bit for
#   bit). A fresh run writes its initial state at step 0, so even an early death restarts from the same weights.
# * **A NaN on one process.** After every micro-batch the processes agree, with one all-reduce, on the lowest rank
#   whose loss is not finite; all of them stop together with that rank in the message, and nothing is saved: the
#   last checkpoint on disk is the last good state.
#
# The command a cluster runs is therefore always
# `TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 torchrun --max-restarts 3 ... -m ardiff_edu train ... --resume` (§7 says
# why the variable).

# %% [markdown]
# ## 6. What it costs
#
# `python -m ardiff_edu plan` builds both networks of a preset on the meta device and traces one training step of
# one per-GPU micro-batch in bf16: `torch.utils.flop_counter` counts its matrix-product and attention FLOPs, and a
# hook on autograd's saved tensors measures the activations kept for the backward pass. With fp32 weights,
# gradients, AdamW's two moments and the EMA (20 bytes per parameter on every GPU), that gives the memory per GPU;
# with a GPU's datasheet peak and an assumed utilisation, the GPU-hours of the official schedule. The global batch
# follows the official per-GPU batch (16 clips × the accumulation) on 8 GPUs.

# %%
rows = {gpu: plan.plan_table(gpus=8, gpu=gpu) for gpu in ("a100", "h100")}
print(plan.format_table(rows["h100"]))
sky_dit = next(r for r in rows["h100"] if r["preset"] == "sky-paper" and r["stage"] == "dit")
assert sky_dit["micro_batch"] == 16 and sky_dit["fits"]

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
names = list(PAPER_PRESETS)
x = np.arange(len(names))
for k, (gpu, colour) in enumerate([("a100", "tab:blue"), ("h100", "tab:orange")]):
    hours = {st: np.array([next(r["gpu_hours"] for r in rows[gpu] if r["preset"] == n and r["stage"] == st)
                           for n in names]) for st in ("tokenizer", "dit")}
    ax1.bar(x + (k - 0.5) * 0.38, hours["tokenizer"], 0.36, color=colour, alpha=0.45,
            label=f"{gpu}: tokenizer")
    ax1.bar(x + (k - 0.5) * 0.38, hours["dit"], 0.36, bottom=hours["tokenizer"], color=colour,
            label=f"{gpu}: DiT")
ax1.set_xticks(x, [n.replace("-paper", "") for n in names])
ax1.set_ylabel("GPU-hours (40 % utilisation)")
ax1.set_title("GPU-hours of the official schedule, 8 GPUs")
ax1.set_ylim(0, ax1.get_ylim()[1] * 1.3)
ax1.legend(fontsize=9, ncols=2, loc="upper left")
mem = [(r["stage"], r["state_gib"], r["activation_gib"]) for r in rows["h100"] if r["preset"] == "sky-paper"]
for i, (stage, state, act) in enumerate(mem):
    ax2.bar(i, state, 0.5, color="tab:gray", label="weights, gradients, AdamW, EMA" if i == 0 else None)
    ax2.bar(i, act, 0.5, bottom=state, color="tab:green", label="activations (16 per micro-batch)" if i == 0 else None)
ax2.axhline(80, color="k", ls="--", lw=1)
ax2.text(1.25, 78, "80 GiB: one A100 or H100", ha="right", va="top", fontsize=9)
ax2.set_xticks([0, 1], ["tokenizer (32 frames/GPU)", "DiT (96 clips/GPU)"])
ax2.set_ylim(0, 100)
ax2.set_ylabel("GiB per GPU")
ax2.set_title("memory per GPU, sky-paper")
ax2.legend(fontsize=9, loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# Reading the plan: a step of the DiT on 768 clips is about 1.3 PFLOP, and 100k of them take on the order of a
# hundred H100-hours per data set at 40 % utilisation; the tokenizers, trained for up to 500k steps, cost as much
# again. Memory is not the problem at this size: weights and optimizer state take about 12 GiB, and 16 clips of
# activations fit next to them, so plain DDP (every GPU holding everything) works without sharding.
#
# > **Paper vs code: the schedule.** The official runs continue the DiT for another 50k steps at a learning rate of
# > 1e-5 with an accumulation of 8 (`finetune_base_script.sh` next to the training scripts); the presets and the plan
# > stop at the main 100k steps.

# %% [markdown]
# ## 7. Launching on a cluster
#
# One machine with 8 GPUs:
#
# ```
# torchrun --standalone --nproc-per-node 8 -m ardiff_edu train --preset sky-paper --data /shared/cache/sky256 \
#     --stage dit --batch-size 768 --out runs/sky-paper --resume
# ```
#
# Several machines: the same command on every node, with a rendezvous they all reach and restarts on failure (the
# variable gives every restart a fresh rendezvous store, see `docs/cluster.md`):
#
# ```
# export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1
# torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint node001:29500 --rdzv-id sky1 \
#     --max-restarts 3 -m ardiff_edu train --preset sky-paper --data /shared/cache/sky256 --stage dit \
#     --batch-size 3072 --out /shared/runs/sky-paper --resume
# ```
#
# The cache and the run folder must be on a filesystem every node sees. `docs/cluster.md` is the checklist, and
# `docs/slurm_train.sh` does both stages and the export under SLURM:

# %%
script = (REPO_ROOT / "docs" / "slurm_train.sh").read_text()
print("\n".join(line for line in script.splitlines() if line.startswith(("#SBATCH", "run ", "    srun", "        -"))))

# %% [markdown]
# On CUDA (`--device cuda`, the paper presets' default) the run uses bf16 autocast, TF32 matrix products, PyTorch's
# fused attention, optionally `torch.compile` (`--compile`), and pinned-memory loaders with `--workers` processes per
# GPU. This machine has no GPU, and a CUDA request is refused before anything is written:

# %% tags=["nbval-ignore-output"]
try:
    preflight(PRESETS["sky-paper"], "dit")
    print("CUDA is available here:", torch.cuda.get_device_name())
except ValueError as err:
    print(err)
    assert not torch.cuda.is_available() and "device='cuda' was requested" in str(err)

# %% [markdown]
# ## 8. Exercises
#
# ### Exercise 1
#
# Write `rows_of(global_batch, rank, world_size)`: the list of row indices of the global batch that process `rank`
# trains on, the way `DistributedSampler` deals clips (§3). It must raise `ValueError` when the batch cannot be
# shared evenly. What goes wrong if each process took a contiguous block instead, while streaming from a cache?

# %%
from ardiff_edu.exercises.nb10 import check_grad_accum_that_fits, check_rank_rows, check_sampler_position


def rows_of(global_batch, rank, world_size):
    raise NotImplementedError("every world_size-th row, starting at rank")

# check_rank_rows(rows_of)

# %% tags=["solution"] jupyter={"source_hidden": true}
def rows_of(global_batch, rank, world_size):
    if global_batch % world_size:
        raise ValueError(f"a global batch of {global_batch} cannot be shared by {world_size} processes")
    return list(range(rank, global_batch, world_size))


# With blocks, process 0 would pair the clips DistributedSampler gave it (positions 0, 2, 4 of the batch when W = 2)
# with the timesteps and noise of rows 0, 1, 2: every clip would still be trained, but with another clip's noise, and
# the run would no longer match one process.
print([rows_of(8, r, 4) for r in range(4)])
assert check_rank_rows(rows_of)
check_rank_rows(rows_of)

# %% [markdown]
# ### Exercise 2
#
# A run stopped after step `k` resumes with another number of processes. Write
# `position(step, num_items, global_batch, world_size)` returning `(epoch, start)`: the epoch that step `step`
# (0-based) falls in, and how many items of its own share of that epoch a process skips (§4). Check it, then
# predict: does `start` depend on the world size? Does `epoch`?

# %%
def position(step, num_items, global_batch, world_size):
    raise NotImplementedError("steps per epoch = num_items // global_batch")

# check_sampler_position(position)

# %% tags=["solution"] jupyter={"source_hidden": true}
def position(step, num_items, global_batch, world_size):
    per_epoch = num_items // global_batch             # the same for every world size that divides global_batch
    return step // per_epoch, (step % per_epoch) * (global_batch // world_size)


print("step 7, 23 items, batch 4:", [position(7, 23, 4, w) for w in (1, 2, 4)], "for 1, 2, 4 processes")
assert check_sampler_position(position)
check_sampler_position(position)

# %% [markdown]
# ### Exercise 3
#
# The plan says one 589-token clip keeps about 0.6 GiB of activations through the DiT in bf16 (§6). Write
# `fits(global_batch, gpus, activation_bytes_per_item, free_bytes)`: the smallest gradient accumulation `k` that
# divides the per-GPU batch and whose micro-batch of `per_gpu / k` clips fits in `free_bytes`; raise `ValueError`
# when even one clip does not fit. How many micro-batches does sky-paper need on 8 GPUs of 24 GiB?

# %%
def fits(global_batch, gpus, activation_bytes_per_item, free_bytes):
    raise NotImplementedError("try k = 1, 2, ... that divide global_batch // gpus")

# check_grad_accum_that_fits(fits)

# %% tags=["solution"] jupyter={"source_hidden": true}
def fits(global_batch, gpus, activation_bytes_per_item, free_bytes):
    if global_batch % gpus:
        raise ValueError(f"global_batch={global_batch} must be a multiple of gpus={gpus}")
    per_gpu = global_batch // gpus
    for k in range(1, per_gpu + 1):
        if per_gpu % k == 0 and per_gpu // k * activation_bytes_per_item <= free_bytes:
            return k
    raise ValueError("even one item does not fit")


per_clip = plan.trace_step(PRESETS["sky-paper"], "dit", 1).activation_bytes
free = 24 * 2**30 - sky_dit["state_gib"] * 2**30
k = fits(96 * 8, 8, per_clip, free)
print(f"one clip: {per_clip / 2**30:.2f} GiB; on 24 GiB GPUs: {k} micro-batches of {96 // k} clips")
assert check_grad_accum_that_fits(fits)
check_grad_accum_that_fits(fits)
