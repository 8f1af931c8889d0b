# %% [markdown]
# # 09 · Evaluation: the paper's claims, measured at small scale
#
# AR-Diffusion is a claim about *quality*: asynchronous noise levels that never decrease along the clip
# ("earlier frames remain clearer than subsequent ones", abstract) train a model that generates better and longer
# videos than synchronous diffusion and than independent per-frame noise. Numbers decide that, and numbers can lie
# in three ways: a metric that rewards the wrong thing, a difference smaller than the noise, and a comparison that is
# not fair. This notebook guards against each:
#
# 1. the ball tracker and its **sanity rows**: clips that must score worse than real ones, each for a known reason;
# 2. the **Fréchet distance** built from two Gaussians up to FVD, and a toy version in the features of a small
#    network trained here;
# 3. **bootstrap confidence intervals** over videos, on every number;
# 4. a live slice of the protocol (`python -m ardiff_edu evaluate`), with the **equal-NFE control**;
# 5. the committed results of the training-sampler ablation, one plot per metric, and the claims table;
# 6. video prediction against the simulator's ground truth, and drift over 256 frames.
#
# Vocabulary: `T` training timesteps (1000) · `S` sampling steps · `F` frames · `s` AR step · NFE network calls.

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg
import torch
from IPython.display import Markdown, display

from ardiff_edu.data import bouncing_balls
from ardiff_edu.fvd import fd_from_features, feature_stats, frechet_distance
from ardiff_edu.metrics import (ball_stats, black_frames, copy_last_frame, extrapolate_balls, format_table,
                                frozen_first_frame, position_errors, shuffle_frames, uniform_noise)
from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, load_pipeline
from ardiff_edu.protocol import equal_nfe_steps, run_task
from ardiff_edu.quality import bootstrap_indices, mean_ci
from ardiff_edu.results import claims, claims_markdown, load_json, markdown_table, plot_metric, text_table
from ardiff_edu.utils import REPO_ROOT, seed_all
from ardiff_edu.video import show_grid
from ardiff_edu.videonet import load_videonet, videonet_features

seed_all(0)
torch.set_num_threads(1)    # small models: one thread is as fast, and the numbers do not depend on the core count
plt.rcParams.update({"figure.dpi": 80, "font.size": 10})

# The committed results of `bash data/results/run_ablation.sh` that sections 5 and 6 read:
RESULTS = REPO_ROOT / "data" / "results" / "ablation.json"

# %% [markdown]
# ## 1. The ball tracker, and the sanity rows that keep it honest
#
# `ardiff_edu.metrics.ball_stats` finds the coloured blobs of every frame (connected components of bright pixels),
# links them from frame to frame and measures how ball-like they behave: how many continue into the next frame
# (`match`), how far a blob deviates from constant velocity (`acc`), how much its colour changes (`col`), its speed.
# A metric is only as good as what it punishes, so every table carries **sanity rows**:
#
# | row | what it is | what it must show |
# |---|---|---|
# | real | held-out simulated clips | the target |
# | real, tokenizer only | real clips encoded and decoded | the best a DiT on these latents can do |
# | uniform noise | random pixels | nothing ball-like |
# | black frames | nothing at all | nothing to track |
# | frames shuffled | real frames in random order | right appearance, broken motion |
# | first frame frozen | the first frame repeated | perfect balls that never move |
#
# Before this notebook, uniform noise scored a **perfect** `match` of 1.00, above real clips: its bright pixels
# form one component that fills the frame, and one giant "ball" that never moves matches itself every frame. The fix
# follows from what a ball is: a component that covers more than a quarter of the frame (`max_area_frac = 0.25`;
# our balls cover at most 5 %, three merged ones under 20 %) has no room to bounce and is not a ball. It is dropped
# and counted in `big`. The thresholds of the quality targets (`fg_threshold`, `min_area`, `max_jump`,
# `wall_margin`) are unchanged, and ball clips score exactly as before (a test pins it).

