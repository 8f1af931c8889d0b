"""TimestepExplorer: the model, the pure renderers and the widget shell, tested by setting ``.value`` (no kernel)."""

import numpy as np
import pytest
import torch

from ardiff_edu.ad import ad_schedule
from ardiff_edu.explorer import (KNOBS, ExplorerState, TimestepExplorer, build_schedule, render_frames_png,
                                 render_info_html, render_matrix_png)
from ardiff_edu.figures import demo_clip, frame_timesteps, noised_frames
from ardiff_edu.staircases import KINDS, staircase

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def explorer():
    return TimestepExplorer(num_frames=6, num_steps=5, s=1)


def _fresh(**kwargs):
    return TimestepExplorer(**{"num_frames": 6, "num_steps": 5, "s": 1, **kwargs})


# ---------------------------------------------------------------------------------------------------------------
# model and pure renderers
# ---------------------------------------------------------------------------------------------------------------
def test_build_schedule_covers_every_kind():
    assert set(KNOBS) == set(KINDS)
    state = ExplorerState(num_frames=6, num_steps=4, s=1, block_size=2, uncertainty_scale=1.5, num_partitions=2)
    for kind in KINDS:
        sched = build_schedule(state.replace(kind=kind))
        assert sched.kind == kind and sched.num_frames == 6
        assert sched.formula.endswith(f"= {sched.nfe}")
    assert build_schedule(state) == ad_schedule(6, 4, 1)
    assert build_schedule(state.replace(window=4)).window == 4  # window 0 = whole video, otherwise frames
    with pytest.raises(ValueError, match="smallest safe s"):
        build_schedule(state.replace(window=2))


def test_frame_timesteps_follow_the_updates():
    sched = ad_schedule(4, 5, 2)  # template [999, 801, 601, 401, 201, 1]
    assert frame_timesteps(sched, 0).tolist() == [601, 999, 999, 999]
    assert frame_timesteps(sched, 4).tolist() == [-1, 201, 601, 999]
    assert frame_timesteps(sched, 10).tolist() == [-1, -1, -1, -1]
    dropped = ad_schedule(6, 5, 1, window=4, overflow="drop")
    assert frame_timesteps(dropped, 9)[:2].tolist() == [1, 1]  # one step short: never finished
    with pytest.raises(ValueError, match=r"iteration must be in \[0, 10\]"):
        frame_timesteps(sched, 11)


def test_noised_frames_interpolate_between_clip_and_noise():
    clip = demo_clip(3)
    assert clip.shape == (3, 3, 16, 16) and clip.min() >= -1 and clip.max() <= 1
    out = noised_frames(clip, np.array([-1, 1, 999]))
    torch.testing.assert_close(out[0], clip[0])
    assert (out[1] - clip[1]).abs().mean() < 0.05  # t = 1: almost clean
    assert torch.corrcoef(torch.stack([out[2].flatten(), clip[2].flatten()]))[0, 1] < 0.2  # t = 999: mostly noise
    torch.testing.assert_close(noised_frames(clip, np.array([5, 5, 5]), seed=1),
                               noised_frames(clip, np.array([5, 5, 5]), seed=1))


def test_renderers_return_small_pngs_and_html():
    sched = ad_schedule(6, 5, 1, window=4, overflow="drop")
    a, b = render_matrix_png(sched, 0), render_matrix_png(sched, 3)
    assert a.startswith(PNG) and b.startswith(PNG) and a != b and len(a) < 40_000
    assert render_matrix_png(sched, 0) == a  # deterministic
    strip = render_frames_png(noised_frames(demo_clip(6), frame_timesteps(sched, 2)), frame_timesteps(sched, 2))
    assert strip.startswith(PNG) and len(strip) < 40_000
    info = render_info_html(ExplorerState(), sched)
    assert "NFE = 10" in info and "2 updates skipped" in info and "[0, 1]" in info
    assert "Invalid settings" in render_info_html(ExplorerState(), None, "s=1 is unsafe")


