"""``TimestepExplorer``: an ipywidget to play with the step-index staircase of every schedule kind.

Built in three layers so that plain pytest can test it (field notes B.3, lesson 7):

1. the model: :class:`ExplorerState` (the control values) -> :func:`build_schedule` ->
   a :class:`~ardiff_edu.schedules.Schedule`;
2. pure renderers: :func:`render_matrix_png`, :func:`render_frames_png`, :func:`render_info_html`
   (state/schedule in, PNG bytes or HTML text out; no widgets, no display);
3. a thin widget shell, :class:`TimestepExplorer`: sliders whose ``observe`` callbacks write the renderers' output into
   ``widgets.Image.value`` / ``widgets.HTML.value`` (never into an ``Output`` context, which only captures inside a
   kernel). Setting ``explorer.controls["s"].value = 3`` in a test redraws synchronously.

Usage in a notebook: ``TimestepExplorer()`` as the last expression of a cell (or ``display(explorer)``).
"""

from __future__ import annotations

import dataclasses
import html
import io
from dataclasses import dataclass

import numpy as np
import torch

from ardiff_edu.diffusion import NoiseSchedule
from ardiff_edu.schedules import (KINDS, OVERFLOW_MODES, Schedule, ad_schedule, chunked, fifo, full_sequence,
                                  pyramid, skyreels)
from ardiff_edu.utils import check_int

__all__ = ["ExplorerState", "KNOBS", "build_schedule", "nfe_formula", "frame_timesteps", "demo_clip",
           "noised_frames", "draw_schedule", "render_matrix_png", "render_frames_png", "render_message_png",
           "render_info_html", "TimestepExplorer"]

#: Which controls matter for each kind, beyond ``num_frames`` and ``num_steps`` (the others are hidden).
#: For ``skyreels`` the ``s`` control is SkyReels' ``ar_step`` (the lag between blocks) and ``block_size`` its
#: ``causal_block_size``; for ``chunked`` ``block_size`` is CausVid / Self-Forcing's frames per block.
KNOBS = {
    "ar_diffusion": ("s", "window", "overflow"),
    "full_sequence": (),
    "pyramid": ("uncertainty_scale",),
    "skyreels": ("s", "block_size", "window", "overflow"),
    "fifo": ("num_partitions",),
    "chunked": ("block_size",),
}

#: Pixels per side of a frame of the demo clip.
FRAME_SIZE = 16


# ----------------------------------------------------------------------------------------------------------------
# 1. the model
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExplorerState:
    """The explorer's control values. ``window = 0`` means the whole video (no sliding window)."""

    kind: str = "ar_diffusion"
    num_frames: int = 8
    num_steps: int = 10
    s: int = 2
    window: int = 0
    overflow: str = "raise"
    block_size: int = 2
    uncertainty_scale: float = 1.0
    num_partitions: int = 1
    iteration: int = 0
    num_timesteps: int = 1000

    def replace(self, **changes) -> "ExplorerState":
        return dataclasses.replace(self, **changes)


def build_schedule(state: ExplorerState) -> Schedule:
    """The schedule for ``state`` (raises the schedules' ``ValueError`` for an invalid combination)."""
    F, S, T = state.num_frames, state.num_steps, state.num_timesteps
    window = None if state.window == 0 else state.window
    if state.kind == "ar_diffusion":
        return ad_schedule(F, S, state.s, window, T, state.overflow)
    if state.kind == "full_sequence":
        return full_sequence(F, S, T)
    if state.kind == "pyramid":
        return pyramid(F, S, state.uncertainty_scale, T)
    if state.kind == "skyreels":
        return skyreels(F, S, state.block_size, state.s, window, T, state.overflow)
    if state.kind == "fifo":
        return fifo(F, S, state.num_partitions, T)
    if state.kind == "chunked":
        return chunked(F, S, state.block_size, T)
    raise ValueError(f"kind must be one of {sorted(KINDS)}, got {state.kind!r}")


