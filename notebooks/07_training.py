# %% [markdown]
# # 07 · Training: FoPP in the loop, checkpoints and resume
#
# Notebooks 01–06 built the pieces: per-frame noising, the FoPP timestep sampler, the tokenizer and the causal DiT.
# `ardiff_edu.train` puts them in a loop. This notebook
#
# 1. walks through **one training step** by hand and checks it against the package;
# 2. runs a **short live training** of the `balls-smoke` preset (both stages, a few seconds);
# 3. shows that **resume** is bit-for-bit identical to a run that never stopped;
# 4. reads the **training curves of the shipped checkpoint**, total and per frame index.

# %%
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ardiff_edu.diffusion import NoiseSchedule
from ardiff_edu.models import DiT
from ardiff_edu.timesteps import sample_timesteps
from ardiff_edu.train import PRESETS, load_checkpoint, plot_log, read_log, train
from ardiff_edu.utils import DATA_DIR, seed_all

seed_all(0)
torch.set_num_threads(2)
plt.rcParams.update({"figure.dpi": 70, "font.size": 8})

# %% [markdown]
# ## 1. One training step
#
# The diffusion stage trains on latents: the clips are encoded once by the frozen tokenizer and standardised per
# channel (notebook 05). One step, with `B` clips of `F` frames:
#
# 1. draw **FoPP timesteps** `t (B, F)`, non-decreasing along the frames (notebook 02);
# 2. noise **every frame to its own level**: `z_t = √ᾱ_t · z_0 + √(1 − ᾱ_t) · ε` (notebook 01);
# 3. predict `z_0` with the causal DiT (notebook 06) and take the squared error, averaged over tokens and channels:
#    a **per-frame loss** `(B, F)`, then its mean.

# %%
B, F, L, C = 4, 16, 16, 8
g_time, g_noise = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
z0 = torch.randn(B, F, L, C, generator=torch.Generator().manual_seed(0))     # stand-in for normalised latents
t = sample_timesteps("fopp", B, F, 1000, generator=g_time)
print("FoPP timesteps, one row per clip:\n", t.numpy())
assert (t[:, 1:] >= t[:, :-1]).all()                                          # earlier frames are cleaner

schedule = NoiseSchedule(1000)
eps = torch.randn(z0.shape, generator=g_noise)
abar = schedule.alphas_cumprod[t].float()[..., None, None]                    # (B, F, 1, 1): one level per frame
zt = abar.sqrt() * z0 + (1 - abar).sqrt() * eps
assert torch.allclose(zt, schedule.q_sample(z0, t, noise=eps), atol=1e-6)

torch.manual_seed(0)
model = DiT(C, L, max_frames=F, width=64, depth=2, heads=4)
pred = model(zt, t)
per_frame = ((pred - z0) ** 2).mean(dim=(2, 3))                               # (B, F)
print("per-frame loss of a fresh model (it predicts 0, so this is E[z0²] ≈ 1):",
      np.round(per_frame.mean(0).detach().numpy()[:4], 2), "...")
assert per_frame.shape == (B, F)

# %% [markdown]
# The package's loss function is this, with three explicit random generators (data, timesteps, noise) so that the
# whole run can be replayed. Then come AdamW, gradient clipping at 1.0 and an **EMA** of the weights with the
# diffusers warm-up `decay_n = min((1 + n) / (10 + n), 0.999)`: early on the EMA follows the model closely, later
# it averages over ~1000 steps. Sampling uses the EMA weights.

# %%
n = np.array([0, 10, 100, 1000, 10000])
print("EMA decay at update n:", dict(zip(n.tolist(), np.round(np.minimum((1 + n) / (10 + n), 0.999), 4).tolist())))

# %% [markdown]
# ## 2. A short live run
#
# `train(config, out, stage)` runs one stage and is what `python -m ardiff_edu train` calls. The `balls-smoke` preset
# is tiny (64 clips of 8 frames, a 1-block DiT of width 32), so both stages take seconds; it proves the pipeline, not
# the model. The progress bar is machine-dependent, hence this cell's output is not checked.

# %%
smoke = PRESETS["balls-smoke"]
print({k: getattr(smoke, k) for k in ("num_clips", "num_frames", "width", "depth", "tok_steps", "steps",
                                      "batch_size", "timesteps")})
