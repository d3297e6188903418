"""Parse ``/proc/interrupts``: per-CPU counts for every row (IRQs, LOC, IPIs, ERR/MIS)."""
from __future__ import annotations

import re

from tickscope.sim.errors import InputError

__all__ = ["parse_interrupts"]

_HEADER_RE = re.compile(r"^\s*(CPU\d+\s*)+$")
_ROW_RE = re.compile(r"^\s*(?P<label>[^\s:]+):(?P<rest>.*)$")
_COUNT_RE = re.compile(r"\s*(\d+)(?=\s|$)")


def parse_interrupts(text: str, source: str = "<interrupts>") -> dict:
    """Parse the text of ``/proc/interrupts``.

    Parameters
    ----------
    text : str
        The whole file.
    source : str
        Name used in error messages.

    Returns
    -------
    dict
        ``cpus`` (number of CPU columns), ``cpu_ids`` (the numbers in the
        header, e.g. ``[0, 1]``), ``rows``: list of ``{"label", "counts",
        "description"}`` in file order (``counts`` has one int per CPU, or a
        single one for ``ERR``/``MIS``), and ``by_label``: label → counts.

    Raises
    ------
    InputError
        Naming *source* and the line: no ``CPU0 ...`` header, a row that is
        not ``label: counts description``, a row with too few counts, or
        binary data.
    """
    lines = text.splitlines()
    if text and not text.endswith("\n") and lines and not _HEADER_RE.match(lines[-1]):
        last = lines[-1]
        m = _ROW_RE.match(last)
        if not m or len(_counts(m.group("rest"), 10**6)[0]) == 0:
            raise InputError(f"{source}:{len(lines)}: file ends mid-line ({last[-40:]!r}) — truncated?")
    header_at = None
    for i, line in enumerate(lines):
        if line.strip():
            header_at = i
            break
    if header_at is None:
        raise InputError(f"{source}:1: empty file; expected the 'CPU0 CPU1 ...' header")
    header = lines[header_at]
    if not _HEADER_RE.match(header):
        raise InputError(f"{source}:{header_at + 1}: expected the 'CPU0 CPU1 ...' header line, got {header[:60]!r}")
    cpu_ids = [int(x) for x in re.findall(r"CPU(\d+)", header)]
    ncpu = len(cpu_ids)
    rows, by_label = [], {}
    for i in range(header_at + 1, len(lines)):
        lineno, line = i + 1, lines[i]
        if not line.strip():
            continue
        if any(not (ch.isprintable() or ch == "\t") or ch == "\ufffd" for ch in line):
            raise InputError(f"{source}:{lineno}: binary or unreadable characters; expected an interrupts row")
        m = _ROW_RE.match(line)
        if not m:
            raise InputError(f"{source}:{lineno}: expected '<irq or name>: <count per CPU> <description>', got {line[:60]!r}")
        counts, desc = _counts(m.group("rest"), ncpu)
        label = m.group("label")
        if not counts:
            raise InputError(f"{source}:{lineno}: {label}: expected {ncpu} counts, got {m.group('rest').strip()[:40]!r}")
        if len(counts) != ncpu and not (len(counts) == 1 and not desc):
            raise InputError(f"{source}:{lineno}: {label}: expected {ncpu} counts (one per CPU), got {len(counts)}")
        rows.append({"label": label, "counts": counts, "description": desc})
        by_label[label] = counts
    return {"cpus": ncpu, "cpu_ids": cpu_ids, "rows": rows, "by_label": by_label}


def _counts(rest: str, ncpu: int) -> tuple[list[int], str]:
    counts, pos = [], 0
    while len(counts) < ncpu:
        m = _COUNT_RE.match(rest, pos)
        if not m:
            break
        counts.append(int(m.group(1)))
        pos = m.end()
    return counts, rest[pos:].strip()