# %%
real = bouncing_balls(32, num_frames=16, seed=10_000)
sanity = {"real": real, "uniform noise": uniform_noise(real.shape, 0), "black frames": black_frames(real.shape),
          "frames shuffled": shuffle_frames(real, 0), "first frame frozen": frozen_first_frame(real)}
rows = {name: ball_stats(v)[0] for name, v in sanity.items()}
rows["uniform noise, without the rule"] = ball_stats(sanity["uniform noise"], max_area_frac=1.0)[0]
print(format_table(rows, keys=("count_mean", "empty_frac", "match_frac", "accel_median", "colour_drift_median",
                               "speed_median", "big_frac")))
assert rows["uniform noise, without the rule"]["match_frac"] > rows["real"]["match_frac"]   # the old failure
assert not rows["uniform noise"]["match_frac"] >= rows["real"]["match_frac"]                # nan: nothing tracked
assert rows["uniform noise"]["big_frac"] == 1 and rows["uniform noise"]["empty_frac"] == 1
assert rows["frames shuffled"]["match_frac"] < 0.5 < rows["real"]["match_frac"]
assert rows["first frame frozen"]["speed_median"] == 0 < rows["real"]["speed_median"]

# %% [markdown]
# Read the last two rows carefully. Shuffled frames keep the appearance and break the motion: `match` collapses and
# the acceleration jumps. The frozen clip scores **better than real clips** on `match`, acceleration and colour:
# standing still is perfectly smooth. Only `speed` (and, below, the Fréchet distance) gives it away. A tracker
# measures whether blobs move *like* balls; it cannot tell whether a video is *plausible as a whole*. That is what a
# distribution-level distance is for.
#
# ## 2. From the Fréchet distance to FVD
#
# Fit a Gaussian to each set of feature vectors, mean `μ` and covariance `Σ`. The squared Fréchet (2-Wasserstein)
# distance between two Gaussians has a closed form:
#
# $$d^2 = \lVert\mu_1-\mu_2\rVert^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
#        - 2\operatorname{tr}\big(\Sigma_1\Sigma_2\big)^{1/2}$$
#
# Three cases we can do by hand, each an `assert` against `ardiff_edu.fvd.frechet_distance`: identical Gaussians are
# at distance 0; a translation costs `|Δμ|²`; and when the covariances commute (e.g. both diagonal, variances `a_i`
# and `b_i`) the trace term splits into `Σ √(a_i b_i)`, so `d² = |Δμ|² + Σ (√a_i − √b_i)²`.

# %%
rng = np.random.default_rng(0)
A = rng.normal(size=(5, 5))
mu, sigma = rng.normal(size=5), A @ A.T
shift = np.array([3.0, 4.0, 0.0, 0.0, 0.0])
a, b = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
print("identical:", round(frechet_distance(mu, sigma, mu, sigma), 9))
print("translated by (3, 4, 0, 0, 0):", round(frechet_distance(mu, sigma, mu + shift, sigma), 6))
print("diagonal:", round(frechet_distance(mu, np.diag(a), mu + shift, np.diag(b)), 6), "closed form:",
      round(25 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum(), 6))
assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9
assert np.isclose(frechet_distance(mu, sigma, mu + shift, sigma), 25.0)
assert np.isclose(frechet_distance(mu, np.diag(a), mu + shift, np.diag(b)), 25 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())

# %% [markdown]
# **The trace term, computed stably.** `Σ1Σ2` is not symmetric, and `scipy.linalg.sqrtm` of it returns complex
# numbers whenever a covariance is singular, which it always is when there are fewer videos than feature
# dimensions. Implementations then keep the real part, or add `ε·I` to both covariances. We avoid the question:
# `Σ1Σ2` has the same eigenvalues as the symmetric, positive semi-definite `Σ1^½ Σ2 Σ1^½`, so the trace of the square
# root is the sum of the square roots of its eigenvalues (`numpy.linalg.eigvalsh`): real by construction.

