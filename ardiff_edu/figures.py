"""Figures shared by the notebooks and the docs.

    python -m ardiff_edu.figures docs/overview.png      # the README's "paper in one picture" (notebook 00)
"""

from __future__ import annotations

import io
import sys

import numpy as np
import torch

from ardiff_edu.utils import atomic_write_bytes

__all__ = ["OVERVIEW", "overview_figure", "draw_clip", "figure_png", "main"]

#: The settings of the overview figure: F frames, S sampling steps, the middle staircase's s and shown iteration.
OVERVIEW = {"num_frames": 8, "num_steps": 10, "s": 2, "iteration": 13, "num_training_clips": 6, "seed": 0}


def overview_figure(dpi: int = 80):
    """AR-Diffusion in one picture: training timesteps (FoPP), the AD staircase for three ``s``, a noisy clip.

    Top left: a few FoPP training sequences, each non-decreasing along the frames. Top right: the inference
    step-index staircase (model timestep per iteration and frame) for ``s = 0`` (synchronous), ``s = 2``
    (asynchronous) and ``s = S`` (frame-by-frame auto-regressive). Bottom: the demo clip with every frame at the noise
    level it sits at after the highlighted iteration of the ``s = 2`` staircase. Returns a matplotlib ``Figure``
    (not attached to pyplot, so it never shows twice in a notebook).
    """
    from matplotlib.figure import Figure

    from ardiff_edu.explorer import demo_clip, draw_schedule, frame_timesteps, noised_frames
    from ardiff_edu.schedules import ad_schedule
    from ardiff_edu.timesteps import sample_timesteps

    F, S, s_mid, it = (OVERVIEW[k] for k in ("num_frames", "num_steps", "s", "iteration"))
    g = torch.Generator().manual_seed(OVERVIEW["seed"])
    train_t = sample_timesteps("fopp", OVERVIEW["num_training_clips"], F, 1000, g)

    fig = Figure(figsize=(11.0, 4.8), dpi=dpi)
    grid = fig.add_gridspec(2, 4, height_ratios=[3.0, 1.25], hspace=0.6, wspace=0.4)

    ax = fig.add_subplot(grid[0, 0])
    for row in train_t.numpy():
        ax.plot(np.arange(F), row, marker="o", markersize=3, linewidth=1.2)
    ax.set_ylim(1000, -30)
    ax.set_xlabel("frame", fontsize=8)
    ax.set_ylabel("training timestep t", fontsize=8)
    ax.set_title("training: FoPP timesteps\n(6 clips, each non-decreasing)", fontsize=9)
    ax.tick_params(labelsize=7)

    schedules = [ad_schedule(F, S, 0), ad_schedule(F, S, s_mid), ad_schedule(F, S, S)]
    names = ["s = 0 (synchronous)", f"s = {s_mid} (asynchronous)", f"s = S = {S} (auto-regressive)"]
    for col, (sched, name) in enumerate(zip(schedules, names), start=1):
        ax = fig.add_subplot(grid[0, col])
        title = f"inference, {name}\nNFE = {sched.nfe} network calls"
        draw_schedule(ax, sched, iteration=it if col == 2 else None, title=title)
        if col > 1:
            ax.set_ylabel("")

    levels = frame_timesteps(schedules[1], it)
    frames = noised_frames(demo_clip(F, size=24), levels, seed=OVERVIEW["seed"])
    ax = fig.add_subplot(grid[1, :])
    labels = [f"frame {f}: " + ("clean" if t < 0 else f"t={t}") for f, t in enumerate(levels)]
    draw_clip(ax, frames, labels, gap=3)
    ax.set_title(f"one clip after iteration {it} of the s = {s_mid} staircase: earlier frames are cleaner",
                 fontsize=9)
    return fig


def draw_clip(ax, frames: torch.Tensor, labels, title: str = "", gap: int = 2):
    """Draw ``frames`` (F, 3, H, W) in [-1, 1] side by side into a matplotlib ``ax``, each with its label below."""
    F, _, H, W = frames.shape
    img = ((frames.detach().float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
    strip = np.ones((H, F * (W + gap) - gap, 3))
    for f in range(F):
        strip[:, f * (W + gap): f * (W + gap) + W] = img[f]
    ax.imshow(strip, interpolation="nearest")
    ax.set_xticks([f * (W + gap) + W / 2 - 0.5 for f in range(F)])
    ax.set_xticklabels(list(labels), fontsize=7)
    ax.set_yticks([])
    ax.set_title(title, fontsize=8, loc="left")


def figure_png(fig, dpi: int | None = None) -> bytes:
    """A ``Figure`` as PNG bytes (no timestamp or software metadata, so equal figures give equal bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


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
