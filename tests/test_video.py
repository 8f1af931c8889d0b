"""Tests for ardiff_edu.video: file round trips, atomic writes, bad input, display helpers."""

import matplotlib

matplotlib.use("Agg")

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ardiff_edu.data import bouncing_balls  # noqa: E402
from ardiff_edu.video import to_float  # noqa: E402
from ardiff_edu.video import (  # noqa: E402
    animate,
    as_uint8_frames,
    read_video,
    show_grid,
    show_strip,
    tile,
    write_video,
)


@pytest.fixture(scope="module")
def clip():
    return bouncing_balls(1, num_frames=12, size=32, seed=0)[0]


def no_temp_files(folder):
    return [p.name for p in folder.iterdir() if ".tmp." in p.name] == []


@pytest.mark.parametrize("ext", ["mp4", "avi"])
def test_lossy_video_round_trip(tmp_path, clip, ext):
    path = write_video(tmp_path / f"a.{ext}", clip, fps=8)
    back = read_video(path)
    assert back.shape == clip.shape and back.dtype == np.uint8
    err = np.abs(back.astype(int) - clip.astype(int))
    assert err.mean() < 6 and np.percentile(err, 99) < 80  # lossy, but clearly the same clip
    assert no_temp_files(tmp_path)
    assert read_video(path, max_frames=3).shape == (3, 32, 32, 3)


@pytest.mark.parametrize("ext", ["gif", "npy"])
def test_exact_round_trip(tmp_path, clip, ext):
    # a handful of palette colours on black fits a GIF palette exactly; .npy is always exact
    path = write_video(tmp_path / f"a.{ext}", clip)
    back = read_video(path)
    assert back.shape == clip.shape
    assert np.abs(back.astype(int) - clip.astype(int)).max() <= 2
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("ext", ["mp4", "gif"])
@pytest.mark.parametrize("fps", [3, 25, 29.97])
@pytest.mark.parametrize("n", [1, 12, 33])
def test_frame_count_is_preserved(tmp_path, ext, fps, n):
    # moviepy writes int(duration * fps) frames and 12 / 25 * 25 = 11.999...; moviepy's GIF writer drops frames
    video = np.repeat((np.arange(n) * 7 % 250).astype(np.uint8)[:, None, None, None], 8, 1).repeat(8, 2).repeat(3, 3)
    back = read_video(write_video(tmp_path / f"v.{ext}", video, fps=fps))
    assert len(back) == n
    assert np.abs(back.astype(int) - video.astype(int)).max() <= 12


def test_iter_frames_streams(tmp_path, clip):
    from ardiff_edu.video import iter_frames

    for ext in ("mp4", "gif", "npy"):
        path = write_video(tmp_path / f"s.{ext}", clip)
        frames = iter_frames(path)
        first = next(frames)
        assert first.shape == (32, 32, 3) and first.dtype == np.uint8
        assert 1 + sum(1 for _ in frames) == len(clip)
        assert len(list(iter_frames(path, max_frames=5))) == 5
    np.save(tmp_path / "bad.npy", np.zeros((3, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="bad.npy"):
        read_video(tmp_path / "bad.npy")


def test_float_input_and_odd_size(tmp_path):
    clip = bouncing_balls(1, num_frames=5, size=15, seed=1)[0]
    write_video(tmp_path / "f.npy", to_float(clip))  # float (F, 3, H, W) in [-1, 1] is converted back exactly
    assert np.array_equal(read_video(tmp_path / "f.npy"), clip)
    back = read_video(write_video(tmp_path / "odd.mp4", clip))  # padded to even for yuv420p
    assert back.shape == (5, 16, 16, 3)
    assert np.abs(back[:, :15, :15].astype(int) - clip.astype(int)).mean() < 8
    assert back[:, 15].mean() < 20 and back[:, :, 15].mean() < 20  # the pad is black


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 8, 8), np.uint8),
        np.zeros((4, 8, 8, 4), np.uint8),
        np.zeros((4, 8, 8, 3), np.float32),  # float must be channels-first
        np.zeros((4, 8, 8, 3), np.int64),
        np.zeros((0, 8, 8, 3), np.uint8),
        torch.zeros(2, 3, 8),
    ],
)
def test_bad_frames(tmp_path, bad):
    with pytest.raises(ValueError, match=r"frames must be .*got shape"):
        write_video(tmp_path / "x.mp4", bad)
    assert list(tmp_path.iterdir()) == []