# %%
x, y = rng.normal(size=(6, 16)), rng.normal(size=(6, 16)) + 0.5       # 6 "videos", 16 feature dimensions
(m1, s1), (m2, s2) = feature_stats(x), feature_stats(y)
root = scipy.linalg.sqrtm(s1 @ s2)
print("sqrtm(Σ1Σ2) returns complex numbers:", np.iscomplexobj(root))   # their size is rounding noise, CPU-dependent
print("the symmetric form:", round(frechet_distance(m1, s1, m2, s2), 4), "| swapped:",
      round(frechet_distance(m2, s2, m1, s1), 4))
assert np.isclose(frechet_distance(m1, s1, m2, s2), frechet_distance(m2, s2, m1, s1))

# %% [markdown]
# **FVD** is this distance in the features of I3D, a video classifier trained on Kinetics-400: 16-frame clips
# resized to 224 × 224, the 400 logits as features, 2048 videos per set. `ardiff_edu.fvd` has the plumbing for the
# TorchScript file that most PyTorch codes load (`i3d_torchscript.pt`); we never download it, you pass it with
# `python -m ardiff_edu evaluate --i3d-weights PATH` (`docs/fvd.md` says where to get it, how it is called, and why
# an FVD on 32 × 32 cartoons means little).
#
# > **Paper vs code.** The paper reports FVD16 and FVD128 (I3D features, real footage at 256 px, typically 2048
# > videos per set) on Sky-Timelapse, Taichi-HD, FaceForensics and UCF-101. We measure on bouncing balls, with a
# > hand-written tracker and a Fréchet distance in the features of a small network trained here, on a few dozen
# > videos per row with 95 % intervals. No number in this notebook is comparable to the paper's tables.
#
# **A toy FVD for bouncing balls.** `ardiff_edu.videonet` is a four-layer 3D convolutional network trained (in about
# five minutes, `python -m ardiff_edu.videonet`) to read the simulation's state off a 16-frame clip: which colours
# are present, how many balls, how fast they move, where they are in the first and the last frame. Its 32-d feature
# vector is to our clips what I3D's logits are to Kinetics. The Fréchet distance in those features has the same
# sanity rows as the tracker, and this time the frozen clip does not slip through:

# %%
net = load_videonet()
reference = bouncing_balls(256, num_frames=16, seed=11_000)       # the protocol's reference: other held-out clips
ref_feats = videonet_features(reference, net)
fd = {name: fd_from_features(ref_feats, videonet_features(v, net)) for name, v in sanity.items()}
for name, value in fd.items():
    print(f"{name:<20} {value:8.2f}")
assert fd["real"] < fd["frames shuffled"] < fd["black frames"] < fd["uniform noise"]
assert fd["first frame frozen"] > 2 * fd["real"]

# %% [markdown]
# The real row is not 0: 32 videos estimate a 32-dimensional covariance poorly, and that bias is the **floor** every
# other row is compared with. Scores are only comparable at the same number of videos.
#
# ## 3. Confidence intervals: how much would the number move with other videos?
#
# Every number is an average over a few dozen videos, so it is noisy. The bootstrap estimates how noisy without any
# formula: draw the videos again *with replacement* (some twice, some not at all), recompute the statistic, repeat a
# thousand times, and report the 2.5 % and 97.5 % quantiles. `ardiff_edu.quality.bootstrap_indices` draws the
# resamples once per seed, so every row of a table is resampled the same way. We call a difference between two rows
# real only when their intervals do not overlap (a conservative rule: a real difference can hide behind overlapping
# intervals, so "no clear difference" means *not shown*, not *shown equal*).

# %%
_, state = bouncing_balls(32, num_frames=16, seed=10_000, return_state=True)     # `real` again, with its state
errors = position_errors(copy_last_frame(real[:, :4], 16), state["positions"], state["present"])   # (32, 16) px
m, lo, hi = mean_ci(errors[:, 4:].mean(axis=1), bootstrap_indices(32, 1000, seed=0))
print(f"'copy the last given frame', error over 12 predicted frames: {m:.2f} px, 95 % interval [{lo:.2f}, {hi:.2f}]")
assert lo < m < hi

