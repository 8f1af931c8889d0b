"""``LiveSampler``: watch the shipped model denoise a video on the AD staircase, one iteration at a time (notebook 08).

The sampler (:func:`ardiff_edu.pipeline.generate` → :func:`ardiff_edu.ddim.sample`) reports after every iteration
the latent state ``x`` and the network's estimate ``x̂0`` of the frames it computed (its ``callback``). The widget
keeps both for every iteration and shows, beside the staircase with that iteration marked, every frame's state
(decoded, labelled with its noise level) and its predicted clean frame. Built in three layers, like
:class:`~ardiff_edu.explorer.timesteps.TimestepExplorer`:

1. the model: :class:`LiveState` (the control values) → :func:`run_live_sampler` → a :class:`SamplerTrace` (the
   schedule and the latents of every iteration, decoded to uint8 on demand); :func:`display_x0` picks the estimate
   shown for each frame;
2. pure renderers: :func:`~ardiff_edu.explorer.timesteps.render_matrix_png` (the staircase) and
   :func:`render_live_frames_png` (uint8 frames in, PNG bytes out);
3. a thin widget shell, :class:`LiveSampler`: traces are cached per ``(s, S, seed, F, window)``, so moving the
   iteration slider (or the play button) only redraws; it never samples again.

The sampler runs without the KV cache (``kv_cache=False``), so that every frame inside the window gets an estimate
in every iteration, and with one video: the defaults (12 frames, ``S = 10``) take about a second on a CPU.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass

import numpy as np
import torch

from ardiff_edu.ad import Schedule, ad_schedule
from ardiff_edu.explorer.timesteps import render_matrix_png, render_message_png
from ardiff_edu.figures import FONT, draw_clip, frame_timesteps
from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, Pipeline, generate, load_pipeline
from ardiff_edu.utils import check_int

__all__ = ["LiveState", "SamplerTrace", "run_live_sampler", "display_x0", "render_live_frames_png", "LiveSampler"]

#: The grey shown for a frame that has no estimate yet (never inside a window so far).
NO_ESTIMATE = 128


# ----------------------------------------------------------------------------------------------------------------
# 1. the model
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveState:
    """The sampler's control values; ``window = 0`` means the model's training length."""

    s: int = 2
    num_steps: int = 10
    seed: int = 0
    num_frames: int = 12
    window: int = 0
    iteration: int = 0

    def replace(self, **changes) -> "LiveState":
        return dataclasses.replace(self, **changes)

    @property
    def key(self) -> tuple[int, int, int, int, int]:
        """What a sampling run depends on: ``(s, S, seed, F, window)`` (not the iteration)."""
        return (self.s, self.num_steps, self.seed, self.num_frames, self.window)


class SamplerTrace:
    """One sampling run, iteration by iteration (one video).

    Attributes:
        schedule: the :class:`~ardiff_edu.ad.Schedule` it ran.
        states: float ``(I, F, L, C)``, the normalised latents after every iteration.
        x0: float ``(I, F, L, C)``, the estimate ``x̂0`` of every frame computed in that iteration (NaN elsewhere).
        video: uint8 ``(F, H, W, 3)``, the decoded result (what :func:`~ardiff_edu.pipeline.generate` returns).
    """

    def __init__(self, pipeline: Pipeline, schedule: Schedule, states: torch.Tensor, x0: torch.Tensor,
                 video: np.ndarray):
        self.pipeline, self.schedule, self.states, self.x0, self.video = pipeline, schedule, states, x0, video
        self._decoded: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        computed = torch.isfinite(x0).all(dim=(2, 3)).numpy()                         # (I, F)
        iters = np.where(computed, np.arange(len(computed))[:, None], -1)
        #: ``last[i, f]``: the latest iteration <= i that computed frame f (-1: none yet)
        self.last = np.maximum.accumulate(iters, axis=0)

    @property
    def num_iterations(self) -> int:
        return self.schedule.num_iterations

    def frames(self, iteration: int) -> tuple[np.ndarray, np.ndarray]:
        """uint8 ``(F, H, W, 3)`` twice: the decoded state after ``iteration`` and the estimate shown for every frame
        (:func:`display_x0`); decoded once per iteration, then cached."""
        iteration = check_int("iteration", iteration, 0, self.num_iterations - 1)
        if iteration not in self._decoded:
            x0, known = display_x0(self, iteration)
            both = torch.stack([self.states[iteration], torch.nan_to_num(x0)])
            state_img, x0_img = self.pipeline.decode_uint8(both)
            x0_img[~known] = NO_ESTIMATE
            self._decoded[iteration] = (state_img, x0_img)
        return self._decoded[iteration]


def display_x0(trace: SamplerTrace, iteration: int) -> tuple[torch.Tensor, np.ndarray]:
    """The estimate shown for every frame after ``iteration``: ``(latents (F, L, C), known (F,) bool)``.

    A frame computed in this iteration shows this iteration's ``x̂0``; a finished frame outside the window shows
    itself (it is clean); any other frame shows the last estimate made for it, or nothing (``known`` False) if the
    network has not seen it yet."""
    i = check_int("iteration", iteration, 0, trace.num_iterations - 1)
    F = trace.schedule.num_frames
    last = trace.last[i]
    finished = frame_timesteps(trace.schedule, i) < 0
    out = torch.full(trace.states.shape[1:], float("nan"), dtype=trace.states.dtype)
    for f in range(F):
        if last[f] == i or (last[f] >= 0 and not finished[f]):
            out[f] = trace.x0[last[f], f]
        elif finished[f]:
            out[f] = trace.states[i, f]
    return out, np.isfinite(out.numpy()).all(axis=(1, 2))


def run_live_sampler(pipeline: Pipeline, state: LiveState) -> SamplerTrace:
    """Sample one video for ``state`` with :func:`~ardiff_edu.pipeline.generate` (no KV cache) and record every
    iteration. Raises the schedule's ``ValueError`` for an invalid combination (e.g. an unsafe sliding window)."""
    window = pipeline.config.num_frames if state.window == 0 else state.window
    schedule = ad_schedule(state.num_frames, state.num_steps, state.s, window, pipeline.noise_schedule.T)
    states, x0 = [], []

    def record(i, x, x0_hat):
        states.append(x[0].clone())
        x0.append(x0_hat[0].clone())

    video = generate(pipeline, 1, state.num_frames, s=state.s, num_steps=state.num_steps, window=window,
                     seed=state.seed, kv_cache=False, callback=record)[0]
    return SamplerTrace(pipeline, schedule, torch.stack(states), torch.stack(x0), video)


