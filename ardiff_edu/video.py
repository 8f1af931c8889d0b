"""Video files and notebook display: write_video / read_video (moviepy + imageio-ffmpeg) and small viewers.

Writing goes through moviepy (``ImageSequenceClip`` -> libx264 yuv420p; GIFs through Pillow) and reading through
``imageio.v3`` with the imageio-ffmpeg binary, so neither needs a system ffmpeg. scikit-video is not used for I/O:
its reader and writer are broken under numpy 2 (``np.float`` / ``ndarray.tostring`` are gone).

Accepted clips everywhere: uint8 ``(F, H, W, 3)`` (the on-disk convention) or float ``(F, 3, H, W)`` in
``[-1, 1]`` (the model convention), numpy or torch.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import numpy as np
import torch

from .utils import atomic_open, check_choice, check_float, check_int

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
WRITE_SUFFIXES = (".mp4", ".avi", ".gif", ".npy")
READ_SUFFIXES = VIDEO_SUFFIXES + (".gif", ".npy")


def as_uint8_frames(frames, name: str = "frames") -> np.ndarray:
    """Return ``frames`` as a uint8 numpy ``(F, H, W, 3)`` array.

    Accepts uint8 ``(F, H, W, 3)`` or floating ``(F, 3, H, W)`` in ``[-1, 1]`` (numpy or torch); anything else is a
    ``ValueError`` naming the shape and dtype it got. Floats slightly outside ``[-1, 1]`` (a decoder overshooting)
    are clipped, as image writers do; NaN or inf is a ``ValueError``, since it means the model diverged.
    """
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    shape, dtype = tuple(frames.shape), frames.dtype
    if frames.ndim == 4 and dtype == np.uint8 and shape[-1] == 3 and min(shape) > 0:
        return np.ascontiguousarray(frames)
    if frames.ndim == 4 and np.issubdtype(dtype, np.floating) and shape[1] == 3 and min(shape) > 0:
        from .data.synthetic import to_uint8

        finite = np.isfinite(frames)
        if not finite.all():
            bad = frames.size - int(finite.sum())
            raise ValueError(f"{name} contains {bad} NaN/inf values; finite values in [-1, 1] are expected")
        return to_uint8(frames)
    raise ValueError(
        f"{name} must be uint8 (F, H, W, 3) or float (F, 3, H, W) in [-1, 1] with F, H, W >= 1, "
        f"got shape {shape} and dtype {dtype}"
    )


def pad_to_even(frames: np.ndarray) -> np.ndarray:
    """Pad ``(F, H, W, 3)`` with black on the bottom/right so that H and W are even (yuv420p needs it)."""
    _, h, w, _ = frames.shape
    if h % 2 == 0 and w % 2 == 0:
        return frames
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))


def write_video(path, frames, fps: int = 8) -> Path:
    """Write a clip to ``path`` atomically: .mp4 / .avi (libx264 yuv420p via moviepy), .gif (Pillow), .npy (exact).

    ``frames``: uint8 ``(F, H, W, 3)`` or float ``(F, 3, H, W)`` in ``[-1, 1]``. H.264 with yuv420p needs even
    sizes, so odd heights/widths are padded with one black row/column (the file is then one pixel larger). The
    file is written through :func:`ardiff_edu.utils.atomic_open` (a temporary file beside ``path``, renamed onto it
    only when complete), so a crash never leaves a half-written video. Returns ``path``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ValueError(f"path must end in one of {WRITE_SUFFIXES}, got {str(path)!r}")
    check_float("fps", fps, 0, 240, low_open=True)
    frames = as_uint8_frames(frames)
    with atomic_open(path) as f:  # a temporary file beside path, renamed onto it only when complete
        if suffix == ".npy":
            np.save(f, frames)
        elif suffix == ".gif":
            # Pillow through imageio: exact frame count (moviepy's GIF path drops frames at some fps)
            import imageio.v3 as iio

            iio.imwrite(f, frames, extension=".gif", plugin="pillow", duration=1000.0 / fps, loop=0)
        else:
            from moviepy import ImageSequenceClip

            # a LIST of frames: a 4-D array would be taken for a path. moviepy writes int(duration * fps) frames,
            # and n / fps * fps can round down to n - 1 (12 / 25 * 25 = 11.999...): half a frame of slack fixes it
            clip = ImageSequenceClip(list(pad_to_even(frames)), fps=fps).with_duration((len(frames) + 0.5) / fps)
            with tempfile.TemporaryDirectory() as tmp:  # moviepy (ffmpeg) needs a file name, not a file object
                encoded = Path(tmp) / f"video{suffix}"
                try:
                    clip.write_videofile(str(encoded), fps=fps, codec="libx264", audio=False, logger=None,
                                         ffmpeg_params=["-pix_fmt", "yuv420p"])
                finally:
                    clip.close()
                f.write(encoded.read_bytes())
    return path