# %% [markdown]
# ## 4. The protocol, live: one checkpoint, synchronous vs asynchronous, and the equal-NFE control
#
# `python -m ardiff_edu evaluate` fixes what is compared: every checkpoint meets the same held-out real clips and
# starts from the same noise (`--seed`), and every table carries the sanity rows. Asynchronous sampling with `s = 5`
# spends `S + (F − 1)·s = 20 + 15·5 = 95` network calls on 16 frames, synchronous sampling only `S = 20`. If `s = 5`
# wins, is it the asynchrony or the extra compute? The **equal-NFE control** answers: `s = 0` with `S` raised until it
# spends as many calls (`S = 95`). Here is a small slice on the shipped model (8 videos: wide intervals), the same
# function the command runs:
#
# `python -m ardiff_edu evaluate --checkpoint data/checkpoints/balls.pt --s 0 5 --control-s 5 --num-videos 8`

# %%
pipe = load_pipeline(DEFAULT_CHECKPOINT)
print("equal-NFE control of s=5 at 16 frames: S =", equal_nfe_steps(16, 20, 5))
live = run_task("generate", {"balls": pipe}, s_values=(0, 5), num_videos=8, num_frames=16, num_steps=20,
                control_s=5, videonet=net, num_boot=1000)
print(text_table(live))
by_name = {r["name"]: r for r in live["rows"]}
assert by_name["balls s=0 S=95 (equal NFE to s=5)"]["nfe"] == by_name["balls s=5 S=20"]["nfe"] == 95
assert by_name["real"]["values"]["fd_videonet"] < by_name["uniform noise"]["values"]["fd_videonet"]

# %% [markdown]
# ## 5. The training-sampler ablation
#
# The paper's central comparison is *how the training noise levels are drawn*. `data/checkpoints/make_all.sh` trains
# four DiTs that differ only in that (same model, data, tokenizer, seed and 6000 steps): FoPP (`fopp`, the paper),
# uniform over non-decreasing sequences (`uniform_monotone`), independent per frame as in Diffusion Forcing
# (`independent`), and one level for the whole clip (`full_sequence`, synchronous diffusion).
# `bash data/results/run_ablation.sh` scores all four at `s ∈ {0, 1, 2, 5, S}` with the equal-NFE control, at 16 and
# 64 frames, for video prediction, and for drift over 256 frames, and writes `data/results/ablation.json` (tables in
# `ablation.md`, one PNG per metric). The cells below read that file. An arm that has not been trained yet is simply
# absent from the tables, and every claim that needs it reads "not measured"; running the two scripts again adds it.
#
# > **Paper vs code.** The paper ablates its components on Sky-Timelapse with the full model. Ours is the same
# > comparison on bouncing balls with 1.3 M-parameter DiTs trained for 6000 steps on two CPU cores, scored with 20
# > sampling steps (the paper: 50). The equal-NFE control and the noisy-context rows are our additions.

# %%
results = load_json(RESULTS)
g16 = results["tasks"]["generate16"]
print("arms scored:", ", ".join(g16["protocol"]["checkpoints"]))
print(g16["command"])
display(Markdown(markdown_table(g16)))

# %%
print(results["tasks"]["generate64"]["command"])                  # the right-hand panels (the left: the table above)
for key in ("fd_videonet", "match_frac", "frame_diff"):
    fig = plot_metric([results["tasks"]["generate16"], results["tasks"]["generate64"]], key)
    plt.show()

# %% [markdown]
# How to read them: a point per arm and `s`, the square at the right is the equal-NFE control, the black line the
# real clips and the dotted one the tokenizer alone (no DiT can do better in these latents). The claims, with the
# rule of section 3 (`ardiff_edu.results.claims`; the same table goes into the README):

# %%
display(Markdown(claims_markdown(results, s=5)))