# ----------------------------------------------------------------------------------------------------------------
# 2. pure renderers
# ----------------------------------------------------------------------------------------------------------------
def render_live_frames_png(states: np.ndarray, x0: np.ndarray, levels: np.ndarray, iteration: int,
                           dpi: int = 80) -> bytes:
    """Two strips of uint8 frames ``(F, H, W, 3)``: the state after ``iteration`` (labelled with each frame's noise
    level, ``levels`` as from :func:`~ardiff_edu.figures.frame_timesteps`) above the predicted clean frames."""
    from matplotlib.figure import Figure

    from ardiff_edu.figures import figure_png

    F = len(states)
    fig = Figure(figsize=(min(1.2 + 0.6 * F, 13.0), 3.1), dpi=dpi)
    top, bottom = fig.subplots(2, 1)
    size = FONT if F <= 16 else FONT - 2
    draw_clip(top, states, ["clean" if t < 0 else str(int(t)) for t in levels],
              title=f"state x after iteration {iteration}, decoded (label: noise level t)", fontsize=size)
    draw_clip(bottom, x0, None, title="the network's estimate x̂0 of the clean frame (grey: not seen yet)",
              fontsize=size)
    bottom.set_xlabel("frame", fontsize=FONT)
    fig.tight_layout(pad=0.3)
    return figure_png(fig, tight=False)


def _info_html(state: LiveState, sched: Schedule | None, error: str | None, runs: int) -> str:
    if sched is None:
        return (f'<div class="ardiff-live-info" style="color:#a00000"><b>Invalid settings:</b> '
                f"{html.escape(str(error))}</div>")
    return (f'<div class="ardiff-live-info">F={sched.num_frames} · S={sched.num_steps} · s={state.s} · '
            f"window {sched.window_size} · seed {state.seed} · <b>NFE = {sched.nfe}</b> "
            f"({html.escape(sched.formula)}) · iteration {state.iteration} of {sched.num_iterations - 1} · "
            f"sampling runs so far: {runs}</div>")


