"""Video files (MP4, GIF) from rendered frames, via the ffmpeg that imageio-ffmpeg ships.

Frames are QImages; the file is written to a temporary name beside the target
and renamed when complete, so a cancelled or failed render leaves nothing.
"""
from __future__ import annotations

import contextlib
import errno
import logging
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from tickscope.sim.atomic import atomic_path
from tickscope.sim.errors import InputError
from tickscope.sim.export import report_progress

FORMATS = {".mp4": "mp4", ".gif": "gif"}
MIN_FPS, MAX_FPS = 1, 60


def check_video_path(path) -> str:
    """The container for *path* by its suffix; InputError for anything but .mp4 / .gif."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--video: {path}: unknown video format {suffix or '(none)'!r} (use .mp4 or .gif)")
    return FORMATS[suffix]


def check_fps(fps) -> int:
    if isinstance(fps, bool) or not isinstance(fps, int) or not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(f"--fps: {fps!r} is out of range (allowed {MIN_FPS}..{MAX_FPS})")
    return fps


def image_rgb(img) -> np.ndarray:
    """A QImage as an (h, w, 3) uint8 array."""
    from PySide6 import QtGui

    img = img.convertToFormat(QtGui.QImage.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()  # the converted QImage dies with this frame


def write_video(path, frames: Iterable, size: tuple[int, int], fps: int, total: int,
                progress: Callable | None = None, fmt: str | None = None) -> int:
    """Encode *frames* (QImages or (h, w, 3) arrays of *size*) into *path*; returns the frame count.

    *fmt* (``"mp4"`` / ``"gif"``) defaults to the suffix of *path*.

    Raises
    ------
    ExportCancelled
        If *progress* returns False; the partial file is removed.
    """
    import imageio_ffmpeg

    fmt = fmt or check_video_path(path)
    w, h = size
    if fmt == "mp4" and (w % 2 or h % 2):
        raise InputError(f"--size: {w}x{h}: MP4 (yuv420p) needs an even width and height")
    if fmt == "mp4":
        kw = dict(codec="libx264", pix_fmt_out="yuv420p", quality=None,
                  output_params=["-f", "mp4", "-crf", "23", "-preset", "veryfast"])
    else:
        kw = dict(codec="gif", pix_fmt_out="rgb8", quality=None, output_params=["-f", "gif"])
    n = 0
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(str(tmp), (w, h), fps=fps, macro_block_size=1,
                                             ffmpeg_log_level="error", **kw)
        writer.send(None)
        ffmpeg = _ffmpeg_process(writer)
        try:
            for frame in frames:
                arr = frame if isinstance(frame, np.ndarray) else image_rgb(frame)
                if arr.shape != (h, w, 3):
                    raise ValueError(f"frame {n} is {arr.shape[1]}x{arr.shape[0]}, expected {w}x{h}")
                writer.send(np.ascontiguousarray(arr))
                n += 1
                report_progress(progress, n, total)
        finally:
            # closed before its first frame (Ctrl+C, a frame that could not be drawn) imageio-ffmpeg logs "No frames
            # have been written; the written video is invalid." to stderr: a second line beside the one-line error,
            # about a file that is removed here anyway
            with _quiet(logging.getLogger("imageio_ffmpeg")) if n == 0 else contextlib.nullcontext():
                writer.close()  # waits for (or on error stops) ffmpeg before the file is renamed or removed
        # imageio-ffmpeg does not check how ffmpeg ended: one that failed (a full disk while writing the MP4
        # trailer) left a truncated video renamed into place and exit status 0
        if ffmpeg is not None and ffmpeg.returncode not in (0, None):
            raise OSError(errno.EIO, f"ffmpeg could not write the video (exit status {ffmpeg.returncode})", str(path))
    return n


@contextlib.contextmanager
def _quiet(logger: logging.Logger):
    """*logger* passes only errors for the duration of the block."""
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _ffmpeg_process(writer):
    """The ffmpeg process behind an imageio-ffmpeg frame writer (started), or None where it cannot be found."""
    frame = getattr(writer, "gi_frame", None)
    proc = frame.f_locals.get("p") if frame is not None else None
    return proc if hasattr(proc, "returncode") and hasattr(proc, "poll") else None


def count_frames(path) -> int:
    """Decode *path* fully and count its frames (ffprobe is not shipped)."""
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
    try:
        next(gen)  # metadata
        return sum(1 for _ in gen)
    finally:
        gen.close()