# %% [markdown]
# Read with the rule, the four arms say three different things. Asynchronous sampling beats synchronous sampling
# with the FoPP model, also at equal NFE. FoPP beats drawing uniformly among non-decreasing levels at `s = 5`, but
# not at `s = 0`, where the paper expects the largest gap; `uniform_monotone` almost never shows the network a first
# frame at high noise (notebook 02 measures how rarely FoPP does), and its first frames come out crowded with balls.
# FoPP and Diffusion Forcing's independent levels cannot be told apart. These are 1.3 M-parameter models trained for
# 6000 steps on bouncing balls; "no clear difference" here says that the toy cannot see the effect, not that the
# paper is wrong.

# %%
verdict = {c["compare"]: c["verdict"] for c in claims(results, s=5)}
for pair in ("fopp s=5 vs fopp s=0", "fopp s=5 vs uniform_monotone s=5", "fopp s=0 vs uniform_monotone s=0",
             "fopp s=5 vs independent s=5"):
    print(f"{pair:34s} {verdict[pair]}")
assert verdict["fopp s=5 vs fopp s=0"] == verdict["fopp s=5 vs uniform_monotone s=5"] == "holds"
assert verdict["fopp s=0 vs uniform_monotone s=0"] == verdict["fopp s=5 vs independent s=5"] == "no clear difference"

# %% [markdown]
# ## 6. Video prediction against the truth, and drift over 256 frames
#
# Bouncing balls have a right answer. Give the model the first 4 frames of a held-out simulated clip and compare its
# continuation with the simulator's, frame by frame: the tracked ball-position error (a ball further than 8 px from
# its true position, or missing, counts as 8 px), PSNR, SSIM. Three baselines put the numbers in scale: copy the last
# given frame (nothing moves), extrapolate the tracked balls at constant velocity with bounces (a hand-written
# physics predictor), black frames. Notebook 08 printed a mean absolute error of the model's predictions without a
# baseline; black frames score better than copying the last frame on that error, because balls are small, which is
# why we track positions instead. A live slice (8 videos) of
# `python -m ardiff_edu evaluate --task predict --s 2 --given 4 --num-videos 8`:

# %%
pred = run_task("predict", {"balls": pipe}, s_values=(2,), num_videos=8, num_frames=16, num_steps=20, given=4,
                num_boot=1000)
print(text_table(pred))
p = {r["name"]: r["values"] for r in pred["rows"]}
assert p["extrapolate tracked balls"]["position_error"] < p["copy last given frame"]["position_error"]
assert p["black frames"]["mae"] < p["copy last given frame"]["mae"]          # why pixel errors mislead here

# %%
truth, state = bouncing_balls(8, num_frames=16, seed=10_000, return_state=True)
n = int(np.argmax(state["present"].sum(1)))                               # a clip with the most balls
show_grid([truth[n], copy_last_frame(truth[n:n + 1, :4], 16)[0], extrapolate_balls(truth[n:n + 1, :4], 16)[0]],
          row_titles=["truth", "copy last", "extrapolate"],
          title=f"held-out clip {n}: the truth and two baselines from its first 4 frames", scale=0.5)
plt.show()

# %% [markdown]
# The committed prediction curves (all arms at `s = 5` with the baselines) and the drift curves: each long video is
# cut into 16-frame segments, and each segment is scored like a clip, against the frame index. Drift shows as a
# rise of the distance along the video. The `ctx` rows feed finished frames back to the network noised to a small
# level (`context_noise`, as Diffusion Forcing's stabilisation level and SkyReels-V2's `addnoise_condition` do)
# instead of clean, so that the model does not trust its own small errors too much.

# %%
print(results["tasks"]["predict16"]["command"])
fig = plot_metric([results["tasks"]["predict16"]], "position_error", plot_s=5)
plt.show()
print(results["tasks"]["drift256"]["command"])
fig = plot_metric([results["tasks"]["drift256"]], "fd_videonet")
plt.show()

