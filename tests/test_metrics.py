"""ardiff_edu.metrics: the ball tracker on ground-truth bouncing balls, and clips that must score worse."""

import numpy as np
import pytest

from ardiff_edu.data import bouncing_balls
from ardiff_edu.metrics import (DEFAULTS, KEYS, ball_stats, compare, detect_blobs, format_table, shuffle_frames,
                                uniform_noise)


@pytest.fixture(scope="module")
def real():
    return bouncing_balls(48, num_frames=16, seed=3, return_state=True)


def test_count_matches_the_true_number_of_balls_when_they_do_not_overlap(real):
    clips, state = real
    blobs, _ = detect_blobs(clips)
    pos, radii, present = state["positions"], state["radii"], state["present"]
    checked = 0
    for n in range(len(clips)):
        idx = np.flatnonzero(present[n])
        for f in range(clips.shape[1]):
            apart = all(np.linalg.norm(pos[n, f, i] - pos[n, f, j]) > radii[n, i] + radii[n, j] + 2
                        for a, i in enumerate(idx) for j in idx[a + 1:])
            if apart:
                assert len(blobs[n][f]) == len(idx), (n, f)
                checked += 1
    assert checked > 0.5 * clips.shape[0] * clips.shape[1]


def test_centroids_sit_on_the_true_ball_centres():
    clips, state = bouncing_balls(16, num_frames=8, num_balls=1, seed=5, return_state=True)
    blobs, _ = detect_blobs(clips)
    err = [np.linalg.norm(b[0]["centroid"] - state["positions"][n, f, 0])
           for n, clip in enumerate(blobs) for f, b in enumerate(clip)]
    assert max(err) < 0.5


def test_constant_velocity_away_from_walls_has_no_acceleration():
    one = bouncing_balls(32, num_frames=16, num_balls=1, seed=4)
    values, protocol = ball_stats(one)
    assert protocol["accel_tracks"] > 100
    assert values["accel_median"] < 0.25 and values["accel_mean"] < 0.25
    assert values["count_mean"] == 1.0 and values["count_const_frac"] == 1.0
    assert values["match_frac"] == 1.0 and values["colour_drift_median"] < 1.0


def test_noise_and_shuffled_frames_score_clearly_worse(real):
    clips, _ = real
    good, protocol = ball_stats(clips)
    shuffled, _ = ball_stats(shuffle_frames(clips, seed=1))
    noise, _ = ball_stats(uniform_noise(clips.shape, seed=1))
    assert set(good) == set(KEYS)
    assert good["match_frac"] > 0.9 and good["accel_median"] < 0.3 and good["colour_drift_median"] < 1.0
    # shuffled frames: same appearance (same foreground), broken motion
    assert shuffled["fg_frac"] == pytest.approx(good["fg_frac"])
    assert shuffled["match_frac"] < 0.6 and shuffled["accel_median"] > 5 * good["accel_median"]
    # uniform noise: one frame-filling blob (its count and matches look fine; foreground and area give it away)
    assert noise["fg_frac"] > 0.5 and noise["fg_frac"] > 5 * good["fg_frac"]
    assert noise["area_mean"] > 10 * good["area_mean"]
    assert protocol["clips"] == 48 and protocol["frames"] == 16 and "not FVD" in protocol["metric"]
    assert all(protocol[k] == v for k, v in DEFAULTS.items())


def test_shuffle_keeps_the_frames():
    clips = bouncing_balls(3, num_frames=6, seed=0)
    out = shuffle_frames(clips, seed=2)
    for a, b in zip(clips, out):
        assert sorted(map(bytes, a)) == sorted(map(bytes, b))


def test_empty_clips_give_nan_not_errors():
    values, protocol = ball_stats(np.zeros((2, 4, 8, 8, 3), np.uint8))
    assert values["count_mean"] == 0 and values["empty_frac"] == 1.0 and values["fg_frac"] == 0.0
    assert np.isnan(values["match_frac"]) and np.isnan(values["accel_median"]) and protocol["accel_tracks"] == 0


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="uint8"):
        ball_stats(np.zeros((2, 4, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(N, F, H, W, 3\)"):
        ball_stats(np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="fg_threshold"):
        ball_stats(np.zeros((1, 2, 8, 8, 3), np.uint8), fg_threshold=0)
    with pytest.raises(ValueError, match="max_jump"):
        ball_stats(np.zeros((1, 2, 8, 8, 3), np.uint8), max_jump=-1)


def test_table():
    clips = bouncing_balls(4, num_frames=8, seed=1)
    table = format_table({"real": ball_stats(clips)[0], "noise": ball_stats(uniform_noise(clips.shape))[0]})
    lines = table.splitlines()
    assert len(lines) == 3 and lines[1].startswith("real") and "match" in lines[0]


def test_compare_prints_real_and_generated_side_by_side(capsys):
    real = bouncing_balls(4, num_frames=8, seed=1)
    rows = compare(real, shuffle_frames(real), names=("real", "shuffled"))
    assert set(rows) == {"real", "shuffled"} and rows["real"]["match_frac"] > rows["shuffled"]["match_frac"]
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["real", "shuffled"] and len(out) == 1 + len(KEYS)
