"""``TimestepExplorer``: an ipywidget to play with the step-index staircase of every schedule kind (notebook 03).

Every inference schedule of :mod:`ardiff_edu.ad` and :mod:`ardiff_edu.staircases` is one object, a staircase of
step indices; the explorer draws it for any kind and knobs, with the NFE formula and a demo clip at the noise levels
of the chosen iteration. Built in three layers so that plain pytest can test it:

1. the model: :class:`ExplorerState` (the control values) -> :func:`build_schedule` ->
   a :class:`~ardiff_edu.ad.Schedule`;
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
from dataclasses import dataclass

import numpy as np
import torch

from ardiff_edu.ad import OVERFLOW_MODES, Schedule
from ardiff_edu.figures import FONT, demo_clip, draw_clip, draw_schedule, figure_png, frame_timesteps, noised_frames
from ardiff_edu.staircases import KINDS, staircase

__all__ = ["ExplorerState", "KNOBS", "build_schedule", "render_matrix_png", "render_frames_png",
           "render_message_png", "render_info_html", "TimestepExplorer"]

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
    """The schedule for ``state``, through :func:`ardiff_edu.staircases.staircase` (raises its ``ValueError`` for an
    invalid combination)."""
    window = None if state.window == 0 else state.window
    knobs = {"ar_diffusion": {"s": state.s, "window": window, "overflow": state.overflow},
             "full_sequence": {}, "pyramid": {"uncertainty_scale": state.uncertainty_scale},
             "skyreels": {"causal_block_size": state.block_size, "ar_step": state.s, "window": window,
                          "overflow": state.overflow},
             "fifo": {"num_partitions": state.num_partitions}, "chunked": {"block_size": state.block_size}}
    return staircase(state.kind, state.num_frames, state.num_steps, num_timesteps=state.num_timesteps,
                     **knobs[state.kind])


# ----------------------------------------------------------------------------------------------------------------
# 2. pure renderers
# ----------------------------------------------------------------------------------------------------------------
def render_matrix_png(sched: Schedule, iteration: int | None = None, dpi: int = 80) -> bytes:
    """:func:`~ardiff_edu.figures.draw_schedule` with its colourbar, as PNG bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(2.8 + 0.22 * sched.num_frames, 7.0), 4.0), dpi=dpi)
    draw_schedule(fig.add_subplot(), sched, iteration)
    fig.tight_layout()
    return figure_png(fig, tight=False)


def render_frames_png(frames: torch.Tensor, timesteps: np.ndarray, dpi: int = 80) -> bytes:
    """The frame strip: ``frames`` (F, 3, H, W) in [-1, 1] side by side, each labelled with its noise level."""
    from matplotlib.figure import Figure

    F = len(frames)
    fig = Figure(figsize=(min(0.8 + 0.55 * F, 12.0), 1.5), dpi=dpi)
    labels = ["clean" if t < 0 else str(int(t)) for t in timesteps]
    draw_clip(fig.add_subplot(), frames, labels, title="frames after this iteration (label: noise level t)",
              fontsize=FONT if F <= 16 else FONT - 2)
    fig.tight_layout(pad=0.3)
    return figure_png(fig, tight=False)


def render_message_png(message: str, dpi: int = 80) -> bytes:
    """A small placeholder image carrying ``message`` (shown instead of the heatmap for invalid settings)."""
    import textwrap

    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.4, 1.8), dpi=dpi)
    fig.text(0.5, 0.5, "\n".join(textwrap.wrap(message, 48)[:6]), ha="center", va="center", fontsize=FONT,
             color="darkred")
    return figure_png(fig, tight=False)


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
            f"<b>NFE = {sched.nfe}</b> ({html.escape(sched.formula)}){extra}</div>")


# ----------------------------------------------------------------------------------------------------------------
# 3. the widget shell
# ----------------------------------------------------------------------------------------------------------------
class TimestepExplorer:
    """Interactive view of a schedule: heatmap of model timesteps (iterations x frames) with the window and the
    updates marked, the NFE, and the demo clip's frames at their noise levels at the chosen iteration.

    Attributes:
        controls: dict of widgets: ``kind`` (Dropdown of :data:`~ardiff_edu.staircases.KINDS`), ``num_frames``,
            ``num_steps``, ``s``, ``window`` (IntSlider; **0 = the whole video**, no sliding window), ``overflow``,
            ``block_size``, ``uncertainty_scale``, ``num_partitions`` (kind-specific, shown per :data:`KNOBS`),
            ``iteration`` (IntSlider) and ``play`` (a Play widget linked to it in the browser).
        schedule: the :class:`Schedule` for the current control values, or ``None`` when they are invalid.
        error: ``None``, or the message of the invalid combination (also shown in the view).
        matrix_image, frames_image: ``widgets.Image`` with PNG bytes; info: ``widgets.HTML`` (NFE / message).
        widget: the ``VBox`` to display (``TimestepExplorer()`` itself displays as it).
    """

    def __init__(self, state: ExplorerState | None = None, max_frames: int = 32, max_steps: int = 50, dpi: int = 80,
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