# %% [markdown]
# ## Summary
#
# * A metric is read beside its sanity rows. The tracker missed frame-filling noise (fixed: a component larger
#   than a quarter of the frame is not a ball) and cannot see a frozen clip; the Fréchet distance in learned features
#   sees both.
# * The Fréchet distance between Gaussians is exact in closed form; computing its trace term in the symmetric form
#   keeps it real for singular covariances. FVD is that distance in I3D features (`--i3d-weights`, `docs/fvd.md`).
# * Every number comes with a bootstrap interval, and differences count only when the intervals separate.
# * Asynchronous sampling costs more calls; the equal-NFE control separates the asynchrony from the compute.

# %% [markdown]
# ## Exercises
#
# Each exercise has a checker from `ardiff_edu.exercises.nb09` that answers in one line: right, or what is wrong and
# where. The worked solution follows in a collapsed cell (click to expand it); try first.
#
# ### Exercise 1
#
# Write `fd_diagonal(mu1, var1, mu2, var2)`: the Fréchet distance between two Gaussians with **diagonal** covariances
# `diag(var1)` and `diag(var2)`, with numpy only (no matrices, no `frechet_distance`). Then use it on the videonet
# features of real and of frozen clips, keeping only the variances: how much of the full distance is left?

# %%
from ardiff_edu.exercises.nb09 import check_bootstrap_mean_ci, check_fd_diagonal  # noqa: E402


def fd_diagonal(mu1, var1, mu2, var2):
    """The Fréchet distance between N(mu1, diag(var1)) and N(mu2, diag(var2)); numpy vectors in, a float out."""
    raise NotImplementedError("replace this line with your code")


check_fd_diagonal(fd_diagonal)

# %% tags=["solution"] jupyter={"source_hidden": true}
def fd_diagonal(mu1, var1, mu2, var2):
    # commuting covariances: tr((Σ1Σ2)^½) = Σ √(a_i b_i), so the trace terms become Σ (√a_i − √b_i)²
    return float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(var1) - np.sqrt(var2)) ** 2).sum())


frozen_feats = videonet_features(sanity["first frame frozen"], net)
diag = fd_diagonal(ref_feats.mean(0), ref_feats.var(0, ddof=1), frozen_feats.mean(0), frozen_feats.var(0, ddof=1))
print(f"frozen clips: full distance {fd['first frame frozen']:.2f}, diagonal part {diag:.2f}")
assert 0 < diag
result = check_fd_diagonal(fd_diagonal)
print(result)
assert result

# %% [markdown]
# ### Exercise 2
#
# Write `bootstrap_mean_ci(values, indices)`: given one number per video (`values`, shape `(N,)`) and the resamples
# `indices` (shape `(B, N)`, from `bootstrap_indices`), return `(mean, lo, hi)`: the mean over videos and the 2.5 %
# and 97.5 % percentiles of the `B` resampled means. Then compute the interval of the copy-last-frame error of
# section 3 with 50 and with 1000 resamples: which part of the answer changes?

# %%
def bootstrap_mean_ci(values, indices):
    """(mean, lo, hi): the mean of values (N,) and the 95 % percentile interval of the means of values[indices]."""
    raise NotImplementedError("replace this line with your code")


check_bootstrap_mean_ci(bootstrap_mean_ci)

# %% tags=["solution"] jupyter={"source_hidden": true}
def bootstrap_mean_ci(values, indices):
    means = values[indices].mean(axis=1)                 # (B,): the statistic of every resample
    lo, hi = np.percentile(means, [2.5, 97.5])
    return values.mean(), lo, hi


per_video = errors[:, 4:].mean(axis=1)
for draws in (50, 1000):
    m, lo, hi = bootstrap_mean_ci(per_video, bootstrap_indices(32, draws, seed=0))
    print(f"{draws:>5} resamples: {m:.2f} px [{lo:.2f}, {hi:.2f}]")       # the mean does not move; the ends do
result = check_bootstrap_mean_ci(bootstrap_mean_ci)
print(result)
assert result
