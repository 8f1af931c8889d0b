"""Video files and notebook display: write_video / read_video (moviepy + imageio-ffmpeg) and small viewers.

Writing goes through moviepy (``ImageSequenceClip`` -> libx264 yuv420p; GIFs through Pillow) and reading through
``imageio.v3`` with the imageio-ffmpeg binary, so neither needs a system ffmpeg. scikit-video is not used for I/O:
its reader and writer are broken under numpy 2 (``np.float`` / ``ndarray.tostring`` are gone).

Accepted clips everywhere: uint8 ``(F, H, W, 3)`` (the on-disk convention) or float ``(F, 3, H, W)`` in
``[-1, 1]`` (the model convention), numpy or torch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from ardiff_edu.utils import atomic_open, check_choice, check_float, check_int

# ----------------------------------------------------------------------------------------------------------------
# the pixel convention: uint8 (F, H, W, 3) on disk, float (F, 3, H, W) in [-1, 1] for models


def to_float(video_uint8) -> torch.Tensor:
    """uint8 ``(..., H, W, 3)`` (numpy or torch) -> float32 torch ``(..., 3, H, W)`` in ``[-1, 1]``: ``x/127.5 - 1``."""
    if isinstance(video_uint8, torch.Tensor):
        x = video_uint8
    else:
        arr = np.asarray(video_uint8)
        x = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # read-only memmaps: copy, no warning
    if x.dtype != torch.uint8:
        raise ValueError(f"video_uint8 must have dtype uint8, got {x.dtype} with shape {tuple(x.shape)}")
    if x.ndim < 3 or x.shape[-1] != 3:
        raise ValueError(f"video_uint8 must have shape (..., H, W, 3), got {tuple(x.shape)}")
    return x.movedim(-1, -3).to(torch.float32).div(127.5).sub(1.0).contiguous()


def to_uint8(video_float) -> np.ndarray:
    """Float ``(..., 3, H, W)`` in ``[-1, 1]`` (numpy or torch) -> uint8 numpy ``(..., H, W, 3)``: clamp, then round."""
    if isinstance(video_float, torch.Tensor):
        x = video_float.detach().cpu()
    else:
        x = torch.as_tensor(np.asarray(video_float))
    if not x.is_floating_point():
        raise ValueError(f"video_float must be a floating-point array, got {x.dtype} with shape {tuple(x.shape)}")
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f"video_float must have shape (..., 3, H, W), got {tuple(x.shape)}")
    x = ((x.to(torch.float32).clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return x.movedim(-3, -1).contiguous().numpy()


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


def show_grid(clips, max_frames: int | None = 16, row_titles=None, title: str | None = None, scale: float = 0.55,
              dpi: int = 80):
    """Clips as rows of frames (time left to right, the frame index above each column); returns the Figure.

    ``clips``: a sequence of clips (each uint8 ``(F, H, W, 3)`` or float ``(F, 3, H, W)``) or one 5-D array.
    ``max_frames`` evenly subsamples long clips; ``scale`` is inches per frame. The margins for the title, the frame
    indices and the row titles are fixed in inches, so that nothing collides whatever the number of rows.
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
    cell_w, cell_h = scale * w / max(h, w), scale * h / max(h, w)
    top = 0.22 + (0.25 if title else 0.0)                                  # inches: frame indices, then the title
    left = 0.05 + (0.09 * max(len(str(t)) for t in row_titles) if row_titles is not None else 0.0)
    width, height = left + cols * cell_w * 1.05 + 0.05, top + len(clips) * cell_h * 1.05 + 0.05
    fig, axes = plt.subplots(len(clips), cols, figsize=(width, height), dpi=dpi, squeeze=False)
    for r, (clip, ii) in enumerate(zip(clips, idx)):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(ii):
                ax.imshow(clip[ii[c]], interpolation="nearest")
                if r == 0:
                    ax.set_title(f"{ii[c]}", fontsize=9, pad=2)
            else:
                ax.axis("off")
        if row_titles is not None:
            axes[r, 0].set_ylabel(str(row_titles[r]), fontsize=9, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.04 / height, va="top")
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=left / width, right=1 - 0.05 / width, bottom=0.05 / height,
                        top=1 - top / height)
    return fig


def show_strip(clip, max_frames: int | None = 16, title: str | None = None, scale: float = 0.6, dpi: int = 80):
    """One clip as a strip of frames over time (frame index above each); returns the matplotlib Figure."""
    return show_grid([clip], max_frames=max_frames, title=title, scale=scale, dpi=dpi)


