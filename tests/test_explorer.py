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
