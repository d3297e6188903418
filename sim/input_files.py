"""Reading a file the user names (a scenario, a copy of /proc/timer_list, a kernel log) without hanging or
running out of memory, every failure one :class:`InputError` line.

A pipe is read (``tickscope run <(sed ... scen.toml)``, ``import timer-list <(ssh host cat /proc/timer_list)``);
a named FIFO nobody writes to reads as empty instead of waiting for ever; a device (``/dev/zero`` behind a
symlink was read until memory ran out) or a socket is refused before reading; a file over the caller's limit
is refused after reading one byte past it.
"""
from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from tickscope.sim.errors import InputError


def read_input(path, what: str, max_bytes: int) -> bytes:
    """The bytes of the file at *path*, which the user gave as *what* ("scenario file", "file").

    Raises
    ------
    InputError
        Missing, a directory, a device or socket, unreadable, over *max_bytes*, or a pipe nothing was written to.
    """
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting for one
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{path}: is a directory, not a {what}")
        pipe = stat.S_ISFIFO(mode)
        if not (stat.S_ISREG(mode) or pipe):
            raise InputError(f"{path}: not a regular file (a device or socket): give a {what}")
        if pipe:
            # a pipe whose writer is there is read to its end; with no writer a read says end-of-file at once
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            fd = -1   # the file object closes it
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:
        raise InputError(f"{path}: over {max_bytes // (1024 * 1024)} MB, too large for a {what}")
    if pipe and not data:
        raise InputError(f"{path}: a pipe nothing was written to: give a {what}")
    return data