tmp = Path(tempfile.mkdtemp())

# %% tags=["nbval-ignore-output"]
tok = train(smoke, tmp / "live", stage="tokenizer")
dit = train(smoke, tmp / "live", stage="dit")

# %%
log = read_log(tmp / "live" / "dit.jsonl")
print("records:", len(log), "| steps:", dit["step"], "| files:", sorted(p.name for p in (tmp / "live").iterdir()))
assert dit["step"] == smoke.steps and np.isfinite(dit["loss"])
assert len(log[0]["per_frame"]) == smoke.num_frames                 # one loss per frame index in every record

# %% [markdown]
# ## 3. Resume is exact
#
# Every `ckpt_every` steps the run writes `dit.pt` atomically (a temporary file renamed over the old one, so a crash
# never leaves half a checkpoint). It holds the model, the EMA, the optimizer, the step and the **state of the three
# random generators**. `resume=True` (`--resume` on the command line) restores all of it, so the resumed run draws
# exactly the clips, timesteps and noise the uninterrupted run drew. Here: 20 steps, stop, resume to 40, and compare
# with the live run above, which went to 40 in one go.

# %%
out = tmp / "stopped"
(out).mkdir()
(out / "tokenizer.pt").write_bytes((tmp / "live" / "tokenizer.pt").read_bytes())
train(replace(smoke, steps=20), out, "dit", progress=False)
print("stopped at step", torch.load(out / "dit.pt", weights_only=False)["step"])
train(smoke, out, "dit", resume=True, progress=False)
a = torch.load(tmp / "live" / "dit.pt", weights_only=False)
b = torch.load(out / "dit.pt", weights_only=False)
same = all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
same_ema = all(torch.equal(a["ema"][k], b["ema"][k]) for k in a["ema"])
print("step", b["step"], "| weights identical:", same, "| EMA identical:", same_ema)
assert b["step"] == 40 and same and same_ema
shutil.rmtree(tmp)                                                  # the live runs were only for this notebook

# %% [markdown]
# A loss that turns NaN or infinite stops the run with a `FloatingPointError` naming the step and the last good
# checkpoint; nothing is saved after the bad step (`tests/test_train.py` checks both properties).
#
# ## 4. The shipped checkpoint's curves
#
# `data/checkpoints/balls.pt` was trained with the `balls` preset: 10 000 clips of 16 frames, a DiT of width 128 and
# depth 4 (1.27 M parameters), batch 32, AdamW at 4e-4, FoPP. Its file carries the commands that made it and a
# thinned copy of its log:

# %%
pipe = load_checkpoint(DATA_DIR / "checkpoints" / "balls.pt")
meta = pipe.meta
print("steps:", meta["steps"], "| seed:", meta["seed"], "| final loss:", meta["final_loss"])
for line in meta["commands"]:
    print(" ", line.split("  ", 1)[1])

# %%
fig = plot_log(pipe.log, smooth=10)
plt.show()
first, last = pipe.log[0], pipe.log[-1]
pf = np.mean([r["per_frame"] for r in pipe.log[-20:]], axis=0)
print(f"loss: {first['loss']:.2f} at step {first['step']} -> {last['loss']:.2f} at step {last['step']}")
print("per-frame loss over the last records, frames 0, 5, 10, 15:", np.round(pf[[0, 5, 10, 15]], 2))
assert last["loss"] < first["loss"]
assert pf[-1] > pf[0]

# %% [markdown]
# The loss per frame index rises along the clip. That is FoPP at work, not a weakness of late frames: the timesteps
# are non-decreasing, so later frames are on average noisier and their clean latents harder to guess. Frame 0 sees
# the lowest noise levels and no past; the last frame the highest levels, but all the past.
#
# The DiT trained for 20 000 steps, about 2.5 hours on 2 CPU cores, stopped and resumed twice along the way
# (resuming is bit-identical, so the result is the same as one uninterrupted run). The loss is still creeping
# down at the end: more steps would still help. To continue it on your machine, reproduce the run directory with the
# commands above, then:
#
# ```
# python -m ardiff_edu train --preset balls --stage dit --out runs/balls --resume --steps 40000
# python -m ardiff_edu train --export runs/balls --to data/checkpoints/balls.pt
# ```