# ----------------------------------------------------------------------------------------------------------------
# 3. the widget shell
# ----------------------------------------------------------------------------------------------------------------
class LiveSampler:
    """The shipped model sampling one video on the AD staircase, shown at any iteration.

    Args:
        pipeline: a :class:`~ardiff_edu.pipeline.Pipeline`, or the path of a checkpoint (default: the shipped one).
        max_frames, max_steps: the ranges of the ``num_frames`` and ``num_steps`` sliders.
        cache_size: how many sampling runs are kept (the oldest is dropped first).
        overrides: initial control values (fields of :class:`LiveState`); the iteration defaults to the middle one.

    Attributes:
        controls: dict of widgets: ``s``, ``num_steps``, ``seed``, ``num_frames``, ``window`` (frames per network
            call, up to the training length), ``iteration`` and ``play`` (linked to ``iteration`` in the browser).
        trace: the :class:`SamplerTrace` of the current settings (``None`` when they are invalid; see ``error``).
        frames: uint8 ``(F, H, W, 3)``, the estimates shown for the current iteration (``None`` when invalid).
        runs: how many times the sampler ran (moving the iteration slider never adds one).
        matrix_image, frames_image: ``widgets.Image`` with PNG bytes; info: ``widgets.HTML``; widget: the ``VBox``.
    """

    def __init__(self, pipeline=None, max_frames: int = 32, max_steps: int = 50, cache_size: int = 8,
                 dpi: int = 80, **overrides):
        import ipywidgets as widgets

        if not isinstance(pipeline, Pipeline):
            pipeline = load_pipeline(DEFAULT_CHECKPOINT if pipeline is None else pipeline)
        self.pipeline = pipeline
        self.dpi, self.cache_size = dpi, check_int("cache_size", cache_size, 1)
        self._cache: dict[tuple, SamplerTrace] = {}
        self._busy = False
        self.trace: SamplerTrace | None = None
        self.error: str | None = None
        self.frames: np.ndarray | None = None
        self.runs = 0
        state = LiveState(**overrides)
        train_len = pipeline.config.num_frames
        style = {"description_width": "110px"}

        def slider(value, low, high, description, continuous=False):
            return widgets.IntSlider(value=value, min=low, max=high, description=description, style=style,
                                     layout=widgets.Layout(width="360px"), continuous_update=continuous)

        self.controls = {
            "num_frames": slider(state.num_frames, 1, max(max_frames, state.num_frames), "frames F"),
            "num_steps": slider(state.num_steps, 1, max(max_steps, state.num_steps), "steps S"),
            "s": slider(min(state.s, state.num_steps), 0, state.num_steps, "AR step s"),
            "window": slider(min(state.window or train_len, train_len), 1, train_len, "window"),
            "seed": widgets.BoundedIntText(value=state.seed, min=0, max=10**6, description="seed", style=style,
                                           layout=widgets.Layout(width="360px")),
            "iteration": slider(0, 0, 1, "iteration", continuous=True),
            "play": widgets.Play(value=0, min=0, max=1, interval=300, description="play"),
        }
        widgets.jslink((self.controls["play"], "value"), (self.controls["iteration"], "value"))
        self.matrix_image = widgets.Image(format="png")
        self.frames_image = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start"))
        self.info = widgets.HTML()
        c = self.controls
        knobs = widgets.VBox([c[n] for n in ("num_frames", "num_steps", "s", "window", "seed")])
        self.widget = widgets.VBox([widgets.HBox([knobs, self.matrix_image]), widgets.HBox([c["play"], c["iteration"]]),
                                    self.frames_image, self.info])
        self.widget.add_class("ardiff-live-sampler")
        for name, control in c.items():
            if name != "play":
                control.observe(self._on_change, names="value")
        self._refresh(new_run=True, iteration=overrides.get("iteration", -1))

    # -- state -----------------------------------------------------------------------------------------------
    @property
    def state(self) -> LiveState:
        c = self.controls
        return LiveState(s=c["s"].value, num_steps=c["num_steps"].value, seed=int(c["seed"].value),
                         num_frames=c["num_frames"].value, window=c["window"].value, iteration=c["iteration"].value)

    def _on_change(self, change):
        if not self._busy:
            self._refresh(new_run=change["owner"] is not self.controls["iteration"])

    def _trace_for(self, state: LiveState) -> SamplerTrace:
        if state.key not in self._cache:
            while len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[state.key] = run_live_sampler(self.pipeline, state)
            self.runs += 1
        return self._cache[state.key]

    def _refresh(self, new_run: bool, iteration: int | None = None):
        c = self.controls
        self._busy = True
        try:
            if new_run:
                c["s"].max = c["num_steps"].value            # the AR step lives in [0, S]
                try:
                    self.trace, self.error = self._trace_for(self.state), None
                except ValueError as err:
                    self.trace, self.error = None, str(err)
                if self.trace is not None:
                    last = self.trace.num_iterations - 1
                    c["iteration"].max = c["play"].max = max(last, 1)
                    target = c["iteration"].value if iteration is None else iteration
                    target = last // 2 if target == -1 else target        # -1: the middle iteration
                    c["iteration"].value = min(max(target, 0), last)
        finally:
            self._busy = False
        self._draw()

    def _draw(self):
        state, trace = self.state, self.trace
        self.info.value = _info_html(state, None if trace is None else trace.schedule, self.error, self.runs)
        if trace is None:
            self.matrix_image.value = render_message_png(self.error or "", dpi=self.dpi)
            self.frames_image.value = b""
            self.frames = None
            return
        it = min(state.iteration, trace.num_iterations - 1)
        states, self.frames = trace.frames(it)
        self.matrix_image.value = render_matrix_png(trace.schedule, it, dpi=self.dpi)
        self.frames_image.value = render_live_frames_png(states, self.frames, frame_timesteps(trace.schedule, it), it,
                                                         dpi=self.dpi)

    # -- display ---------------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def png(self) -> bytes:
        """The current frame strips as PNG bytes (a static copy for where widgets do not render)."""
        return bytes(self.frames_image.value)