# ---------------------------------------------------------------------------------------------------------------
# the widget shell
# ---------------------------------------------------------------------------------------------------------------
def test_initial_state(explorer):
    c = explorer.controls
    for key in ("kind", "num_frames", "num_steps", "s", "window", "iteration"):
        assert key in c
    assert explorer.schedule == ad_schedule(6, 5, 1)
    assert bytes(explorer.matrix_image.value).startswith(PNG) and bytes(explorer.frames_image.value).startswith(PNG)
    assert "NFE = 10" in explorer.info.value
    assert c["iteration"].max == 9 and c["s"].max == 5
    assert explorer.error is None
    assert explorer.state == ExplorerState(num_frames=6, num_steps=5, s=1)


def test_moving_s_redraws_everything():
    ex = _fresh()
    before = (ex.matrix_image.value, ex.info.value)
    ex.controls["s"].value = 2
    assert ex.schedule == ad_schedule(6, 5, 2)
    assert ex.matrix_image.value != before[0]
    assert "NFE = 15" in ex.info.value and ex.info.value != before[1]
    assert ex.controls["iteration"].max == 14


def test_iteration_slider_moves_the_frames_not_the_schedule():
    ex = _fresh()
    sched, strip, matrix = ex.schedule, ex.frames_image.value, ex.matrix_image.value
    ex.controls["iteration"].value = 6
    assert ex.schedule is sched
    assert ex.frames_image.value != strip and ex.matrix_image.value != matrix  # strip + highlighted row
    ex.controls["num_steps"].value = 2  # fewer iterations: the iteration slider is clamped, s too
    assert ex.controls["s"].value == 1 and ex.controls["s"].max == 2
    assert ex.controls["iteration"].value == ex.schedule.num_iterations - 1 == 6


def test_num_steps_clamps_s():
    ex = _fresh(s=4)
    ex.controls["num_steps"].value = 3
    assert ex.controls["s"].value == 3 and ex.schedule == ad_schedule(6, 3, 3)


def test_invalid_combination_shows_a_message_instead_of_crashing():
    ex = _fresh()
    ex.controls["window"].value = 4  # s=1, window=4 < S=5: unsafe for 6 frames
    assert ex.schedule is None
    assert "smallest safe s is 2" in ex.error
    assert "Invalid settings" in ex.info.value and "smallest safe s is 2" in ex.info.value
    assert bytes(ex.matrix_image.value).startswith(PNG) and bytes(ex.frames_image.value) == b""
    ex.controls["iteration"].value = 3  # still no crash
    ex.controls["overflow"].value = "wait"
    assert ex.schedule == ad_schedule(6, 5, 1, window=4, overflow="wait") and ex.error is None
    ex.controls["overflow"].value = "drop"
    assert ex.schedule.skipped_mask.sum() == 2 and "updates skipped" in ex.info.value
    ex.controls["s"].value = 2
    assert ex.schedule == ad_schedule(6, 5, 2, window=4, overflow="drop")


def test_kind_dropdown_and_kind_specific_knobs():
    ex = _fresh()
    c = ex.controls
    for kind in KINDS:
        c["kind"].value = kind
        assert ex.schedule is not None and ex.schedule.kind == kind, ex.error
        assert f"NFE = {ex.schedule.nfe}" in ex.info.value
        for knob in ("s", "window", "overflow", "block_size", "uncertainty_scale", "num_partitions"):
            assert (c[knob].layout.display != "none") == (knob in KNOBS[kind])
    c["kind"].value = "chunked"
    c["block_size"].value = 3
    assert ex.schedule == staircase("chunked", 6, 5, block_size=3) and ex.schedule.nfe == 10
    c["kind"].value = "skyreels"
    c["block_size"].value = 4  # 6 frames are not a multiple of 4 blocks
    assert ex.schedule is None and "multiple of causal_block_size=4" in ex.info.value
    c["block_size"].value = 2
    assert ex.schedule == staircase("skyreels", 6, 5, causal_block_size=2, ar_step=1)
    c["kind"].value = "pyramid"
    c["uncertainty_scale"].value = 1.5
    assert ex.schedule.nfe == 5 + 7
    c["kind"].value = "fifo"
    c["num_partitions"].value = 5
    assert ex.schedule.nfe == 5 * 10