def short_error(err: BaseException) -> str:
    """``"Type: message"`` on one line: imageio appends ffmpeg's whole banner after ``=== stderr ===``; keep only
    the first line of the message and ffmpeg's last line (its actual complaint)."""
    head, _, stderr = str(err).partition("=== stderr ===")
    lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
    text = f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    last = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return f"{text} (ffmpeg: {last[-1]})" if last else text


def iter_frames(path, max_frames: int | None = None):
    """Yield the frames of a video one at a time as uint8 ``(H, W, 3)`` (see :func:`read_video` for the formats).

    Decoding streams, so a long or large video never has to fit in memory at once. Raises ``FileNotFoundError``
    for a missing file and ``ValueError`` naming the file for an unknown extension or a file that cannot be decoded
    (also when decoding fails part-way through).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no video file at {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise ValueError(f"cannot read {str(path)!r}: extension must be one of {READ_SUFFIXES}")
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int)
                                   or max_frames < 1):
        raise ValueError(f"max_frames must be None or an integer >= 1, got {max_frames!r}")
    count = 0
    try:
        if suffix == ".npy":
            frames = np.load(path, mmap_mode="r", allow_pickle=False)
            if frames.ndim != 4:
                raise ValueError(f"expected a 4-D array (F, H, W, 3), got shape {frames.shape}")
        else:
            import imageio.v3 as iio

            kwargs = {"plugin": "pillow", "mode": "RGB"} if suffix == ".gif" else {"plugin": "FFMPEG"}
            frames = iio.imiter(path, **kwargs)
        for frame in frames:
            frame = np.asarray(frame)
            if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
                raise ValueError(f"frame {count} is not uint8 (H, W, 3): shape {frame.shape}, dtype {frame.dtype}")
            yield frame
            count += 1
            if max_frames is not None and count >= max_frames:
                return
    except Exception as err:  # decoders raise many types; name the file in one clear error
        raise ValueError(f"cannot decode video file {str(path)!r} (after {count} frames): "
                         f"{short_error(err)}") from err
    if count == 0:
        raise ValueError(f"video file {str(path)!r} holds no frames")


def read_video(path, max_frames: int | None = None) -> np.ndarray:
    """Read a video as uint8 ``(F, H, W, 3)``: mp4/avi/mov/mkv/webm/gif via ``imageio.v3``, ``.npy`` via ``np.load``.

    ``max_frames`` stops decoding early (only the first frames are read). Raises ``FileNotFoundError`` for a
    missing file and ``ValueError`` naming the file for an unknown extension or a file that cannot be decoded.
    Videos are decoded by imageio with the imageio-ffmpeg binary (no system ffmpeg needed).
    """
    path = Path(path)
    if path.suffix.lower() == ".npy" and path.is_file() and max_frames is None:
        video = np.load(path, allow_pickle=False)  # fast path: one read
        if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8 or len(video) == 0:
            raise ValueError(f"video file {str(path)!r} does not hold uint8 (F, H, W, 3) frames with F >= 1, "
                             f"got shape {video.shape} and dtype {video.dtype}")
        return video
    frames = list(iter_frames(path, max_frames))
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError(f"video file {str(path)!r} has frames of different sizes")
    return np.stack(frames)


# ----------------------------------------------------------------------------------------------------------------
# notebook display


def _pick(num: int, max_frames: int | None) -> np.ndarray:
    if max_frames is None or num <= max_frames:
        return np.arange(num)
    return np.unique(np.linspace(0, num - 1, max_frames).round().astype(int))


def show_grid(clips, max_frames: int | None = 16, row_titles=None, title: str | None = None, scale: float = 0.5,
              dpi: int = 60):
    """Clips as rows of frames (time left to right); returns the matplotlib Figure.

    ``clips``: a sequence of clips (each uint8 ``(F, H, W, 3)`` or float ``(F, 3, H, W)``) or one 5-D array.
    ``max_frames`` evenly subsamples long clips; ``scale`` is inches per frame.
    """
    import matplotlib.pyplot as plt

    clips = [as_uint8_frames(c, "clips[i]") for c in clips]
    if not clips:
        raise ValueError("clips must hold at least one clip, got none")
    if row_titles is not None and len(row_titles) != len(clips):
        raise ValueError(f"row_titles must have one entry per clip ({len(clips)}), got {len(row_titles)}")
    idx = [_pick(len(c), max_frames) for c in clips]
    cols = max(len(i) for i in idx)
    h, w = clips[0].shape[1:3]
    fig, axes = plt.subplots(len(clips), cols, figsize=(cols * scale * w / max(h, w) + 0.2,
                                                         len(clips) * scale * h / max(h, w) + 0.3),
                             dpi=dpi, squeeze=False)
    for r, (clip, ii) in enumerate(zip(clips, idx)):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(ii):
                ax.imshow(clip[ii[c]], interpolation="nearest")
                if r == 0:
                    ax.set_title(f"{ii[c]}", fontsize=6, pad=2)
            else:
                ax.axis("off")
        if row_titles is not None:
            axes[r, 0].set_ylabel(str(row_titles[r]), fontsize=7, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.01 if row_titles is None else 0.12, right=0.99,
                        bottom=0.01, top=0.85 if title else 0.9)
    return fig


def show_strip(clip, max_frames: int | None = 16, title: str | None = None, scale: float = 0.6, dpi: int = 60):
    """One clip as a strip of frames over time (frame index above each); returns the matplotlib Figure."""
    return show_grid([clip], max_frames=max_frames, title=title, scale=scale, dpi=dpi)


def tile(clips, gap: int = 1) -> np.ndarray:
    """Put clips side by side (separated by ``gap`` grey columns) -> uint8 ``(F, H, W_total, 3)``.

    Shorter clips hold their last frame; all clips must share H.
    """
    clips = [as_uint8_frames(c, "clips[i]") for c in clips]
    if not clips:
        raise ValueError("clips must hold at least one clip, got none")
    heights = {c.shape[1] for c in clips}
    if len(heights) != 1:
        raise ValueError(f"clips must all have the same height, got heights {sorted(heights)}")
    f = max(len(c) for c in clips)
    h = clips[0].shape[1]
    parts = []
    for i, c in enumerate(clips):
        if i:
            parts.append(np.full((f, h, gap, 3), 96, np.uint8))
        parts.append(np.concatenate([c, np.repeat(c[-1:], f - len(c), axis=0)]) if len(c) < f else c)
    return np.concatenate(parts, axis=2)


def animate(clips, fps: int = 8, scale: int = 3, fmt: str = "jshtml", dpi: int = 50):
    """Several clips playing side by side in the notebook -> ``IPython.display.HTML``.

    ``fmt="jshtml"``: a matplotlib ``to_jshtml`` player (no ffmpeg needed; a few tens of KB for 16 small frames).
    ``fmt="mp4"``: an embedded base64 H.264 ``<video>`` (smaller), frames upscaled ``scale`` times (nearest).
    ``clips``: one clip or a sequence of clips (uint8 ``(F, H, W, 3)`` or float ``(F, 3, H, W)``).
    """
    from IPython.display import HTML

    check_choice("fmt", fmt, ("jshtml", "mp4"))
    scale = check_int("scale", scale, 1, 16)
    if isinstance(clips, (np.ndarray, torch.Tensor)) and clips.ndim == 4:
        clips = [clips]
    video = tile(clips)
    if fmt == "mp4":
        big = np.repeat(np.repeat(video, scale, axis=1), scale, axis=2)
        with tempfile.TemporaryDirectory() as tmp:
            data = write_video(Path(tmp) / "anim.mp4", big, fps=fps).read_bytes()
        src = base64.b64encode(data).decode("ascii")
        return HTML(f'<video controls loop autoplay muted width="{big.shape[2]}">'
                    f'<source src="data:video/mp4;base64,{src}" type="video/mp4"></video>')
    import matplotlib.pyplot as plt
    from matplotlib import animation

    h, w = video.shape[1:3]
    fig = plt.figure(figsize=(w * scale / dpi, h * scale / dpi), dpi=dpi)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.axis("off")
    im = ax.imshow(video[0], interpolation="nearest")

    def update(i):
        im.set_data(video[i])
        return (im,)

    anim = animation.FuncAnimation(fig, update, frames=len(video), interval=1000 / fps, blit=True)
    html = anim.to_jshtml(fps=fps, default_mode="loop")
    plt.close(fig)
    return HTML(html)
