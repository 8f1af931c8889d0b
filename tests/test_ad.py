"""AD inference schedule: golden staircases worked out by hand from the official rule, property tests, peers,
long-video policies, given frames, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ardiff_edu import ad as schedules
from ardiff_edu import staircases
from ardiff_edu.ad import Schedule, ad_nfe, ad_schedule, ddim_timesteps, smallest_safe_s, step_template
from ardiff_edu.staircases import KINDS, chunked, fifo, full_sequence, kind_params, pyramid, skyreels, staircase

# ---------------------------------------------------------------------------------------------------------------
# DDIM steps and template
# ---------------------------------------------------------------------------------------------------------------


def test_ddim_timesteps_are_the_ldm_uniform_steps():
    assert ddim_timesteps(50).tolist() == list(range(1, 1000, 20))
    assert ddim_timesteps(5).tolist() == [1, 201, 401, 601, 801]
    assert ddim_timesteps(3).tolist() == [1, 334, 667]  # exactly S steps even when S does not divide T
    assert ddim_timesteps(999).tolist() == list(range(1, 1000))
    assert ddim_timesteps(4, num_timesteps=100).tolist() == [1, 26, 51, 76]


def test_step_template():
    t = step_template(50)
    assert t[0] == 999 and t[1] == 981 and t[-2] == 21 and t[-1] == 1 and len(t) == 51
    assert step_template(5).tolist() == [999, 801, 601, 401, 201, 1]
    assert t.dtype == np.int64
    assert np.all(np.diff(t) < 0)


# ---------------------------------------------------------------------------------------------------------------
# golden examples (S = 5, T = 1000), stepped by hand through the official rule; "*" = updated, "!" = skipped
# ---------------------------------------------------------------------------------------------------------------
S5_S1 = """
801* 999  999  999
601* 801* 999  999
401* 601* 801* 999
201* 401* 601* 801*
  1* 201* 401* 601*
  1    1* 201* 401*
  1    1    1* 201*
  1    1    1    1*
"""
S5_S2 = """
801* 999  999  999
601* 999  999  999
401* 801* 999  999
201* 601* 999  999
  1* 401* 801* 999
  1  201* 601* 999
  1    1* 401* 801*
  1    1  201* 601*
  1    1    1* 401*
  1    1    1  201*
  1    1    1    1*