def test_displays_as_a_widget(explorer):
    import ipywidgets as widgets

    assert isinstance(explorer.widget, widgets.VBox)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert explorer.png() == bytes(explorer.matrix_image.value) and explorer.png().startswith(PNG)


def test_frames_are_noised_with_the_ldm_linear_schedule():
    clip = torch.ones(2, 3, 4, 4)
    out = noised_frames(clip, np.array([-1, 999]), seed=0)
    noise = torch.randn(clip.shape, generator=torch.Generator().manual_seed(0))
    # notes §1.1: abar_999 = 7.33e-4 (sqrt = 0.027) for the LDM linear schedule; -1 = clean
    torch.testing.assert_close(out[0], clip[0])
    expected = 7.33e-4 ** 0.5 + (1 - 7.33e-4) ** 0.5 * noise[1]
    torch.testing.assert_close(out[1], expected, atol=2e-4, rtol=0)


# ---------------------------------------------------------------------------------------------------------------
# LiveSampler: the model (a sampling trace), the renderer and the widget shell
# ---------------------------------------------------------------------------------------------------------------
from ardiff_edu.explorer import (LiveSampler, LiveState, display_x0, render_live_frames_png,  # noqa: E402
                                 run_live_sampler)
from ardiff_edu.pipeline import DEFAULT_CHECKPOINT, generate, load_pipeline  # noqa: E402


@pytest.fixture(scope="module")
def tiny_pipe(tiny_checkpoint):
    pipe = load_pipeline(tiny_checkpoint)          # trained on 8-frame clips: the window is 8 frames
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():                          # two training steps leave the DiT near its zero init: perturb it,
        for p in pipe.model.parameters():          # so that its x̂0 moves from one iteration to the next
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return pipe


def test_the_trace_records_every_iteration_and_ends_with_the_generated_video(tiny_pipe):
    trace = run_live_sampler(tiny_pipe, LiveState(s=1, num_steps=4, num_frames=6, seed=2))
    sched = trace.schedule
    assert sched == ad_schedule(6, 4, 1, window=8)
    L, C = tiny_pipe.model.num_tokens, tiny_pipe.model.token_dim
    assert trace.states.shape == trace.x0.shape == (sched.num_iterations, 6, L, C)
    assert torch.isfinite(trace.x0).all()                          # no KV cache: every frame of the window, always
    video = generate(tiny_pipe, 1, 6, s=1, num_steps=4, seed=2, kv_cache=False)[0]
    assert np.array_equal(trace.video, video)
    last_state, _ = trace.frames(sched.num_iterations - 1)
    assert np.array_equal(last_state, video)                       # the last state is the result
    # between iterations only the updated frames change
    changed = (trace.states[1:] != trace.states[:-1]).any(dim=(2, 3)).numpy()
    assert np.array_equal(changed, sched.update_mask[1:])


def test_display_x0_with_a_sliding_window(tiny_pipe):
    trace = run_live_sampler(tiny_pipe, LiveState(s=1, num_steps=4, num_frames=11, window=5))
    sched = trace.schedule
    assert sched.window_size == 5 and not torch.isfinite(trace.x0[0, 5:]).any()
    x0, known = display_x0(trace, 0)
    assert known.tolist() == [True] * 5 + [False] * 6               # frames right of the window: not seen yet
    torch.testing.assert_close(x0[:5], trace.x0[0, :5])
    last = sched.num_iterations - 1
    x0, known = display_x0(trace, last)
    assert known.all()
    left = int(sched.windows[last, 0])
    assert left > 0                                                # frames that left the window are finished:
    assert torch.equal(x0[:left], trace.states[last, :left])       # they show themselves
    states, shown = trace.frames(4)
    assert states.shape == shown.shape == (11, 32, 32, 3) and shown.dtype == np.uint8
    assert (shown[~display_x0(trace, 4)[1]] == 128).all()          # grey where there is no estimate
    with pytest.raises(ValueError, match=r"iteration must be in \[0, "):
        trace.frames(sched.num_iterations)