def test_bad_path_and_fps(tmp_path, clip):
    with pytest.raises(ValueError, match="path must end in"):
        write_video(tmp_path / "x.png", clip)
    with pytest.raises(ValueError, match=r"fps must be in \(0, 240\], got 0"):
        write_video(tmp_path / "x.mp4", clip, fps=0)
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        read_video(tmp_path / "nope.mp4")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="extension"):
        read_video(tmp_path / "x.txt")
    (tmp_path / "broken.mp4").write_bytes(b"\x00not a video" * 10)
    with pytest.raises(ValueError, match="broken.mp4") as info:
        read_video(tmp_path / "broken.mp4")
    assert "\n" not in str(info.value) and "ffmpeg version" not in str(info.value)  # one line, no banner
    with pytest.raises(ValueError, match="max_frames"):
        read_video(write_video(tmp_path / "ok.npy", clip), max_frames=0)


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, clip, monkeypatch):
    path = write_video(tmp_path / "keep.mp4", clip)
    before = path.read_bytes()
    import moviepy

    def boom(*a, **k):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(moviepy.ImageSequenceClip, "write_videofile", boom)
    with pytest.raises(RuntimeError, match="encoder crashed"):
        write_video(path, clip[::-1])
    assert path.read_bytes() == before
    assert no_temp_files(tmp_path)


def test_as_uint8_frames_accepts_torch(clip):
    assert np.array_equal(as_uint8_frames(torch.from_numpy(clip)), clip)
    assert np.array_equal(as_uint8_frames(to_float(clip)), clip)


def test_as_uint8_frames_clips_overshoot_and_refuses_nan(clip):
    x = to_float(clip)
    assert np.array_equal(as_uint8_frames(x * 1.5), as_uint8_frames(x.clamp(-1 / 1.5, 1 / 1.5) * 1.5))
    assert as_uint8_frames(x * 0 + 3).min() == 255 and as_uint8_frames(x * 0 - 3).max() == 0
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="1 NaN/inf values"):
        as_uint8_frames(x)


def test_display_helpers(clip):
    import matplotlib.pyplot as plt

    fig = show_strip(clip, max_frames=6, title="t")
    assert len([a for a in fig.axes if a.images]) == 6 and fig.dpi <= 80
    plt.close(fig)
    fig = show_grid([clip, to_float(clip)], max_frames=4, row_titles=["a", "b"])
    assert len([a for a in fig.axes if a.images]) == 8
    plt.close(fig)
    with pytest.raises(ValueError, match="row_titles"):
        show_grid([clip], row_titles=["a", "b"])
    t = tile([clip, clip[:5]])
    assert t.shape == (12, 32, 65, 3) and np.array_equal(t[:, :, 33:][6], clip[4])
    assert tile([clip[:2]], scale=2).shape == (2, 64, 64, 3)
    gif = animate([clip[:4], clip[:4]], title="s=2, S=10, NFE=28", labels=["a", "b"], fps=4)
    assert gif.format == "gif" and gif.data[:6] == b"GIF89a" and len(gif.data) < 200_000   # plays without scripts
    frames = iio.imread(gif.data, extension=".gif", index=None)
    assert frames.shape[0] == 4 and frames.shape[2] >= 2 * 32 * 3                 # labelled header above the clips
    assert not np.array_equal(frames[0, 16:32], frames[1, 16:32])                  # the frame counter moves
    with pytest.raises(ValueError, match="labels must have one entry per clip"):
        animate([clip, clip], labels=["only one"])