def tile(clips, gap: int = 1, scale: int = 1) -> np.ndarray:
    """Clips side by side, separated by ``gap`` grey columns, each frame upscaled ``scale`` times (nearest) ->
    uint8 ``(F, H·scale, W_total, 3)``. ``clips``: a sequence of clips or one 5-D array ``(M, F, H, W, 3)``.

    Shorter clips hold their last frame; all clips must share H.
    """
    scale, gap = check_int("scale", scale, 1, 16), check_int("gap", gap, 0, 16)
    clips = [as_uint8_frames(c, "clips[i]") for c in clips]
    if not clips:
        raise ValueError("clips must hold at least one clip, got none")
    heights = {c.shape[1] for c in clips}
    if len(heights) != 1:
        raise ValueError(f"clips must all have the same height, got heights {sorted(heights)}")
    f = max(len(c) for c in clips)
    parts = []
    for i, c in enumerate(clips):
        c = c.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else c
        if i:
            parts.append(np.full((f, c.shape[1], gap, 3), 96, np.uint8))
        parts.append(np.concatenate([c, np.repeat(c[-1:], f - len(c), axis=0)]) if len(c) < f else c)
    return np.concatenate(parts, axis=2)


def write_videos(path, videos, fps: int = 8, scale: int = 1, title: str | None = None) -> Path:
    """Write uint8 videos ``(M, N, H, W, 3)``: ``.npy`` keeps the array as is; ``.mp4`` / ``.gif`` get them side by
    side (:func:`tile`, upscaled ``scale`` times); a ``.gif`` with a ``title`` gets it in a header above the videos
    (:func:`labelled_frames`), with the frame number."""
    path = Path(path)
    suffix = check_choice("path suffix", path.suffix.lower(), (".npy", ".mp4", ".gif"))
    videos = np.asarray(videos)
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"videos must be uint8 (M, N, H, W, 3), got {videos.dtype} {videos.shape}")
    if suffix == ".npy":
        with atomic_open(path) as f:
            np.save(f, videos)
        return path
    if suffix == ".gif" and title:
        return write_video(path, labelled_frames(list(videos), title, scale=scale), fps=fps)
    return write_video(path, tile(videos, gap=1 if len(videos) > 1 else 0, scale=scale), fps=fps)


def _font(size: int):
    from matplotlib import get_data_path
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)


def labelled_frames(clips, title: str = "", labels=None, scale: int = 3, font_size: int = 12) -> np.ndarray:
    """Clips side by side (:func:`tile`) under a white header with ``title`` and the frame number, and ``labels``
    (one per clip) above each clip: uint8 ``(F, H', W', 3)``, ready for a GIF."""
    from PIL import Image, ImageDraw

    if isinstance(clips, (np.ndarray, torch.Tensor)) and clips.ndim == 4:
        clips = [clips]
    clips = [as_uint8_frames(c, "clips[i]") for c in clips]
    if labels is not None and len(labels) != len(clips):
        raise ValueError(f"labels must have one entry per clip ({len(clips)}), got {len(labels)}")
    video = tile(clips, gap=2, scale=scale)
    F, H, W, _ = video.shape
    font = _font(font_size)
    rows = (1 if title else 0) + (1 if labels else 0) + 1
    head = rows * (font_size + 4) + 4
    out = []
    for f in range(F):
        canvas = Image.new("RGB", (max(W, int(font.getlength(title or "")) + 6, 8 * font_size), H + head), "white")
        canvas.paste(Image.fromarray(video[f]), (0, head))
        draw = ImageDraw.Draw(canvas)
        y = 2
        if title:
            draw.text((2, y), title, fill="black", font=font)
            y += font_size + 4
        draw.text((2, y), f"frame {f:>3d} / {F - 1}", fill=(60, 60, 60), font=font)
        y += font_size + 4
        for i, label in enumerate(labels or []):
            x = i * (clips[i].shape[2] * scale + 2)
            draw.text((x + 2, y), str(label), fill="black", font=font)
        out.append(np.asarray(canvas))
    return np.stack(out)


def gif_bytes(frames: np.ndarray, fps: int = 8) -> bytes:
    """uint8 ``(F, H, W, 3)`` → the bytes of a looping GIF."""
    import io

    import imageio.v3 as iio

    buf = io.BytesIO()
    iio.imwrite(buf, as_uint8_frames(frames), extension=".gif", plugin="pillow", duration=1000.0 / fps, loop=0)
    return buf.getvalue()


def animate(clips, title: str = "", labels=None, fps: int = 8, scale: int = 3):
    """Clips playing side by side in the notebook, as a labelled GIF image (``IPython.display.Image``): it plays on
    GitHub and in untrusted notebooks, where scripts and ``<video>`` do not. ``title`` should say what is shown (for
    sampled clips: ``s``, ``S`` and NFE); ``labels`` names each clip."""
    from IPython.display import Image

    check_float("fps", fps, 0, 60, low_open=True)
    return Image(data=gif_bytes(labelled_frames(clips, title, labels, scale), fps), format="gif")