def nfe_formula(sched: Schedule) -> str:
    """The network-call count of ``sched`` as a formula with its numbers filled in."""
    F, S, p, n = sched.num_frames, sched.num_steps, sched.params, sched.nfe
    if sched.kind == "ar_diffusion":
        W = sched.window_size
        if sched.overflow == "wait" and W < F and sched.s * W < S:
            return (f"((F-1)//window)*S + ((F-1)%window)*s + S = {(F - 1) // W}*{S} + {(F - 1) % W}*{sched.s} + {S}"
                    f" = {n}")
        return f"S = {n}" if sched.s == 0 else f"S + (F-1)*s = {S} + {F - 1}*{sched.s} = {n}"
    if sched.kind == "full_sequence":
        return f"S = {n}"
    if sched.kind == "pyramid":
        return f"S + floor((F-1)*u) = {S} + floor({F - 1}*{p['uncertainty_scale']:g}) = {n}"
    if sched.kind == "skyreels":
        b = p["causal_block_size"]
        return f"S + (F/b-1)*ar_step = {S} + {F // b - 1}*{p['ar_step']} = {n}"
    if sched.kind == "fifo":
        return f"n*(S + F-1) = {p['num_partitions']}*({S} + {F - 1}) = {n}"
    if sched.kind == "chunked":
        b = p["block_size"]
        return f"S*ceil(F/k) = {S}*{-(-F // b)} = {n}"
    return f"{n}"


def frame_timesteps(sched: Schedule, iteration: int) -> np.ndarray:
    """int64 ``[F]``: the noise level (timestep) each frame *sits at* after ``iteration`` (``-1`` = clean).

    A frame that received ``k`` updates sits at ``template[k+1]`` (untouched: ``T-1``; finished: clean). Updates a
    window skipped (``overflow="drop"``) are not counted, so dropped frames stay noisy.
    """
    iteration = check_int("iteration", iteration, 0, sched.num_iterations - 1)
    done = sched.update_mask[: iteration + 1].sum(axis=0)
    S = sched.num_steps
    levels = np.where(done == 0, sched.template[0], sched.template[np.minimum(done + 1, S)])
    return np.where(done >= S, -1, levels).astype(np.int64)


def demo_clip(num_frames: int, size: int = FRAME_SIZE) -> torch.Tensor:
    """A small procedural clip, float ``(F, 3, size, size)`` in [-1, 1]: a white square sliding left to right over a
    background whose hue turns from blue to orange, so every frame is recognisable even when noisy."""
    F = check_int("num_frames", num_frames, 1)
    size = check_int("size", size, 4)
    clip = torch.empty(F, 3, size, size)
    side = max(size // 3, 2)
    for f in range(F):
        a = f / max(F - 1, 1)
        colour = torch.tensor([-0.8 + 1.6 * a, -0.4 + 0.4 * a, 0.8 - 1.6 * a])
        clip[f] = colour[:, None, None]
        x = round(a * (size - side))
        y = (size - side) // 2
        clip[f, :, y:y + side, x:x + side] = 1.0
    return clip


def noised_frames(clip: torch.Tensor, timesteps: np.ndarray, num_timesteps: int = 1000, seed: int = 0) -> torch.Tensor:
    """``clip`` (F, 3, H, W) noised per frame to ``timesteps`` [F] (``-1`` = clean) with one fixed noise draw, so that
    moving through iterations shows each frame emerging from the same noise."""
    noise = torch.randn(clip.shape, generator=torch.Generator().manual_seed(seed))
    t = torch.as_tensor(np.asarray(timesteps), dtype=torch.long)
    # the package's per-frame forward process (notebook 01): x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
    noisy = NoiseSchedule(T=num_timesteps).q_sample(clip[None], t.clamp(min=0)[None], noise=noise[None])[0]
    clean = (t < 0).reshape(-1, *([1] * (clip.dim() - 1)))
    return torch.where(clean, clip, noisy.to(clip.dtype))


# ----------------------------------------------------------------------------------------------------------------
# 2. pure renderers
# ----------------------------------------------------------------------------------------------------------------
def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, metadata={"Software": None})
    return buf.getvalue()


