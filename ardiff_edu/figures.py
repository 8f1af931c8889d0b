"""Figures shared by the notebooks, the widgets and the docs: staircases, frame strips, the overview picture.

    python -m ardiff_edu.figures docs/overview.png      # the README's "paper in one picture" (notebook 00)

Conventions (readable at the size shown): fonts of at least 9 pt, integer ticks for frames and iterations, a
labelled colourbar on every heatmap, titles that say what is compared. :func:`figure_png` renders without metadata,
so equal figures give equal bytes.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import torch

from ardiff_edu.ad import Schedule, ad_schedule
from ardiff_edu.fopp import sample_timesteps
from ardiff_edu.noise import NoiseSchedule
from ardiff_edu.utils import atomic_write_bytes, check_int

__all__ = ["OVERVIEW", "FONT", "figure_png", "integer_ticks", "draw_clip", "draw_schedule", "frame_timesteps",
           "demo_clip", "noised_frames", "overview_figure", "plot_log", "compare_logs", "main"]

#: The smallest font size used in any figure, in points.
FONT = 9
#: The settings of the overview figure: F frames, S sampling steps, the middle staircase's s and shown iteration.
OVERVIEW = {"num_frames": 8, "num_steps": 10, "s": 2, "iteration": 13, "num_training_clips": 6, "seed": 0}


def figure_png(fig, dpi: int | None = None, tight: bool = True) -> bytes:
    """A ``Figure`` as PNG bytes (no timestamp or software metadata, so equal figures give equal bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, metadata={"Software": None},
                bbox_inches="tight" if tight else None)
    return buf.getvalue()