"""


def _parse(text):
    """-> (timesteps, updated, skipped) from the text notation."""
    rows = [line.split() for line in text.strip().splitlines()]
    t = np.array([[int(c.rstrip("*!")) for c in r] for r in rows])
    updated = np.array([[c.endswith("*") for c in r] for r in rows])
    return t, updated, np.array([[c.endswith("!") for c in r] for r in rows])


@pytest.mark.parametrize("s,text", [(1, S5_S1), (2, S5_S2)])
def test_golden_staircases_f4_s5(s, text):
    t, upd, skp = _parse(text)
    sched = ad_schedule(4, 5, s)
    np.testing.assert_array_equal(sched.timesteps, t)
    np.testing.assert_array_equal(sched.update_mask, upd)
    assert not sched.skipped_mask.any()
    assert sched.nfe == sched.num_iterations == 5 + 3 * s


def test_golden_synchronous_s0():
    sched = ad_schedule(4, 5, 0)
    np.testing.assert_array_equal(sched.timesteps, np.repeat([[801], [601], [401], [201], [1]], 4, axis=1))
    assert sched.update_mask.all() and sched.nfe == 5


def test_golden_fully_autoregressive_s_equals_S():
    sched = ad_schedule(4, 5, 5)
    assert sched.nfe == 20
    for f in range(4):  # frame f is denoised during iterations 5f ... 5f+4 while the others wait
        expected = np.zeros(20, bool)
        expected[5 * f:5 * f + 5] = True
        np.testing.assert_array_equal(sched.update_mask[:, f], expected)


def test_paper_vs_code_we_follow_the_code_rule():
    """Notes §3.2: the paper's rule is known only second-hand (and garbled); we pin the official code's rule.

    Step indices count *done* steps; a frame stays exactly s behind its predecessor, and once the predecessor is
    finished it advances one step per iteration (it does not stall at S - s)."""
    sched = ad_schedule(2, 5, 2)
    assert sched.step_index[:, 1].tolist() == [0, 0, 1, 2, 3, 4, 5]
    assert sched.step_index[4].tolist() == [5, 3] and sched.step_index[5].tolist() == [5, 4]  # predecessor done


def test_step_index_is_clamped_closed_form():
    sched = ad_schedule(4, 5, 2)
    i, f = np.arange(11)[:, None], np.arange(4)[None, :]
    np.testing.assert_array_equal(sched.step_index, np.clip(i + 1 - f * 2, 0, 5))


def test_golden_long_video_window_slides_when_a_frame_starts():
    sched = ad_schedule(6, 5, 2, window=4)
    assert sched.nfe == 15
    expected = {7: ("1 1 201* 601* 999 999", (0, 4)),
                8: ("1 1 1* 401* 801* 999", (1, 5)),
                10: ("1 1 1 1* 401* 801*", (2, 6))}
    for it, (text, window) in expected.items():
        t, upd, _ = _parse(text)
        np.testing.assert_array_equal(sched.timesteps[it], t[0])
        np.testing.assert_array_equal(sched.update_mask[it], upd[0])
        assert tuple(sched.windows[it]) == window
    windows = [tuple(w) for w in sched.windows.tolist()]
    assert windows == [(0, 4)] * 8 + [(1, 5)] * 2 + [(2, 6)] * 5
    assert (sched.updates_per_frame == 5).all()


def test_unsafe_long_video_raises_with_smallest_safe_s():
    with pytest.raises(ValueError, match=r"s=1 is unsafe.*smallest safe s is 2.*overflow='wait'"):
        ad_schedule(6, 5, 1, window=4)
    with pytest.raises(ValueError, match=r"smallest safe s is 4"):  # the paper's setting: S = 50, base = 16
        ad_schedule(128, 50, 3, window=16)
    with pytest.raises(ValueError, match=r"s=0 is unsafe"):  # synchronous + sliding window never denoises the rest
        ad_schedule(20, 50, 0, window=16)
    assert smallest_safe_s(50, 16) == 4 and smallest_safe_s(5, 4) == 2
    assert ad_schedule(128, 50, 4, window=16).nfe == 50 + 127 * 4
    assert ad_schedule(128, 50, 5, window=16).nfe == 685  # 50 + 127*5


def test_drop_reproduces_the_official_silent_skip():
    sched = ad_schedule(6, 5, 1, window=4, overflow="drop")
    t, upd, skp = _parse("1! 201* 401* 601* 801* 999")
    np.testing.assert_array_equal(sched.timesteps[4], t[0])
    np.testing.assert_array_equal(sched.skipped_mask[4], skp[0])
    np.testing.assert_array_equal(sched.update_mask[4], upd[0])
    assert tuple(sched.windows[4]) == (1, 5)
    t, upd, skp = _parse("1 1! 201* 401* 601* 801*")
    np.testing.assert_array_equal(sched.skipped_mask[5], skp[0])
    np.testing.assert_array_equal(sched.update_mask[5], upd[0])
    assert tuple(sched.windows[5]) == (2, 6)
    assert np.argwhere(sched.skipped_mask).tolist() == [[4, 0], [5, 1]]
    assert sched.updates_per_frame.tolist() == [4, 4, 5, 5, 5, 5]
    assert sched.nfe == 5 + 5 * 1  # the official cost: the schedule does not get longer, frames get worse


def test_drop_with_s0_never_denoises_frames_outside_the_window():
    sched = ad_schedule(6, 5, 0, window=4, overflow="drop")
    assert sched.updates_per_frame.tolist() == [0, 1, 5, 5, 5, 4]  # frame 5 enters at it1


def test_wait_holds_frames_back_and_finishes_everything():
    sched = ad_schedule(6, 5, 1, window=4, overflow="wait")
    assert (sched.updates_per_frame == 5).all() and not sched.skipped_mask.any()
    assert sched.step_index[4].tolist() == [5, 4, 3, 2, 0, 0]  # frame 4 waits: frame 0 finishes in this iteration
    assert tuple(sched.windows[5]) == (1, 5) and sched.step_index[5, 4] == 1
    assert sched.nfe == ad_nfe(6, 5, 1, window=4, overflow="wait") == 11
    sync = ad_schedule(6, 5, 0, window=4, overflow="wait")  # s = 0 becomes chunk by chunk
    assert sync.nfe == 10 and sync.step_index[5].tolist() == [5, 5, 5, 5, 1, 1]


def _same_staircase(a: Schedule, b: Schedule) -> bool:
    return all(np.array_equal(getattr(a, n), getattr(b, n))
               for n in ("step_index", "update_mask", "skipped_mask", "windows", "template"))


def test_wait_equals_raise_when_safe():
    assert _same_staircase(ad_schedule(9, 5, 2, window=4, overflow="wait"), ad_schedule(9, 5, 2, window=4))


def test_to_text_matches_the_golden_notation():
    text = ad_schedule(6, 5, 1, window=4, overflow="drop").to_text(rows=[4])
    assert text == "it4:   1! 201* 401* 601* 801* 999   window [1,5)"
    assert ad_schedule(2, 2, 1).to_text(timesteps=False, show_window=False).splitlines()[0] == "it0: 1* 0"


# ---------------------------------------------------------------------------------------------------------------
# properties over random (F, S, s, window)
# ---------------------------------------------------------------------------------------------------------------
@st.composite
def ad_args(draw, overflow="raise"):
    S = draw(st.integers(1, 12))
    F = draw(st.integers(1, 12))
    s = draw(st.integers(0, S))
    window = draw(st.one_of(st.none(), st.integers(1, 14)))
    if overflow == "raise" and window is not None and F > window and s * window < S:
        s = smallest_safe_s(S, window)
    return F, S, s, window


def _check_common(sched: Schedule, F, S, window):
    k = sched.step_index
    prev = np.vstack([np.zeros((1, F), np.int64), k[:-1]])
    moved = k != prev
    # each change moves an index by exactly +1, and only within [0, S]
    assert np.all((k - prev)[moved] == 1) and k.min() >= 0 and k.max() <= S
    np.testing.assert_array_equal(moved, sched.update_mask | sched.skipped_mask)
    assert not (sched.update_mask & sched.skipped_mask).any()
    # rows are non-increasing across frames (a later frame is never ahead of an earlier one)
    assert np.all(np.diff(k, axis=1) <= 0)
    # the window has constant length min(window, F), moves right monotonically, and holds every update
    W = F if window is None else min(window, F)
    assert np.all(sched.windows[:, 1] - sched.windows[:, 0] == W)
    assert np.all(np.diff(sched.windows[:, 0]) >= 0) and sched.windows.min() >= 0 and sched.windows.max() <= F
    assert not (sched.update_mask & ~sched.in_window).any()
    np.testing.assert_array_equal(sched.timesteps, sched.template[k])
    assert np.all(k[-1] == S)  # the schedule runs until every entry is S


@settings(max_examples=150, deadline=None)
@given(ad_args())
def test_ad_properties(args):
    F, S, s, window = args
    sched = ad_schedule(F, S, s, window)
    _check_common(sched, F, S, window)
    k = sched.step_index
    assert sched.nfe == sched.num_iterations == (S if s == 0 else S + (F - 1) * s) == ad_nfe(F, S, s, window)
    # adjacent in-progress frames are exactly s apart
    in_progress = (k > 0) & (k < S)
    both = in_progress[:, 1:] & in_progress[:, :-1]
    assert np.all((k[:, :-1] - k[:, 1:])[both] == s)
    # every frame finishes, with exactly S updates and nothing skipped
    assert np.all(sched.updates_per_frame == S) and not sched.skipped_mask.any()
    if s == 0:
        assert np.all(k == k[:, :1])  # synchronous: identical entries within each row
    if s == S:
        assert np.all(sched.update_mask.sum(axis=1) == 1)  # strictly sequential: one frame at a time
        assert np.all(np.diff(np.argmax(sched.update_mask, axis=1)) >= 0)


@settings(max_examples=150, deadline=None)
@given(ad_args(overflow="wait"))
def test_wait_properties(args):
    F, S, s, window = args
    sched = ad_schedule(F, S, s, window, overflow="wait")
    _check_common(sched, F, S, window)
    if window is None or F <= window or s * window >= S:
        assert _same_staircase(sched, ad_schedule(F, S, s, window))
    assert np.all(sched.updates_per_frame == S) and not sched.skipped_mask.any()
    assert sched.nfe == ad_nfe(F, S, s, window, overflow="wait")
    assert sched.nfe >= ad_nfe(F, S, s, window, overflow="drop")
    k = sched.step_index
    both = (k[:, 1:] > 0) & (k[:, :-1] < S)  # successor started while its predecessor runs: at least s behind
    assert np.all((k[:, :-1] - k[:, 1:])[both] >= s)


@settings(max_examples=150, deadline=None)
@given(ad_args(overflow="drop"))
def test_drop_properties(args):
    F, S, s, window = args
    sched = ad_schedule(F, S, s, window, overflow="drop")
    _check_common(sched, F, S, window)
    assert sched.nfe == (S + (F - 1) * s)
    np.testing.assert_array_equal(sched.updates_per_frame + sched.skipped_mask.sum(axis=0), np.full(F, S))
    safe = window is None or F <= window or s * window >= S
    assert sched.skipped_mask.any() == (not safe)
    if safe:
        assert _same_staircase(sched, ad_schedule(F, S, s, window))


# ---------------------------------------------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12), st.integers(1, 10), st.data())
def test_peer_nfe_formulas_and_properties(F, S, data):
    u = data.draw(st.floats(0, S, allow_nan=False))
    b = data.draw(st.integers(1, F))
    n = data.draw(st.sampled_from([d for d in range(1, S + 1) if S % d == 0]))
    full = full_sequence(F, S)
    assert full.nfe == S and np.all(full.step_index == full.step_index[:, :1])
    pyr = pyramid(F, S, uncertainty_scale=u)
    assert pyr.nfe == S + int((F - 1) * u)              # Diffusion Forcing truncates the float product
    ch = chunked(F, S, block_size=b)
    assert ch.nfe == S * math.ceil(F / b)
    ff = fifo(F, S, num_partitions=n)
    assert ff.num_iterations == S + F - 1 and ff.nfe == n * ff.num_iterations and ff.window_size == min(S, F)
    blocks = [d for d in range(1, F + 1) if F % d == 0]
    bs, ar = data.draw(st.sampled_from(blocks)), data.draw(st.integers(0, S))
    sky = skyreels(F, S, causal_block_size=bs, ar_step=ar)
    assert sky.nfe == S + (F // bs - 1) * ar
    for sched in (full, pyr, ch, ff, sky):
        _check_common(sched, F, S, sched.window_size)
        assert np.all(sched.updates_per_frame == S) and not sched.skipped_mask.any()
    # frames of one block share every entry
    for f in range(F):
        np.testing.assert_array_equal(sky.step_index[:, f], sky.step_index[:, f - f % bs])
        np.testing.assert_array_equal(ch.step_index[:, f], ch.step_index[:, f - f % b])


def test_peers_reduce_to_ar_diffusion():
    ad = ad_schedule(7, 6, 2)
    assert np.array_equal(pyramid(7, 6, uncertainty_scale=2).step_index, ad.step_index)
    assert np.array_equal(skyreels(7, 6, causal_block_size=1, ar_step=2).step_index, ad.step_index)
    assert np.array_equal(chunked(7, 6, block_size=1).step_index, ad_schedule(7, 6, 6).step_index)
    assert np.array_equal(full_sequence(7, 6).step_index, ad_schedule(7, 6, 0).step_index)
    assert np.array_equal(fifo(9, 6).step_index, ad_schedule(9, 6, 1).step_index)
    assert np.array_equal(fifo(9, 6).windows, ad_schedule(9, 6, 1, window=6).windows)


def test_skyreels_window_slides_by_blocks_and_guards_like_skyreels():
    sched = skyreels(8, 4, causal_block_size=2, ar_step=2, window=4)
    assert sched.window_size == 4 and sched.windows[-1].tolist() == [4, 8]
    with pytest.raises(ValueError, match=r"smallest safe ar_step is 2"):
        skyreels(8, 4, causal_block_size=2, ar_step=1, window=4)
    waited = skyreels(8, 4, causal_block_size=2, ar_step=1, window=4, overflow="wait")
    assert np.all(waited.updates_per_frame == 4)


def test_pyramid_fractional_scale():
    sched = pyramid(4, 5, uncertainty_scale=1.5)  # frames start at iterations 0, 1, 3, 4
    assert np.argmax(sched.update_mask, axis=0).tolist() == [0, 1, 3, 4]
    assert sched.nfe == 5 + 4


def test_staircase_by_name():
    assert set(KINDS) == {"ar_diffusion", "full_sequence", "pyramid", "skyreels", "fifo", "chunked"}
    assert staircase("ar_diffusion", 16, 50, s=5, window=16) == ad_schedule(16, 50, 5, 16)
    for kind in KINDS:
        params = {"s": 1} if kind == "ar_diffusion" else {}
        sched = staircase(kind, 6, 4, **params)
        assert sched.kind == kind and sched.num_frames == 6 and sched.num_steps == 4
    assert "uncertainty_scale" in kind_params("pyramid") and "causal_block_size" in kind_params("skyreels")
    with pytest.raises(ValueError, match=r"unknown parameter 'block_size' for kind 'pyramid'"):
        staircase("pyramid", 4, 5, block_size=2)
    with pytest.raises(ValueError, match=r"kind must be one of"):
        staircase("rolling", 4, 5)
    with pytest.raises(ValueError, match=r"needs \['s'\]"):
        staircase("ar_diffusion", 4, 5)


def test_schedule_is_frozen_and_read_only():
    sched = ad_schedule(4, 5, 1)
    with pytest.raises(Exception):
        sched.num_steps = 3
    with pytest.raises(ValueError):
        sched.step_index[0, 0] = 3
    with pytest.raises(TypeError):
        sched.params["s"] = 3
    assert sched != ad_schedule(4, 5, 2) and sched == ad_schedule(4, 5, 1)


# ---------------------------------------------------------------------------------------------------------------
# bad arguments: ValueError naming the argument, the value and the accepted range
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(num_frames=0, num_steps=5, s=1), r"num_frames must be >= 1, got 0"),
    (dict(num_frames=4, num_steps=0, s=0), r"num_steps must be in \[1, 999\], got 0"),
    (dict(num_frames=4, num_steps=1000, s=0), r"num_steps must be in \[1, 999\], got 1000"),
    (dict(num_frames=4, num_steps=5, s=6), r"s must be in \[0, 5\], got 6"),
    (dict(num_frames=4, num_steps=5, s=-1), r"s must be in \[0, 5\], got -1"),
    (dict(num_frames=4, num_steps=5, s=1.5), r"s must be an integer in \[0, 5\], got 1.5"),
    (dict(num_frames=4, num_steps=5, s=1, window=0), r"window must be >= 1, got 0"),
    (dict(num_frames=4, num_steps=5, s=1, overflow="clip"), r"overflow must be one of .*'clip'"),
    (dict(num_frames=4, num_steps=5, s=1, num_timesteps=1), r"num_timesteps must be >= 2, got 1"),
])
def test_ad_schedule_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ad_schedule(**kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda: pyramid(4, 5, uncertainty_scale=6), r"uncertainty_scale must be in \[0.0, 5.0\], got 6"),
    (lambda: pyramid(4, 5, uncertainty_scale=float("nan")), r"uncertainty_scale must be a number"),
    (lambda: skyreels(5, 5, causal_block_size=2), r"num_frames=5 must be a multiple of causal_block_size=2"),
    (lambda: skyreels(4, 5, causal_block_size=2, window=3), r"window=3 must be a multiple of causal_block_size=2"),
    (lambda: skyreels(4, 5, ar_step=6), r"ar_step must be in \[0, 5\], got 6"),
    (lambda: chunked(4, 5, block_size=5), r"block_size must be in \[1, 4\], got 5"),
    (lambda: fifo(4, 6, num_partitions=4), r"num_steps=6 must be a multiple of num_partitions=4"),
    (lambda: ddim_timesteps(0), r"num_steps must be in \[1, 999\]"),
    (lambda: ad_nfe(6, 5, 1, window=4), r"smallest safe s is 2"),
])
def test_peer_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_module_exports_exist():
    assert all(hasattr(schedules, name) for name in schedules.__all__)
    assert all(hasattr(staircases, name) for name in staircases.__all__)


# ---------------------------------------------------------------------------------------------------------------
# given frames (video prediction) belong to the schedule
# ---------------------------------------------------------------------------------------------------------------
def test_given_frames_start_finished_and_the_rule_starts_after_them():
    sched = ad_schedule(6, 4, 2, prefix_frames=2)
    assert (sched.step_index[:, :2] == 4).all() and not sched.update_mask[:, :2].any()
    # the first generated frame advances from the first iteration on; the rest stay s behind
    assert sched.step_index[0].tolist() == [4, 4, 1, 0, 0, 0]
    assert sched.num_iterations == 4 + (6 - 2 - 1) * 2 == ad_nfe(6, 4, 2, prefix_frames=2)
    assert (sched.updates_per_frame == [0, 0, 4, 4, 4, 4]).all()
    assert sched.formula == "S + (F-K-1)*s = 4 + 3*2 = 10"


def test_prefix_with_a_sliding_window_skips_nothing_when_s_times_window_reaches_S():
    """Regression: F=5, 2 given, S=12, s=5, window=3 used to mark 14 updates as skipped (the old prefix transform
    widened the windows but kept the skipped mask of the narrower ones). Here s·window = 15 >= 12: nothing drops."""
    for overflow in ("raise", "drop", "wait"):
        sched = ad_schedule(5, 12, 5, window=3, overflow=overflow, prefix_frames=2)
        assert not sched.skipped_mask.any(), overflow
        assert (sched.updates_per_frame[2:] == 12).all()
        assert (sched.windows[:, 1] - sched.windows[:, 0] == 3).all()
        frames = np.arange(5)
        inside = (frames >= sched.windows[:, :1]) & (frames < sched.windows[:, 1:])
        assert not (sched.update_mask & ~inside).any()


def test_the_guard_with_given_frames_is_s_times_window_not_s_times_window_minus_k():
    # s·(window − K) = 2·(4 − 2) = 4 < S = 6, but s·window = 8 >= 6: safe, and nothing is skipped
    sched = ad_schedule(10, 6, 2, window=4, prefix_frames=2)
    assert not sched.skipped_mask.any() and (sched.updates_per_frame[2:] == 6).all()
    # s·window = 4 < 6 with more generated frames than fit: refused, and 'drop' shows what would be lost
    with pytest.raises(ValueError, match=r"s=1 is unsafe .*2 given.*smallest safe s is 2"):
        ad_schedule(10, 6, 1, window=4, prefix_frames=2)
    assert ad_schedule(10, 6, 1, window=4, overflow="drop", prefix_frames=2).skipped_mask.any()
    # when only given frames can leave the window (F - K <= window), any s is safe
    safe = ad_schedule(5, 12, 1, window=3, prefix_frames=2)
    assert not safe.skipped_mask.any() and (safe.updates_per_frame[2:] == 12).all()


def test_wait_with_given_frames_costs_what_the_generated_frames_alone_cost():
    with_prefix = ad_schedule(12, 6, 1, window=4, overflow="wait", prefix_frames=3)
    alone = ad_schedule(9, 6, 1, window=4, overflow="wait")
    assert with_prefix.num_iterations == alone.num_iterations == ad_nfe(12, 6, 1, 4, "wait", prefix_frames=3)
    assert (with_prefix.updates_per_frame[3:] == 6).all() and not with_prefix.skipped_mask.any()


def test_prefix_bad_arguments():
    with pytest.raises(ValueError, match=r"prefix_frames must be in \[0, 3\], got 4"):
        ad_schedule(4, 5, 1, prefix_frames=4)
    with pytest.raises(ValueError, match=r"window must be >= 3, got 2"):
        ad_schedule(8, 5, 1, window=2, prefix_frames=2)


# ---------------------------------------------------------------------------------------------------------------
# peers: exactly as their code computes
# ---------------------------------------------------------------------------------------------------------------
def test_pyramid_truncates_the_float_product_like_diffusion_forcing():
    """Regression: floor(f·u + 1e-9) started frame 11 of F=12, S=50, u=15/11 one iteration later than Diffusion
    Forcing's int(f·u), because 11·(15/11) is 14.999999999999998 in floating point."""
    u = 15 / 11
    assert int(11 * u) == 14
    sched = pyramid(12, 50, uncertainty_scale=u)
    starts = [int(np.argmax(sched.step_index[:, f] > 0)) for f in range(12)]
    assert starts == [int(f * u) for f in range(12)]
    assert sched.nfe == 50 + 14


def test_every_kind_states_its_nfe_formula():
    for sched in (ad_schedule(16, 20, 5), ad_schedule(40, 20, 1, 16, overflow="wait"), full_sequence(8, 10),
                  pyramid(8, 10, 1.5), skyreels(8, 10, 2, 3), fifo(6, 10, 2), chunked(7, 10, 3)):
        assert sched.formula.endswith(f"= {sched.nfe}"), (sched.kind, sched.formula)
