"""A video that ffmpeg fails to write is an error, and nothing is left under the target's name."""
import contextlib
import errno
import logging
from pathlib import Path

import numpy as np
import pytest

from tickscope.gui import video
from tickscope.sim.errors import InputError


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device whose writes fail ENOSPC)")
def test_a_video_ffmpeg_cannot_write_raises_naming_the_target(tmp_path, monkeypatch):
    target = tmp_path / "v.mp4"

    @contextlib.contextmanager
    def onto_a_full_disk(path):
        assert Path(path) == target
        yield Path("/dev/full")   # ffmpeg's writes there fail as on a full disk

    monkeypatch.setattr(video, "atomic_path", onto_a_full_disk)
    frames = [np.full((64, 96, 3), i * 40, dtype=np.uint8) for i in range(5)]
    with pytest.raises(OSError) as info:
        video.write_video(target, frames, (96, 64), fps=5, total=len(frames))
    assert info.value.errno == errno.EIO and info.value.filename == str(target)
    assert not target.exists()


def test_a_video_that_ffmpeg_writes_still_counts_its_frames(tmp_path):
    target = tmp_path / "v.gif"
    frames = [np.full((64, 96, 3), i * 40, dtype=np.uint8) for i in range(3)]
    assert video.write_video(target, frames, (96, 64), fps=5, total=3) == 3
    assert video.count_frames(target) == 3


@pytest.mark.parametrize("stop", [KeyboardInterrupt, lambda: InputError("frame 0 cannot be drawn")])
def test_a_video_stopped_before_its_first_frame_says_nothing_of_its_own(tmp_path, caplog, stop):
    # Ctrl+C while the first frame was drawn (`tickscope export REC --video`, `tickscope demo --video`) printed
    # imageio-ffmpeg's "No frames have been written; the written video is invalid." above "tickscope:
    # interrupted": two lines on stderr, about a video that is removed anyway
    target = tmp_path / "v.mp4"

    def frames():
        raise stop()
        yield

    caplog.set_level(logging.DEBUG)
    with pytest.raises((KeyboardInterrupt, InputError)):
        video.write_video(target, frames(), (96, 64), fps=5, total=3)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert list(tmp_path.iterdir()) == []
    assert logging.getLogger("imageio_ffmpeg").level == logging.NOTSET   # left as it was