def test_live_frames_renderer_returns_a_png():
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    png = render_live_frames_png(frames, frames + 50, np.array([-1, 1, 201, 999]), 3)
    assert png.startswith(PNG) and len(png) < 60_000
    assert render_live_frames_png(frames, frames + 50, np.array([-1, 1, 201, 999]), 3) == png


def test_live_sampler_controls_samples_once_per_setting_and_scrubs_without_sampling(tiny_pipe):
    ls = LiveSampler(tiny_pipe, num_frames=6, num_steps=4, s=1)
    c = ls.controls
    for key in ("s", "num_steps", "seed", "iteration", "num_frames", "window", "play"):
        assert key in c
    sched = ls.trace.schedule
    assert ls.runs == 1 and c["iteration"].value == (sched.num_iterations - 1) // 2
    assert c["iteration"].max == c["play"].max == sched.num_iterations - 1 and c["s"].max == 4
    assert ls.frames.shape == (6, 32, 32, 3) and ls.frames.dtype == np.uint8
    assert "NFE = 9" in ls.info.value
    frames, strip, matrix = ls.frames.copy(), ls.frames_image.value, ls.matrix_image.value
    c["iteration"].value = 0
    assert ls.runs == 1                                            # scrubbing never samples
    assert not np.array_equal(ls.frames, frames) and ls.frames_image.value != strip
    assert ls.matrix_image.value != matrix                         # the marked row moved
    c["iteration"].value = (sched.num_iterations - 1) // 2
    assert np.array_equal(ls.frames, frames) and ls.runs == 1      # and comes back to the same picture
    c["s"].value = 2
    assert ls.runs == 2 and ls.trace.schedule == ad_schedule(6, 4, 2, window=8)
    assert "NFE = 14" in ls.info.value and c["iteration"].max == 13
    c["seed"].value = 5
    assert ls.runs == 3 and not np.array_equal(ls.trace.video, ls._cache[(2, 4, 0, 6, 8)].video)
    c["seed"].value = 0
    c["s"].value = 1
    assert ls.runs == 3                                            # both settings were cached
    c["num_steps"].value = 3
    assert ls.runs == 4 and c["s"].max == 3 and ls.trace.schedule.num_steps == 3


def test_live_sampler_shows_a_message_for_an_unsafe_window_and_keeps_a_bounded_cache(tiny_pipe):
    ls = LiveSampler(tiny_pipe, num_frames=10, num_steps=4, s=1, cache_size=2)
    c = ls.controls
    c["s"].value = 0                                               # 10 frames > window 8 with s = 0: unsafe
    assert ls.trace is None and ls.frames is None and "smallest safe s is 1" in ls.error
    assert "Invalid settings" in ls.info.value and bytes(ls.frames_image.value) == b""
    assert bytes(ls.matrix_image.value).startswith(PNG)
    c["iteration"].value = 0                                       # still no crash
    c["window"].value = 4
    c["s"].value = 1
    assert ls.error is None and ls.trace.schedule.window_size == 4
    c["s"].value = 2
    assert len(ls._cache) == 2 and ls.runs == 3                   # the oldest run was dropped


def test_live_sampler_loads_the_shipped_checkpoint_by_default_or_by_path():
    ls = LiveSampler(num_frames=4, num_steps=3, s=1)
    assert ls.pipeline.config.name == load_pipeline(DEFAULT_CHECKPOINT).config.name
    assert ls.frames.shape == (4, 32, 32, 3)
    assert "application/vnd.jupyter.widget-view+json" in ls._repr_mimebundle_()
    assert ls.png() == bytes(ls.frames_image.value) and ls.png().startswith(PNG)
    assert LiveSampler(DEFAULT_CHECKPOINT, num_frames=3, num_steps=2, s=1).trace.schedule.nfe == 4
