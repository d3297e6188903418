"""Exports of results for use outside tickscope (Qt-free part).

- :mod:`~tickscope.sim.export.trace`: Chrome/Perfetto JSON trace.
- :mod:`~tickscope.sim.export.csv`: the event log, histograms and per-CPU
  summaries as CSV.
- :mod:`~tickscope.sim.export.summary`: the key numbers as a fixed-width text
  block (``summary.md``) for mailing lists.

Every file is written atomically (temporary file + rename).  Long exports
take an optional ``progress(done, total)`` callback; returning ``False`` from
it cancels the export with :class:`ExportCancelled` and leaves no file.
"""
from __future__ import annotations

from typing import Callable, Optional

from tickscope.sim.events import Kind

Progress = Optional[Callable[[int, int], Optional[bool]]]


class ExportCancelled(Exception):
    """The user cancelled an export through its progress callback; no file was written."""


def report_progress(progress: Progress, done: int, total: int) -> None:
    """Call *progress*; raise :class:`ExportCancelled` if it returns ``False``."""
    if progress is not None and progress(done, total) is False:
        raise ExportCancelled(f"cancelled after {done} of {total}")


def kind_name(code: int) -> str:
    """The name of a record kind; ``KIND_<n>`` for kinds this version does not know."""
    try:
        return Kind(int(code)).name
    except ValueError:
        return f"KIND_{int(code)}"
