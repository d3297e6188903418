"""Reading zip archives from strangers without trusting them.

Recordings (and later review bundles and demos) arrive as zip files from
mailing lists and bug reports.  Before anything is decoded this module checks
every member name (no absolute paths, ``..``, backslashes, symlinks,
directories, duplicates), the compression method, the declared sizes against
limits (zip bombs) and the archive's compression ratio; it then reads members
into memory in bounded chunks, never past their declared size, so a header
that lies about the size cannot exhaust memory.  Nothing is ever extracted to
disk.  Every refusal is an :class:`~tickscope.sim.errors.InputError` naming
the archive and the member.
"""
from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable

from tickscope.sim.errors import InputError

ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
"""bzip2 and lzma reach far higher ratios than deflate's ~1030:1; we never write them."""

ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError,
              IndexError, KeyError, OverflowError, struct.error)
"""What zipfile and zlib raise on damaged or hostile archives (found by fuzzing)."""


@dataclass(frozen=True)
class ZipLimits:
    """How much an archive may make us allocate.

    Attributes
    ----------
    max_total_bytes : int
        Sum of the declared uncompressed sizes.
    max_members : int
        Number of entries.
    max_compression_ratio : float
        Archive-wide uncompressed / compressed, checked once the archive
        declares more than *ratio_check_min_bytes*.
    ratio_check_min_bytes : int
        Small archives may compress as well as they like.
    member_limit : callable(name) -> int
        Largest uncompressed size allowed for a member of that name.
    read_chunk : int
        Bytes inflated per read.
    """

    max_total_bytes: int
    max_members: int
    max_compression_ratio: float
    ratio_check_min_bytes: int
    member_limit: Callable[[str], int]
    read_chunk: int = 1024**2


def open_zip(path, where: str, what: str = "zip archive") -> zipfile.ZipFile:
    """Open *path* as a zip archive for reading.

    Raises
    ------
    InputError
        ``"<where>: not a <what>: not a zip archive, or truncated"`` or
        ``"cannot read"``.
    """
    try:
        return zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise InputError(f"{where}: not a {what}: not a zip archive, or truncated ({exc})") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}") from None


def check_member_name(info: zipfile.ZipInfo, where: str) -> None:
    """Refuse names that could escape a target folder or mean something else on another OS.

    Raises
    ------
    InputError
        Naming the member and every problem with its name.
    """
    raw = info.orig_filename
    name = info.filename
    if not raw or not name:
        raise InputError(f"{where}: refusing a member with an empty name")
    problems = []
    if any(ord(c) < 32 for c in raw):
        problems.append("contains control characters")
    if "\\" in raw:
        problems.append("contains a backslash")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        problems.append("is an absolute path")
    parts = name.split("/")
    if ".." in parts:
        problems.append("escapes the archive with '..'")
    if name.endswith("/") or info.is_dir():
        problems.append("is a directory entry")
    elif "" in parts or "." in parts:
        problems.append("is not a plain member name")
    if stat.S_ISLNK(info.external_attr >> 16):
        problems.append("is a symbolic link")
    if problems:
        raise InputError(f"{where}: refusing member {raw!r}: it {' and '.join(problems)}")


def check_archive(zf: zipfile.ZipFile, where: str, limits: ZipLimits) -> dict[str, zipfile.ZipInfo]:
    """Check every entry's name, method and declared size; return the entries by name.

    Raises
    ------
    InputError
        For unsafe or duplicate names, encryption, other compression methods,
        too many members, sizes over the limits or a suspicious ratio.
    """
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise InputError(f"{where}: {len(infos)} members, over the limit of {limits.max_members}")
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = compressed = 0
    for info in infos:
        check_member_name(info, where)
        if info.filename in by_name:
            raise InputError(f"{where}: duplicate member {info.filename!r} (refusing an ambiguous archive)")
        by_name[info.filename] = info
        if info.flag_bits & 0x1:
            raise InputError(f"{where}: member {info.filename!r} is encrypted")
        if info.compress_type not in ALLOWED_COMPRESSION:
            raise InputError(f"{where}: member {info.filename!r} uses compression method {info.compress_type}; "
                             "only stored or deflate are accepted")
        limit = limits.member_limit(info.filename)
        if info.file_size > limit:
            raise InputError(f"{where}: member {info.filename!r} declares {info.file_size} bytes uncompressed, "
                             f"over the limit of {limit} bytes (zip bomb?)")
        total += info.file_size
        compressed += info.compress_size
    if total > limits.max_total_bytes:
        raise InputError(f"{where}: members declare {total} bytes uncompressed in total, "
                         f"over the limit of {limits.max_total_bytes} bytes (zip bomb?)")
    if total > limits.ratio_check_min_bytes and total > limits.max_compression_ratio * max(compressed, 1):
        raise InputError(f"{where}: members inflate {total / max(compressed, 1):.0f}:1, over the "
                         f"compression-ratio limit of {limits.max_compression_ratio}:1 (zip bomb?)")
    return by_name


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limits: ZipLimits) -> bytearray:
    """Inflate one member into memory in bounded chunks, never past its declared (capped) size.

    Raises
    ------
    InputError
        If the member inflates beyond its declared size, is shorter, or is
        corrupt (bad CRC, broken deflate stream).
    """
    name = info.filename
    limit = min(info.file_size, limits.member_limit(name))
    buf = bytearray(limit)
    got = 0
    try:
        with zf.open(info) as fp:
            while True:
                chunk = fp.read(min(limits.read_chunk, limit + 1 - got))
                if not chunk:
                    break
                if got + len(chunk) > limit:
                    raise InputError(f"{where}: member {name!r} inflates beyond its declared size of "
                                     f"{info.file_size} bytes (zip bomb?)")
                buf[got:got + len(chunk)] = chunk
                got += len(chunk)
    except InputError:
        raise
    except (*ZIP_ERRORS, OSError) as exc:
        raise InputError(f"{where}: member {name!r} is corrupt or truncated ({exc})") from None
    if got != info.file_size:
        raise InputError(f"{where}: member {name!r} is truncated: {got} of {info.file_size} bytes")
    return buf
