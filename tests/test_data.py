"""ardiff_edu.data (and the pixel convention of ardiff_edu.video): bouncing balls and their ground truth, the other
generators, real footage."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ardiff_edu.data import PALETTE, bouncing_balls
from ardiff_edu.video import to_float, to_uint8

# ---------------------------------------------------------------------------------------------------------------
# uint8 <-> float


def test_to_float_convention():
    x = np.array([0, 1, 127, 128, 254, 255], dtype=np.uint8).reshape(1, 2, 3)  # (H=1, W=2, 3)
    y = to_float(x)
    assert y.dtype == torch.float32 and y.shape == (3, 1, 2)
    assert y[0, 0, 0] == -1.0 and y[2, 0, 1] == 1.0
    np.testing.assert_allclose(y.movedim(0, -1).numpy().reshape(-1), x.reshape(-1) / 127.5 - 1, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.integers(1, 5))
def test_uint8_float_round_trip(seed, lead, hw):
    x = np.random.default_rng(seed).integers(0, 256, size=(lead, hw, hw + 1, 3), dtype=np.uint8)
    y = to_float(x)
    assert y.shape == (lead, 3, hw, hw + 1) and y.min() >= -1 and y.max() <= 1
    back = to_uint8(y)
    assert back.dtype == np.uint8 and back.shape == x.shape
    assert np.array_equal(back, x)
    assert np.array_equal(to_uint8(y.numpy()), x)  # numpy input works too
    assert np.array_equal(to_float(torch.from_numpy(x)), y)  # torch input works too


def test_to_uint8_clamps_and_rounds():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 7.0, 0.0039]).reshape(1, 1, 6).expand(3, 1, 6)
    out = to_uint8(x)
    assert out.shape == (1, 6, 3)
    assert out[0, :, 0].tolist() == [0, 0, 128, 255, 255, 128]


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8), np.zeros(3, np.uint8)])
def test_to_float_rejects(bad):
    with pytest.raises(ValueError, match="video_uint8"):
        to_float(bad)


@pytest.mark.parametrize("bad", [np.zeros((3, 4, 4), np.uint8), torch.zeros(4, 4, 3), torch.zeros(3)])
def test_to_uint8_rejects(bad):
    with pytest.raises(ValueError, match="video_float"):
        to_uint8(bad)


# ---------------------------------------------------------------------------------------------------------------
# bouncing balls


def test_bouncing_balls_shape_dtype_determinism():
    a = bouncing_balls(6, num_frames=10, size=24, seed=3)
    assert a.shape == (6, 10, 24, 24, 3) and a.dtype == np.uint8
    assert np.array_equal(a, bouncing_balls(6, num_frames=10, size=24, seed=3))
    assert not np.array_equal(a, bouncing_balls(6, num_frames=10, size=24, seed=4))
    assert a.max() == 255 and a.min() == 0
    # a prefix of the clips depends on the number of clips only through the RNG stream: seeds pin the whole set
    assert bouncing_balls(0).shape == (0, 16, 32, 32, 3)


def test_bouncing_balls_state_physics():
    size, f = 32, 40
    clips, st_ = bouncing_balls(64, num_frames=f, size=size, num_balls=(1, 3), speed=(1.0, 2.0), seed=0,
                                return_state=True)
    pos, vel, rad, present = st_["positions"], st_["velocities"], st_["radii"], st_["present"]
    assert pos.shape == (64, f, 3, 2) and vel.shape == (64, f, 3, 2)
    assert rad.shape == present.shape == (64, 3)
    counts = present.sum(1)
    assert counts.min() >= 1 and counts.max() <= 3 and len(set(counts.tolist())) == 3
    assert np.all(present[:, 0])  # present balls come first
    # absent balls are marked, present balls have finite state; per-ball tracks (K, F, 2) in (clip, ball) order
    assert np.isnan(pos.transpose(0, 2, 1, 3)[~present]).all()
    pp = pos.transpose(0, 2, 1, 3)[present]
    v = vel.transpose(0, 2, 1, 3)[present]
    rr = rad[present]
    assert np.isfinite(pp).all() and np.isfinite(v).all()
    # every disc stays entirely inside the frame
    assert np.all(pp - rr[:, None, None] >= -1e-4) and np.all(pp + rr[:, None, None] <= size + 1e-4)
    # speed is constant and within range; each component only ever changes sign
    speed = np.linalg.norm(v, axis=-1)
    assert np.allclose(speed, speed[:, :1], atol=1e-4) and speed.min() >= 1.0 - 1e-4 and speed.max() <= 2.0 + 1e-4
    assert np.allclose(np.abs(v), np.abs(v[:, :1]), atol=1e-5)
    # a sign flip happens only next to a wall, and motion between frames agrees with the velocity away from walls
    flips = np.sign(v[:, 1:]) != np.sign(v[:, :-1])
    assert flips.any()  # bounces do happen in 40 frames
    near = (pp[:, 1:] - rr[:, None, None] <= 2.0 + 1e-3) | (pp[:, 1:] + rr[:, None, None] >= size - 2.0 - 1e-3)
    assert np.all(near[flips])
    step = pp[:, 1:] - pp[:, :-1]
    assert np.allclose(step[~flips], v[:, 1:][~flips], atol=1e-3)


def test_bouncing_balls_colours_distinct_and_drawn():
    clips, st_ = bouncing_balls(50, num_frames=4, num_balls=3, seed=1, return_state=True)
    ci = st_["colour_index"]
    assert all(len(set(row)) == 3 for row in ci.tolist())
    assert np.array_equal(st_["colours"], PALETTE[ci])
    # the pixel at each ball's centre has (nearly) that ball's colour unless another ball covers it
    n, b = 7, 0
    x, y = st_["positions"][n, 0, b]
    pix = clips[n, 0, int(y), int(x)].astype(int)
    others = [k for k in range(3) if k != b and np.hypot(*(st_["positions"][n, 0, k] - [x, y])) < 9]
    if not others:
        assert np.abs(pix - PALETTE[ci[n, b]].astype(int)).max() <= 2
    # background is black, a single ball's area is about pi r^2
    one, s1 = bouncing_balls(20, num_frames=1, num_balls=1, seed=2, return_state=True)
    cover = one[:, 0].max(-1).astype(float) / PALETTE[s1["colour_index"][:, 0]].max(-1)[:, None, None]
    area = cover.sum((1, 2))
    assert np.allclose(area, np.pi * s1["radii"][:, 0] ** 2, rtol=0.05)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_clips": -1}, "num_clips"),
        ({"num_clips": 2, "num_frames": 0}, "num_frames"),
        ({"num_clips": 2, "num_balls": (3, 1)}, "num_balls"),
        ({"num_clips": 2, "num_balls": 99}, "num_balls"),
        ({"num_clips": 2, "radius": (5.0, 1.0)}, "radius"),
        ({"num_clips": 2, "size": 8, "radius": 6.0}, "radius"),
        ({"num_clips": 2, "speed": -1.0}, "speed"),
        ({"num_clips": 2.5}, "num_clips"),
    ],
)
def test_bouncing_balls_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bouncing_balls(**kwargs)


# ---------------------------------------------------------------------------------------------------------------
# moving digits, the procedural mini-benchmarks, real footage

from ardiff_edu.data import (  # noqa: E402
    UCF_CLASSES,
    digit_glyphs,
    faces,
    moving_digits,
    real_footage_clips,
    sky_timelapse,
    taichi,
    ucf_actions,
)


def _ucf_clips(*a, **k):
    return ucf_actions(*a, **k)[0]


GENERATORS = [moving_digits, sky_timelapse, taichi, faces, _ucf_clips]


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_generators_shape_determinism_motion(gen):
    a = gen(5, num_frames=6, size=24, seed=7)
    assert a.shape == (5, 6, 24, 24, 3) and a.dtype == np.uint8
    assert np.array_equal(a, gen(5, num_frames=6, size=24, seed=7))
    assert not np.array_equal(a, gen(5, num_frames=6, size=24, seed=8))
    assert a.max() > 150 and a.std() > 10  # not blank
    motion = np.abs(np.diff(a.astype(np.int16), axis=1)).mean(axis=(1, 2, 3, 4))
    assert np.all(motion > 0)  # every clip moves
    assert gen(0, num_frames=3, size=24).shape == (0, 3, 24, 24, 3)


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda g: g.__name__)
def test_generators_bad_arguments(gen):
    with pytest.raises(ValueError, match="num_clips"):
        gen(-1)
    with pytest.raises(ValueError, match="num_frames"):
        gen(2, num_frames=0)
    with pytest.raises(ValueError, match="size"):
        gen(2, size=4)
    with pytest.raises(ValueError, match="seed"):
        gen(2, seed=-3)


def test_digit_glyphs_are_distinct_digits():
    g = digit_glyphs(14)
    assert g.shape == (10, 14, 14) and g.min() >= 0 and g.max() <= 1
    flat = g.reshape(10, -1)
    dist = np.abs(flat[:, None] - flat[None]).sum(-1)
    assert np.all(dist[~np.eye(10, dtype=bool)] > 5)
    assert g[1].sum() < g[8].sum()  # a '1' has less ink than an '8'


def test_moving_digits_labels_and_mass():
    clips, labels = moving_digits(40, num_frames=10, num_digits=(1, 2), seed=0, return_labels=True)
    assert labels.shape == (40, 2) and labels.dtype == np.int64
    assert np.all(labels[:, 0] >= 0) and set(np.unique(labels[:, 1])) <= set(range(-1, 10))
    assert (labels[:, 1] == -1).any() and (labels[:, 1] >= 0).any()
    assert np.array_equal(clips[..., 0], clips[..., 2])  # grey
    # one digit moves rigidly (integer steps, always fully inside): its ink is the same in every frame
    one = clips[labels[:, 1] == -1].astype(np.int64)[..., 0].sum(axis=(2, 3))
    assert np.all(one == one[:, :1])
    with pytest.raises(ValueError, match="num_digits"):
        moving_digits(2, num_digits=(2, 1))


def test_sky_is_smooth_and_drifts():
    clips = sky_timelapse(8, num_frames=8, seed=0).astype(np.float32)
    step = np.abs(np.diff(clips, axis=1)).mean()
    across = np.abs(clips[:4] - clips[4:]).mean()
    assert 0 < step < across / 3  # frames change slowly compared with how different clips are
    assert np.all(clips[:, :, 0].mean(axis=(2, 3)) != clips[:, :, -1].mean(axis=(2, 3)))  # top differs from bottom


def test_ucf_actions_classes_and_labels():
    clips, labels, names = ucf_actions(30, num_frames=8, seed=0)
    assert names == UCF_CLASSES and len(names) >= 5
    assert clips.shape == (30, 8, 32, 32, 3) and labels.shape == (30,) and labels.dtype == np.int64
    counts = np.bincount(labels, minlength=len(names))
    assert counts.max() - counts.min() <= 1  # balanced
    again = ucf_actions(30, num_frames=8, seed=0)
    assert np.array_equal(again[1], labels) and np.array_equal(again[0], clips)


def test_faces_blink_and_talk():
    clips = faces(6, num_frames=24, size=32, seed=0).astype(np.int16)
    d = np.abs(np.diff(clips, axis=1)).mean(axis=(2, 3, 4))
    assert np.all(d.max(1) > 0.3)  # something moves in every clip
    assert np.abs(clips[:, 0] - clips[:, -1]).mean() < np.abs(clips[:3, 0] - clips[3:, 0]).mean()  # identity stays


def test_real_footage_clips():
    a = real_footage_clips(3, num_frames=8, size=24, source="carphone", seed=0)
    assert a.shape == (3, 8, 24, 24, 3) and a.dtype == np.uint8
    assert np.array_equal(a, real_footage_clips(3, num_frames=8, size=24, source="carphone", seed=0))
    step = np.abs(np.diff(a.astype(np.int16), axis=1)).mean()
    assert 0 < step < 30 and a.std() > 20  # real, moving, temporally coherent footage
    with pytest.raises(ValueError, match="source"):
        real_footage_clips(1, source="kinetics")
    with pytest.raises(ValueError, match="num_frames must be <= 120"):
        real_footage_clips(1, num_frames=121, source="carphone")
    b = real_footage_clips(2, num_frames=4, size=16, source="bikes", seed=1)
    assert b.shape == (2, 4, 16, 16, 3)


def test_to_float_accepts_read_only_memmap(tmp_path):
    import warnings

    clips = bouncing_balls(2, num_frames=3, size=16, seed=0)
    np.save(tmp_path / "c.npy", clips)
    mm = np.load(tmp_path / "c.npy", mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(to_float(mm), to_float(clips))


@settings(max_examples=15, deadline=None)
@given(
    size=st.integers(12, 40),
    frames=st.integers(2, 30),
    r=st.floats(1.0, 5.0),
    v=st.floats(0.0, 6.0),
    seed=st.integers(0, 10_000),
)
def test_bouncing_balls_physics_property(size, frames, r, v, seed):
    clips, s = bouncing_balls(4, num_frames=frames, size=size, num_balls=(1, 2), radius=(r, r), speed=(v, v),
                              seed=seed, return_state=True)
    assert clips.shape == (4, frames, size, size, 3)
    tracks = s["positions"].transpose(0, 2, 1, 3)[s["present"]]  # (K, F, 2)
    vel = s["velocities"].transpose(0, 2, 1, 3)[s["present"]]
    assert np.all(tracks >= r - 1e-3) and np.all(tracks <= size - r + 1e-3)  # discs never leave the frame
    assert np.allclose(np.linalg.norm(vel, axis=-1), v, atol=1e-3)  # speed is exactly the requested one
    # frame to frame, a coordinate moves by its velocity, or (after a bounce) by less: never farther
    assert np.all(np.abs(np.diff(tracks, axis=1)) <= np.abs(vel[:, 1:]) + 1e-3)
    # the image agrees with the state: a pixel at a ball's centre is lit
    n, b = np.argwhere(s["present"])[0]
    x, y = s["positions"][n, 0, b]
    assert clips[n, 0, int(y), int(x)].max() > 100
