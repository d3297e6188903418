"""CSV exports: the event log and the data behind the plots.

All files have a header row, use ``\\n`` line ends and are written atomically.
Times are integer nanoseconds.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from tickscope.sim.atomic import atomic_path
from tickscope.sim.export import Progress, kind_name, report_progress
from tickscope.sim.results import Results

EVENT_HEADER = ("time_ns", "cpu", "kind", "kind_name", "source", "value")
HISTOGRAM_HEADER = ("bin_lo_ns", "bin_hi_ns", "count")
UNDERFLOW_LO = "-inf"
OVERFLOW_HI = "inf"
CHUNK_RECORDS = 1 << 16
"""Records formatted per write: bounded memory for logs of any length."""


def write_event_log(results: Results, path, progress: Progress = None) -> int:
    """Write the event log as CSV: ``time_ns,cpu,kind,kind_name,source,value``.

    Parameters
    ----------
    results : Results
        The run.
    path : str or Path
        The CSV file.
    progress : callable, optional
        ``progress(records_done, records_total)``; return ``False`` to cancel.

    Returns
    -------
    int
        Number of data rows written.

    Raises
    ------
    ExportCancelled
        If *progress* cancelled; no file is left behind.
    """
    n = len(results)
    names = {}
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(EVENT_HEADER) + "\n")
        for start in range(0, n, CHUNK_RECORDS):
            stop = min(n, start + CHUNK_RECORDS)
            cols = [getattr(results, c)[start:stop].tolist() for c in ("time_ns", "cpu", "kind", "source", "value")]
            lines = []
            for t, cpu, kind, source, value in zip(*cols):
                name = names.get(kind)
                if name is None:
                    name = names[kind] = kind_name(kind)
                lines.append(f"{t},{cpu},{kind},{name},{source},{value}\n")
            out.write("".join(lines))
            report_progress(progress, stop, n)
    return n


def histogram_counts(values_ns, edges_ns) -> tuple[np.ndarray, int, int]:
    """Count *values_ns* into half-open bins ``[edges[i], edges[i+1])``.

    Parameters
    ----------
    values_ns : array_like of int
        The values (latencies, intervals).
    edges_ns : array_like of int
        Strictly increasing bin edges, at least two.

    Returns
    -------
    counts : numpy.ndarray of int64
        One count per bin.
    underflow : int
        Values below ``edges[0]``.
    overflow : int
        Values at or above ``edges[-1]``.

    Raises
    ------
    ValueError
        If the edges are not strictly increasing or fewer than two.
    """
    edges = _check_edges(edges_ns)
    values = np.asarray(values_ns)
    idx = np.searchsorted(edges, values, side="right") - 1
    underflow = int(np.count_nonzero(idx < 0))
    overflow = int(np.count_nonzero(idx >= len(edges) - 1))
    inside = idx[(idx >= 0) & (idx < len(edges) - 1)]
    counts = np.bincount(inside, minlength=len(edges) - 1).astype(np.int64)
    return counts, underflow, overflow


def _check_edges(edges_ns) -> np.ndarray:
    edges = np.asarray(edges_ns)
    if edges.ndim != 1 or len(edges) < 2:
        raise ValueError(f"histogram needs at least two bin edges, got {edges.shape}")
    if not np.all(np.diff(edges) > 0):
        raise ValueError("histogram bin edges must be strictly increasing")
    return edges


def write_histogram(edges_ns, counts, path, underflow: int = 0, overflow: int = 0) -> Path:
    """Write a histogram as CSV: ``bin_lo_ns,bin_hi_ns,count``.

    The first row is the underflow (``-inf`` .. ``edges[0]``), the last the
    overflow (``edges[-1]`` .. ``inf``), always present even when zero, so the
    rows add up to every value that was counted.

    Parameters
    ----------
    edges_ns : array_like of int
        ``len(counts) + 1`` strictly increasing edges.
    counts : array_like of int
        Count per half-open bin ``[lo, hi)``.
    path : str or Path
        The CSV file.
    underflow, overflow : int
        Values below the first / at or above the last edge.

    Returns
    -------
    Path
        *path*.

    Raises
    ------
    ValueError
        If the edges are invalid or do not match the counts.
    """
    edges = _check_edges(edges_ns)
    counts = np.asarray(counts)
    if counts.shape != (len(edges) - 1,):
        raise ValueError(f"{len(edges)} edges need {len(edges) - 1} counts, got {counts.shape}")
    rows = [(UNDERFLOW_LO, edges[0].item(), int(underflow))]
    rows += zip(edges[:-1].tolist(), edges[1:].tolist(), counts.tolist())
    rows.append((edges[-1].item(), OVERFLOW_HI, int(overflow)))
    return _write_rows(path, HISTOGRAM_HEADER, rows)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"))
    return value


def write_cpu_summary(cpus, path) -> Path:
    """Write the per-CPU table of a run summary as CSV.

    Columns are every key found in the per-CPU dicts, ``cpu`` first, in order
    of first appearance; fields a CPU lacks are empty; nested values are JSON.

    Parameters
    ----------
    cpus : list of dict or dict
        ``summary["cpus"]``, or the whole ``run --json`` summary object.
    path : str or Path
        The CSV file.

    Returns
    -------
    Path
        *path*.
    """
    if isinstance(cpus, dict):
        cpus = cpus.get("cpus") or []
    cpus = [entry for entry in cpus if isinstance(entry, dict)]
    header = ["cpu"]
    for entry in cpus:
        for key in entry:
            if key not in header:
                header.append(key)
    rows = [[_cell(entry.get(key)) for key in header] for entry in cpus]
    return _write_rows(path, header, rows)


def _write_rows(path, header, rows) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path