def integer_ticks(*axes) -> None:
    """Only whole numbers on the x and y ticks of these matplotlib axes (frames, iterations, steps)."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def draw_clip(ax, frames, labels=None, title: str = "", gap: int = 2, fontsize: int = FONT):
    """Draw a clip side by side into a matplotlib ``ax``: float ``(F, 3, H, W)`` in [-1, 1] or uint8
    ``(F, H, W, 3)``; ``labels`` (one per frame) are written under the frames."""
    if isinstance(frames, torch.Tensor) and frames.is_floating_point():
        img = ((frames.detach().float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
    else:
        img = np.asarray(frames).astype(np.float64) / 255.0
    F, H, W = img.shape[:3]
    strip = np.ones((H, F * (W + gap) - gap, 3))
    for f in range(F):
        strip[:, f * (W + gap): f * (W + gap) + W] = img[f]
    ax.imshow(strip, interpolation="nearest")
    ax.set_xticks([f * (W + gap) + W / 2 - 0.5 for f in range(F)])
    ax.set_xticklabels([str(f) for f in range(F)] if labels is None else list(labels), fontsize=fontsize)
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize + 1, loc="left")


def draw_schedule(ax, sched: Schedule, iteration: int | None = None, title: str | None = None, colorbar: bool = True):
    """The staircase as a heatmap of model timesteps, iterations (down) × frames (across), into ``ax``.

    Dark = clean, bright = noisy. Dots mark updates, red crosses updates the window skipped (``overflow="drop"``), the
    green lines are the window's edges, and a cyan box with a pointer on the left spine marks ``iteration``. The title
    (default: the kind and the NFE) can be replaced. With ``colorbar`` the figure gets a labelled colourbar. Returns
    the image.
    """
    from matplotlib.patches import Rectangle

    I, F = sched.step_index.shape
    im = ax.imshow(sched.timesteps, aspect="auto", cmap="magma", vmin=0, vmax=int(sched.template[0]),
                   interpolation="nearest")
    if I * F <= 4000:
        rows, cols = np.nonzero(sched.update_mask)
        ax.scatter(cols, rows, s=max(2.0, 60.0 / max(I, F)), c="white", marker="o", linewidths=0)
    rows, cols = np.nonzero(sched.skipped_mask)
    if len(rows):
        ax.scatter(cols, rows, s=max(8.0, 150.0 / max(I, F)), c="red", marker="x", linewidths=1.2)
    ys = np.repeat(np.arange(I), 2) + np.tile([-0.5, 0.5], I)      # each window edge: one segment per iteration
    for edge in (0, 1):
        ax.plot(np.repeat(sched.windows[:, edge], 2) - 0.5, ys, color="lime", linewidth=1.4)
    if iteration is not None and 0 <= iteration < I:
        ax.add_patch(Rectangle((-0.5, iteration - 0.5), F, 1, edgecolor="cyan", facecolor="none", linewidth=1.5))
        # a small pointer on the left spine: it stays clear of the tick labels and the axis label
        ax.plot([-0.5], [iteration], marker=">", markersize=8, color="tab:blue", clip_on=False, zorder=5)
    ax.set_xlabel("frame", fontsize=FONT)
    ax.set_ylabel("iteration (network call)", fontsize=FONT)
    ax.set_xlim(-0.5, F - 0.5)
    ax.set_ylim(I - 0.5, -0.5)
    ax.set_title(title if title is not None else f"{sched.kind}: NFE = {sched.nfe}", fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT)
    integer_ticks(ax)
    if colorbar:
        cbar = ax.figure.colorbar(im, ax=ax, fraction=0.08, pad=0.03)
        cbar.set_label("model timestep t", fontsize=FONT)
        cbar.ax.tick_params(labelsize=FONT)
    return im


def frame_timesteps(sched: Schedule, iteration: int) -> np.ndarray:
    """int64 ``[F]``: the noise level (timestep) each frame *sits at* after ``iteration`` (``-1`` = clean).

    A frame that received ``k`` updates sits at ``template[k+1]`` (untouched: ``T-1``; finished or given: clean).
    Updates a window skipped (``overflow="drop"``) are not counted, so dropped frames stay noisy.
    """
    iteration = check_int("iteration", iteration, 0, sched.num_iterations - 1)
    done = sched.update_mask[: iteration + 1].sum(axis=0)
    S = sched.num_steps
    levels = np.where(done == 0, sched.template[0], sched.template[np.minimum(done + 1, S)])
    given = np.arange(sched.num_frames) < sched.prefix_frames
    return np.where((done >= S) | given, -1, levels).astype(np.int64)


def demo_clip(num_frames: int, size: int = 16) -> torch.Tensor:
    """A small procedural clip, float ``(F, 3, size, size)`` in [-1, 1]: a white square sliding left to right over a
    background whose hue turns from blue to orange, so that every frame is recognisable even when noisy."""
    F, size = check_int("num_frames", num_frames, 1), check_int("size", size, 4)
    clip = torch.empty(F, 3, size, size)
    side = max(size // 3, 2)
    for f in range(F):
        a = f / max(F - 1, 1)
        clip[f] = torch.tensor([-0.8 + 1.6 * a, -0.4 + 0.4 * a, 0.8 - 1.6 * a])[:, None, None]
        x, y = round(a * (size - side)), (size - side) // 2
        clip[f, :, y:y + side, x:x + side] = 1.0
    return clip


def noised_frames(clip: torch.Tensor, timesteps: np.ndarray, num_timesteps: int = 1000, seed: int = 0) -> torch.Tensor:
    """``clip`` (F, 3, H, W) noised per frame to ``timesteps`` [F] (``-1`` = clean) with one fixed noise draw, so that
    moving through iterations shows each frame emerging from the same noise."""
    noise = torch.randn(clip.shape, generator=torch.Generator().manual_seed(seed))
    t = torch.as_tensor(np.asarray(timesteps), dtype=torch.long)
    noisy = NoiseSchedule(T=num_timesteps).q_sample(clip[None], t.clamp(min=0)[None], noise=noise[None])[0]
    return torch.where((t < 0).reshape(-1, 1, 1, 1), clip, noisy.to(clip.dtype))


def overview_figure(dpi: int = 80):
    """AR-Diffusion in one picture: training timesteps (FoPP), the AD staircase for three ``s``, a noisy clip.

    Top left: FoPP training sequences, each non-decreasing along the frames. Top right: the inference staircase
    (model timestep per iteration and frame) for ``s = 0`` (synchronous), ``s = 2`` (asynchronous) and ``s = S``
    (frame-by-frame auto-regressive). Bottom: the demo clip with every frame at its noise level after the highlighted
    iteration of the ``s = 2`` staircase. Returns a matplotlib ``Figure`` (not attached to pyplot).
    """
    from matplotlib.figure import Figure

    F, S, s_mid, it = (OVERVIEW[k] for k in ("num_frames", "num_steps", "s", "iteration"))
    train_t = sample_timesteps("fopp", OVERVIEW["num_training_clips"], F, 1000,
                               torch.Generator().manual_seed(OVERVIEW["seed"]))
    fig = Figure(figsize=(13.0, 5.6), dpi=dpi)
    grid = fig.add_gridspec(2, 4, height_ratios=[3.0, 1.3], hspace=0.75, wspace=0.5)
    ax = fig.add_subplot(grid[0, 0])
    for row in train_t.numpy():
        ax.plot(np.arange(F), row, marker="o", markersize=3, linewidth=1.2)
    ax.set_ylim(1000, -30)
    ax.set_xlabel("frame", fontsize=FONT)
    ax.set_ylabel("training timestep t", fontsize=FONT)
    ax.set_title("training: FoPP timesteps\n(6 clips, each non-decreasing)", fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT)
    integer_ticks(ax)
    schedules = [ad_schedule(F, S, 0), ad_schedule(F, S, s_mid), ad_schedule(F, S, S)]
    names = [("s = 0", "synchronous"), (f"s = {s_mid}", "asynchronous"), (f"s = S = {S}", "auto-regressive")]
    for col, (sched, (lag, name)) in enumerate(zip(schedules, names), start=1):
        ax = fig.add_subplot(grid[0, col])
        draw_schedule(ax, sched, iteration=it if col == 2 else None, colorbar=col == 3,
                      title=f"inference, {lag}\n{name}: NFE = {sched.nfe}")
        if col > 1:
            ax.set_ylabel("")
    levels = frame_timesteps(schedules[1], it)
    frames = noised_frames(demo_clip(F, size=24), levels, seed=OVERVIEW["seed"])
    draw_clip(fig.add_subplot(grid[1, :]), frames, [f"frame {f}: " + ("clean" if t < 0 else f"t={t}")
                                                    for f, t in enumerate(levels)],
              title=f"one clip after iteration {it} of the s = {s_mid} staircase: earlier frames are cleaner", gap=3)
    return fig


def _log_records(src, what: str = "the log") -> list[dict]:
    """The records of a training log: a JSONL file, an exported checkpoint (its thinned ``log``) or a list."""
    from ardiff_edu.checkpoint import load_file, read_log

    if isinstance(src, (str, Path)):
        recs = (load_file(src).get("log") or []) if str(src).endswith(".pt") else read_log(src)
    else:
        recs = list(src)
    if not recs:
        raise ValueError(f"{what} has no records")
    return recs


def _moving_average(y, k: int) -> np.ndarray:
    """The mean of every ``k`` consecutive values (``len(y) - k + 1`` of them)."""
    return np.convolve(np.asarray(y, dtype=float), np.ones(k) / k, mode="valid")


def plot_log(path_or_records, smooth: int = 20, ax=None):
    """Training curves: the loss (left) and the loss per frame index (right, one line per frame with a labelled
    colour scale), moving-averaged over ``smooth`` records. ``path_or_records`` is a JSONL log, an exported checkpoint
    or a list of records (``Pipeline.log``). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    recs = _log_records(path_or_records)
    steps = np.array([r["step"] for r in recs])
    k = max(1, min(smooth, len(recs)))
    sm = lambda y: _moving_average(y, k)  # noqa: E731
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.4), dpi=80)
    fig = ax[0].figure
    ax[0].plot(steps[k - 1:], sm(np.array([r["loss"] for r in recs])))
    ax[0].set(yscale="log")
    ax[0].set_xlabel("training step", fontsize=FONT)
    ax[0].set_ylabel("loss", fontsize=FONT)
    ax[0].set_title("training loss", fontsize=FONT + 1)
    if "per_frame" in recs[0]:
        pf = np.array([r["per_frame"] for r in recs])                  # (records, F)
        cmap, norm = plt.get_cmap("viridis"), Normalize(0, pf.shape[1] - 1)
        for f in range(pf.shape[1]):
            ax[1].plot(steps[k - 1:], sm(pf[:, f]), color=cmap(norm(f)), lw=0.9)
        ax[1].set(yscale="log")
        ax[1].set_xlabel("training step", fontsize=FONT)
        ax[1].set_ylabel("loss of one frame", fontsize=FONT)
        ax[1].set_title("loss per frame index", fontsize=FONT + 1)
        cbar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax[1])
        cbar.set_label("frame index", fontsize=FONT)
        cbar.ax.tick_params(labelsize=FONT)
    else:
        ax[1].set_axis_off()
    for a in ax:
        a.tick_params(labelsize=FONT)
        a.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    fig.tight_layout()
    return fig


