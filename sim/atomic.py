"""Write files atomically: a temporary file beside the target, then rename.

A crash or a cancelled export never leaves a half-written file behind.
"""
import contextlib
import os
import stat
import tempfile
from pathlib import Path

from tickscope.sim.errors import InputError


@contextlib.contextmanager
def atomic_path(target):
    """Yield a temporary path in the target's folder; rename it over *target* on success.

    Parameters
    ----------
    target : str or Path
        The final file name.

    Yields
    ------
    Path
        Where to write.  Removed again if the block raises.
    """
    target = Path(target)
    if target.is_symlink():
        target = target.resolve()   # write through a link: the file it points at is replaced, the link stays
    if target.exists() and not target.is_file():
        raise InputError(f"{target}: not a regular file (a directory, device or pipe): give a file name")
    try:
        make_folder(target.parent, target)
        fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", suffix=".part", dir=target.parent)
    except OSError as exc:   # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    # mkstemp makes 0600: a new file gets the user's usual mode, a replaced one keeps its own
    os.chmod(tmp, stat.S_IMODE(target.stat().st_mode) if target.is_file() else 0o666 & ~umask)
    tmp = Path(tmp)
    try:
        try:
            yield tmp
        except OSError as exc:
            # a write that failed (a full disk: ENOSPC from write or close carries no file name) names the
            # file the user asked for, not the temporary one
            if exc.errno is not None and (exc.filename is None or str(tmp) in str(exc.filename)):
                raise OSError(exc.errno, exc.strerror, str(target)) from None
            raise
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(target)) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def make_folder(folder, target) -> None:
    """Make *folder* and its missing parents, to write *target* in.

    Raises
    ------
    InputError
        ``"<target>: <part> is not a directory"`` when a part of *folder* is a file (mkdir's own
        "File exists" or "Not a directory" named neither the problem nor the part).
    """
    check_folder(folder, target)
    Path(folder).mkdir(parents=True, exist_ok=True)


def check_folder(folder, what) -> None:
    """That *folder* can be made (its missing parts) for output named *what*: InputError
    ``"<what>: <part> is not a directory"`` when a path through a file is given."""
    folder = Path(folder)
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise InputError(f"{what}: {part} is not a directory")
            return


def write_text(target, text):
    """Write *text* to *target* atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target, data):
    """Write *data* to *target* atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