def draw_schedule(ax, sched: Schedule, iteration: int | None = None, title: str | None = None):
    """Draw the heatmap of model timesteps, iterations (down) x frames (across), into a matplotlib ``ax``.

    Dark = clean, bright = noisy. Dots mark updated entries, red crosses skipped ones (``overflow="drop"``), the
    green outline is the window of each iteration, and a cyan box and arrow highlight ``iteration``. The title
    (default: the kind and the NFE) can be replaced. Returns the image artist (for a colorbar).
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
    # the window's two edges: a vertical segment per iteration, joined where the window slides
    ys = np.repeat(np.arange(I), 2) + np.tile([-0.5, 0.5], I)
    for edge in (0, 1):
        ax.plot(np.repeat(sched.windows[:, edge], 2) - 0.5, ys, color="lime", linewidth=1.4)
    if iteration is not None and 0 <= iteration < I:
        ax.add_patch(Rectangle((-0.5, iteration - 0.5), F, 1, edgecolor="cyan", facecolor="none", linewidth=1.5))
        ax.annotate("", xy=(-0.5, iteration), xytext=(-0.5 - max(0.8, F / 8), iteration), annotation_clip=False,
                    arrowprops={"arrowstyle": "->", "color": "tab:blue", "linewidth": 1.5})
    ax.set_xlabel("frame", fontsize=8)
    ax.set_ylabel("iteration", fontsize=8)
    ax.set_xlim(-0.5, F - 0.5)
    ax.set_ylim(I - 0.5, -0.5)
    ax.set_title(title if title is not None else f"{sched.kind}: NFE = {sched.nfe}", fontsize=9)
    ax.tick_params(labelsize=7)
    return im


def render_matrix_png(sched: Schedule, iteration: int | None = None, dpi: int = 70) -> bytes:
    """:func:`draw_schedule` with a colorbar, as PNG bytes."""
    from matplotlib.figure import Figure

    F = sched.num_frames
    fig = Figure(figsize=(min(2.2 + 0.2 * F, 6.0), 3.6), dpi=dpi)
    ax = fig.add_subplot()
    im = draw_schedule(ax, sched, iteration)
    cbar = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.03)
    cbar.set_label("model timestep", fontsize=7)
    cbar.ax.tick_params(labelsize=6)
    fig.tight_layout()
    return _png(fig)


def render_frames_png(frames: torch.Tensor, timesteps: np.ndarray, dpi: int = 70) -> bytes:
    """The frame strip: ``frames`` (F, 3, H, W) in [-1, 1] side by side, each labelled with its noise level."""
    from matplotlib.figure import Figure

    F, _, H, W = frames.shape
    img = ((frames.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
    gap = 2
    strip = np.ones((H, F * (W + gap) - gap, 3))
    for f in range(F):
        strip[:, f * (W + gap): f * (W + gap) + W] = img[f]
    fig = Figure(figsize=(min(0.6 + 0.42 * F, 9.0), 1.05), dpi=dpi)
    ax = fig.add_subplot()
    ax.imshow(strip, interpolation="nearest")
    ax.set_xticks([f * (W + gap) + W / 2 - 0.5 for f in range(F)])
    ax.set_xticklabels(["clean" if t < 0 else str(int(t)) for t in timesteps], fontsize=6, rotation=0)
    ax.set_yticks([])
    ax.set_title("frames after this iteration (label: noise level t)", fontsize=7)
    fig.tight_layout(pad=0.3)
    return _png(fig)


def render_message_png(message: str, dpi: int = 70) -> bytes:
    """A small placeholder image carrying ``message`` (shown instead of the heatmap for invalid settings)."""
    import textwrap

    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.4, 1.4), dpi=dpi)
    fig.text(0.5, 0.5, "\n".join(textwrap.wrap(message, 48)[:6]), ha="center", va="center", fontsize=7,
             color="darkred")
    return _png(fig)


def render_info_html(state: ExplorerState, sched: Schedule | None, error: str | None = None) -> str:
    """One HTML line: the NFE with its formula, or the error message for an invalid combination."""
    if sched is None:
        return (f'<div class="ardiff-explorer-info" style="color:#a00000"><b>Invalid settings:</b> '
                f"{html.escape(str(error))}</div>")
    window = "whole video" if state.window == 0 or sched.window_size == sched.num_frames else f"{sched.window_size}"
    skipped = int(sched.skipped_mask.sum())
    extra = (f' <span style="color:#a00000">· {skipped} updates skipped: frames '
             f"{sorted(set(np.nonzero(sched.skipped_mask)[1].tolist()))} end unfinished</span>") if skipped else ""
    return (f'<div class="ardiff-explorer-info"><b>{html.escape(sched.kind)}</b> · F={sched.num_frames} · '
            f"S={sched.num_steps} · window: {window} · iterations: {sched.num_iterations} · "
            f"<b>NFE = {sched.nfe}</b> ({html.escape(nfe_formula(sched))}){extra}</div>")


# ----------------------------------------------------------------------------------------------------------------
# 3. the widget shell
# ----------------------------------------------------------------------------------------------------------------
class TimestepExplorer:
    """Interactive view of a schedule: heatmap of model timesteps (iterations x frames) with the window and the
    updates marked, the NFE, and the demo clip's frames at their noise levels at the chosen iteration.

    Attributes:
        controls: dict of widgets: ``kind`` (Dropdown of :data:`~ardiff_edu.schedules.KINDS`), ``num_frames``,
            ``num_steps``, ``s``, ``window`` (IntSlider; **0 = the whole video**, no sliding window), ``overflow``,
            ``block_size``, ``uncertainty_scale``, ``num_partitions`` (kind-specific, shown per :data:`KNOBS`),
            ``iteration`` (IntSlider) and ``play`` (a Play widget linked to it in the browser).
        schedule: the :class:`Schedule` for the current control values, or ``None`` when they are invalid.
        error: ``None``, or the message of the invalid combination (also shown in the view).
        matrix_image, frames_image: ``widgets.Image`` with PNG bytes; info: ``widgets.HTML`` (NFE / message).
        widget: the ``VBox`` to display (``TimestepExplorer()`` itself displays as it).
    """

    def __init__(self, state: ExplorerState | None = None, max_frames: int = 32, max_steps: int = 50, dpi: int = 70,
                 **overrides):
        import ipywidgets as widgets

        state = (state or ExplorerState()).replace(**overrides)
        self.dpi = dpi
        self._num_timesteps = state.num_timesteps
        self._busy = False
        self.schedule: Schedule | None = None
        self.error: str | None = None
        self._clip_cache: dict[int, torch.Tensor] = {}
        style = {"description_width": "110px"}

        def layout():  # one Layout per widget: a shared one would hide every control at once
            return widgets.Layout(width="360px")

        self.controls = {
            "kind": widgets.Dropdown(options=list(KINDS), value=state.kind, description="kind", style=style,
                                     layout=layout()),
            "num_frames": widgets.IntSlider(value=state.num_frames, min=1, max=max_frames, description="frames F",
                                            style=style, layout=layout(), continuous_update=False),
            "num_steps": widgets.IntSlider(value=state.num_steps, min=1, max=max_steps, description="steps S",
                                           style=style, layout=layout(), continuous_update=False),
            "s": widgets.IntSlider(value=min(state.s, state.num_steps), min=0, max=state.num_steps,
                                   description="AR step s", style=style, layout=layout(), continuous_update=False),
            "window": widgets.IntSlider(value=state.window, min=0, max=max_frames, description="window (0=all)",
                                        style=style, layout=layout(), continuous_update=False),
            "overflow": widgets.Dropdown(options=list(OVERFLOW_MODES), value=state.overflow, description="overflow",
                                         style=style, layout=layout()),
            "block_size": widgets.IntSlider(value=state.block_size, min=1, max=8, description="block size",
                                            style=style, layout=layout(), continuous_update=False),
            "uncertainty_scale": widgets.FloatSlider(value=state.uncertainty_scale, min=0.0, max=float(max_steps),
                                                     step=0.25, description="uncertainty u", style=style,
                                                     layout=layout(), continuous_update=False),
            "num_partitions": widgets.IntSlider(value=state.num_partitions, min=1, max=8, description="partitions n",
                                                style=style, layout=layout(), continuous_update=False),
            "iteration": widgets.IntSlider(value=0, min=0, max=1, description="iteration", style=style,
                                           layout=layout()),
            "play": widgets.Play(value=0, min=0, max=1, interval=250, description="play"),
        }
        widgets.jslink((self.controls["play"], "value"), (self.controls["iteration"], "value"))
        self.matrix_image = widgets.Image(format="png")
        self.frames_image = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))
        self.info = widgets.HTML()
        c = self.controls
        knobs = widgets.VBox([c[name] for name in ("kind", "num_frames", "num_steps", "s", "window", "overflow",
                                                   "block_size", "uncertainty_scale", "num_partitions")])
        player = widgets.HBox([c["play"], c["iteration"]])
        self.widget = widgets.VBox([widgets.HBox([knobs, self.matrix_image]), player, self.frames_image, self.info])
        self.widget.add_class("ardiff-timestep-explorer")
        for name, control in c.items():
            if name != "play":
                control.observe(self._on_change, names="value")
        self._refresh(new_schedule=True, iteration=state.iteration)

    # -- state -----------------------------------------------------------------------------------------------
    @property
    def state(self) -> ExplorerState:
        """The current control values as an :class:`ExplorerState`."""
        c = self.controls
        return ExplorerState(kind=c["kind"].value, num_frames=c["num_frames"].value, num_steps=c["num_steps"].value,
                             s=c["s"].value, window=c["window"].value, overflow=c["overflow"].value,
                             block_size=c["block_size"].value, uncertainty_scale=c["uncertainty_scale"].value,
                             num_partitions=c["num_partitions"].value, iteration=c["iteration"].value,
                             num_timesteps=self._num_timesteps)

    def _on_change(self, change):
        if self._busy:
            return
        self._refresh(new_schedule=change["owner"] is not self.controls["iteration"])

    def _refresh(self, new_schedule: bool, iteration: int | None = None):
        c = self.controls
        self._busy = True
        try:
            if new_schedule:
                # the AR step lives in [0, S]: keep the slider's range in sync with the steps slider
                c["s"].max = c["num_steps"].value
                c["uncertainty_scale"].max = float(c["num_steps"].value)
                for name in ("s", "window", "overflow", "block_size", "uncertainty_scale", "num_partitions"):
                    c[name].layout.display = None if name in KNOBS[c["kind"].value] else "none"
                try:
                    self.schedule, self.error = build_schedule(self.state), None
                except ValueError as err:
                    self.schedule, self.error = None, str(err)
                if self.schedule is not None:
                    last = self.schedule.num_iterations - 1
                    c["iteration"].max = c["play"].max = max(last, 1)
                    target = c["iteration"].value if iteration is None else iteration
                    c["iteration"].value = min(max(target, 0), last)
        finally:
            self._busy = False
        self._draw()

    def _draw(self):
        state = self.state
        self.info.value = render_info_html(state, self.schedule, self.error)
        if self.schedule is None:
            self.matrix_image.value = render_message_png(self.error or "", dpi=self.dpi)
            self.frames_image.value = b""
            return
        sched = self.schedule
        it = min(state.iteration, sched.num_iterations - 1)
        self.matrix_image.value = render_matrix_png(sched, it, dpi=self.dpi)
        clip = self._clip_cache.get(sched.num_frames)
        if clip is None:
            clip = self._clip_cache[sched.num_frames] = demo_clip(sched.num_frames)
        levels = frame_timesteps(sched, it)
        frames = noised_frames(clip, levels, self._num_timesteps, seed=0)
        self.frames_image.value = render_frames_png(frames, levels, dpi=self.dpi)

    # -- display ---------------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def png(self) -> bytes:
        """The current heatmap as PNG bytes (for a static copy that renders where widgets do not)."""
        return bytes(self.matrix_image.value)