def compare_logs(logs: dict, smooth: int = 20):
    """Several runs' training loss on one axis: ``logs`` maps a label to a JSONL log, a checkpoint file (its
    thinned ``log``) or a list of records. The losses of runs with different training samplers are averaged over
    different noise levels, so they compare the runs' training, not their samples. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    if not logs:
        raise ValueError("compare_logs needs at least one log")
    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=80)
    for label, src in logs.items():
        recs = _log_records(src, f"the log of {label!r}")
        k = max(1, min(smooth, len(recs)))
        loss = _moving_average([r["loss"] for r in recs], k)
        ax.plot([r["step"] for r in recs][k - 1:], loss, label=str(label))
    ax.set(yscale="log")
    ax.set_xlabel("training step", fontsize=FONT)
    ax.set_ylabel("loss (moving average)", fontsize=FONT)
    ax.set_title("training loss of each run (each over its own noise levels)", fontsize=FONT + 1)
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2f"))
    ax.tick_params(which="both", labelsize=FONT)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.legend(fontsize=FONT)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m ardiff_edu.figures PATH.png   (writes the overview figure)", file=sys.stderr)
        return 2
    data = figure_png(overview_figure())
    path = atomic_write_bytes(argv[0], data)
    print(f"wrote {path} ({len(data) / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
