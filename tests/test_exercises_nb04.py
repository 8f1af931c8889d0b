"""Checkers of notebook 04's exercises: a right answer passes, typical wrong answers are refused with a message that
says what is wrong."""

import numpy as np

from ardiff_edu.data import bouncing_balls
from ardiff_edu.exercises.nb04 import MIN_CLIPS, check_cut_clips, check_never_bounces


def _balls(num_balls, speed=(0.5, 1.0)):
    return bouncing_balls(200, num_frames=16, size=32, num_balls=num_balls, speed=speed, seed=0, return_state=True)


def _no_flip(state):
    v, present = state["velocities"], state["present"]
    flips = (np.sign(v[:, 1:]) != np.sign(v[:, :-1])) & present[:, None, :, None]
    return ~flips.any(axis=(1, 2, 3))


def test_never_bounces_checker_accepts_balls_that_never_touch_a_wall():
    clips, state = _balls((1, 3))
    keep = _no_flip(state)
    assert keep.sum() >= MIN_CLIPS
    result = check_never_bounces(lambda: (clips[keep], {k: v[keep] for k, v in state.items()}))
    assert result and "no bounce" in result.message


def test_never_bounces_checker_refuses():
    clips, state = _balls(1, speed=(1.0, 2.0))
    r = check_never_bounces(lambda: (clips[:20], {k: v[:20] for k, v in state.items()}))
    assert not r and "changes sign" in r.message and "ball" in r.message
    keep = _no_flip(state)
    sub = {k: v[keep] for k, v in state.items()}
    r = check_never_bounces(lambda: (clips[keep][::-1], sub))                     # the pixels of other clips
    assert not r and "not the balls the state describes" in r.message
    still = dict(sub, velocities=sub["velocities"] * 0)
    assert "moves 0.00 pixels per frame" in check_never_bounces(lambda: (clips[keep], still)).message
    none = np.zeros(len(clips), bool)                                    # e.g. a filter caught by NaN != NaN
    r = check_never_bounces(lambda: (clips[none], {k: v[none] for k, v in state.items()}))
    assert not r and "NaN != NaN" in r.message
    assert "must be uint8" in check_never_bounces(lambda: (clips.astype(np.float32), state)).message
    assert "NotImplementedError" in check_never_bounces(lambda: (_ for _ in ()).throw(NotImplementedError)).message
    assert "expected a pair" in check_never_bounces(lambda: clips).message


def cut_clips(video, num_frames, stride):
    starts = list(range(0, len(video) - num_frames + 1, stride))
    clips = np.stack([video[s:s + num_frames] for s in starts]) if starts else video[:0, None]
    return starts, clips


def test_cut_clips_checker():
    assert check_cut_clips(cut_clips)
    r = check_cut_clips(lambda v, n, s: cut_clips(v[:-1], n, s))
    assert not r and "starts [0, 16], expected [0, 16, 32]" in r.message and "still fits" in r.message
    r = check_cut_clips(lambda v, n, s: (list(range(0, len(v), s)), np.stack([v[i:i + n] for i in range(0, len(v), s)
                                                                               if i + n <= len(v)])))
    assert not r and "would need frames up to" in r.message
    r = check_cut_clips(lambda v, n, s: (cut_clips(v, n, s)[0], cut_clips(v[::-1], n, s)[1]))
    assert not r and "is not frames" in r.message
