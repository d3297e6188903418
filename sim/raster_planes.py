"""Raster planes: the marks, ghost slots and idle/steal periods of a window binned per lane and pixel column.

:func:`planes` bins everything in the window (exact: every mark sets the column
``(t - t0) * width // (t1 - t0)`` of its lane, in integer arithmetic); :func:`tickscope.sim.raster.render`
colours the result.

:func:`planes` bins every mark in the window, so a live view that shows the
whole run paid O(run) per frame: 4 frames/s at 3.2e7 records (bare-metal-lapic, 8 CPUs,
3600 s) against 18/s at the start of the same run.  :class:`IncrementalPlanes` keeps the binned
planes of its last window and, while the window and pixel width stay and the stream's growth
tokens (:attr:`tickscope.sim.raster.RasterData.growth`) say the arrays only grew, bins only the
marks, ghost slots and closed idle/steal periods appended since.  The result equals
:func:`planes` of the same data (tests/sim/test_raster_planes.py).  Combining is by maximum:
the planes' rule (the most severe mark code wins a pixel, the deeper background wins) is a
maximum, so the order in which marks arrive does not matter.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # annotations only: raster imports this module to render the planes
    from tickscope.sim.raster import RasterData


def _columns(offsets: np.ndarray, span: int, width: int) -> np.ndarray:
    """Pixel columns of time *offsets* (ns after the window start, modified in place) at *width* px."""
    cols = offsets
    # in-place integer ops: ~2.5 ms per 1e6 marks; float scaling was slower here (measured 1.8 vs 1.4 ms)
    if span <= (2**62) // max(1, width):
        cols *= np.int64(width)
        cols //= np.int64(span)
    else:  # windows over ~1e14 ns at wide widths: shift to stay in int64
        shift = (span * width).bit_length() - 62
        cols >>= shift
        cols *= np.int64(width)
        cols //= np.int64(max(1, span >> shift))
    np.clip(cols, 0, width - 1, out=cols)
    return cols


def pixel_columns(times: np.ndarray, t0: int, t1: int, width: int) -> tuple[np.ndarray, int, int]:
    """Columns of the sorted *times* inside ``[t0, t1)`` at *width* pixels.

    Returns
    -------
    (columns, i0, i1)
        ``columns[k]`` is the column of ``times[i0 + k]``; every time in the
        window gets a column in ``0..width-1``.
    """
    i0 = int(np.searchsorted(times, t0, "left"))
    i1 = int(np.searchsorted(times, t1, "left"))
    return _columns(times[i0:i1] - np.int64(t0), int(t1) - int(t0), width), i0, i1


def _flat_index(times, lanes, t0, t1, width):
    cols, i0, i1 = pixel_columns(times, t0, t1, width)
    cols += lanes[i0:i1] * np.int64(width)
    return cols


def span_coverage(spans: tuple, n: int, t0: int, t1: int, width: int) -> np.ndarray:
    """Which pixels (``n`` lanes x *width*) the periods ``(start, end, lane)`` touch in ``[t0, t1)``.

    A period covers every column from its start's to its last nanosecond's, so
    even a period shorter than one pixel shows.
    """
    start, end, lane = spans
    m = (end > t0) & (start < t1) & (end > start)
    if not m.any():
        return np.zeros((n, width), dtype=bool)
    span = int(t1) - int(t0)
    cs = _columns(np.maximum(start[m], t0) - np.int64(t0), span, width)
    ce = _columns(np.minimum(end[m], t1) - np.int64(t0) - 1, span, width)
    row = lane[m].astype(np.int64) * (width + 1)
    size = n * (width + 1)
    diff = np.bincount(row + cs, minlength=size)[:size] - np.bincount(row + ce + 1, minlength=size)[:size]
    return (np.cumsum(diff).reshape(n, width + 1)[:, :width]) > 0


def background_plane(spans: dict, n: int, t0: int, t1: int, width: int) -> np.ndarray:
    """(n x width) uint8 lane background codes of *spans* (code -> ``(start, end, lane)``, as
    :attr:`RasterData.spans`) over ``[t0, t1)``: deeper idle over shallower, steal over idle; 0 = none."""
    background = np.zeros((n, width), dtype=np.uint8)
    for code in sorted(spans):  # ascending codes: the deeper state (or steal) written last wins a shared pixel
        background[span_coverage(spans[code], n, t0, t1, width)] = code
    return background


def highlight_plane(highlight: tuple | None, n: int, t0: int, t1: int, width: int) -> np.ndarray:
    """(n x width) bool: the pixels of the ``(time_ns, lane)`` pairs in *highlight* (None: none)."""
    plane = np.zeros(n * width, dtype=bool)
    if highlight is not None and highlight[0].size:
        flat = _flat_index(highlight[0], np.asarray(highlight[1], dtype=np.int64), t0, t1, width)
        plane[flat[(flat >= 0) & (flat < n * width)]] = True
    return plane.reshape(n, width)


def planes(data: RasterData, t0: int, t1: int, width: int, highlight: tuple | None = None) -> dict[str, np.ndarray]:
    """Per lane and pixel column: the winning mark code, the lane background, the ghost comb and highlights.

    Returns
    -------
    dict
        ``marks`` (nlanes x width uint8 mark codes), ``background`` (nlanes x
        width uint8 ``BG_*`` codes), ``ghost`` and ``highlight`` (nlanes x width bool).
    """
    if t1 <= t0 or width <= 0:
        raise ValueError(f"empty raster window: t0={t0}, t1={t1}, width={width}")
    n = data.nlanes
    marks = np.zeros(n * width, dtype=np.uint8)
    for code in sorted(data.marks):  # ascending: the most severe code is written last and wins
        times, lanes = data.marks[code]
        if times.size:
            marks[_flat_index(times, lanes, t0, t1, width)] = code
    background = background_plane(data.spans, n, t0, t1, width)
    flags = {}
    ghost = np.zeros(n * width, dtype=bool)
    if data.ghost[0].size:
        ghost[_flat_index(data.ghost[0], np.asarray(data.ghost[1], dtype=np.int64), t0, t1, width)] = True
    flags["ghost"] = ghost.reshape(n, width)
    flags["highlight"] = highlight_plane(highlight, n, t0, t1, width)
    return {"marks": marks.reshape(n, width), "background": background, **flags}


#: A live run's whole-run view shows [0, a "nice" end >= the run's end] (1, 2, 5 x 10^k ns, and never past
#: the run's target end), so its window stays put for many frames and each frame bins only the new marks.
#: Showing exactly [0, end] changed the window every frame: O(run) per frame.  Coarser steps mean fewer
#: full rebuilds (each bins the whole run so far): with 1-1.5-2-3-4-5-6-8 a 3600 s run rebuilt 29 times,
#: 5.7 s in all; with 1-2-5, jumping to the target once it is within 4x, 11 times, the last at 1000 s
#: (8e6 ticks binned), and that last window is the final view.
_NICE_STEPS = (1, 2, 5, 10)


def live_window_end(end_ns: int, until_ns: int | None = None) -> int:
    """The smallest "nice" time >= *end_ns* (see ``_NICE_STEPS``), at most *until_ns* (the run's target)."""
    end_ns = max(1, int(end_ns))
    scale = 10 ** (len(str(end_ns)) - 1)
    nice = next(int(step * scale) for step in _NICE_STEPS if step * scale >= end_ns)
    if until_ns is not None and end_ns <= int(until_ns) < 4 * nice:
        # within reach of the target: go straight to it, sparing the costliest rebuilds (each bins the run so far)
        return int(until_ns)
    return nice


def _done_mark(token, count: int) -> tuple:
    """What the cache remembers of a growth key after binning *count* entries: the stream's identity and the count."""
    return (token[0] if token is not None else None, count)


class IncrementalPlanes:
    """A cache that turns successive snapshots of one stream into :func:`planes` at low cost."""

    def __init__(self):
        self._key = None
        self._whole = None       # (key, data, planes) of the last data without growth tokens
        self._marks = None       # flat uint8 plane of mark codes
        self._ghost = None       # flat bool plane
        self._bg = None          # (lanes, width) uint8 plane of the closed periods
        self._done: dict = {}    # growth key -> token binned so far
        self.full_rebuilds = 0   # how often everything was binned again (for tests and profiling)

    def planes(self, data: RasterData, t0: int, t1: int, width: int, highlight: tuple | None = None) -> dict:
        """What :func:`planes` returns for these arguments."""
        key = (int(t0), int(t1), int(width), data.nlanes, data.ncpu_lanes)
        if data.growth is None:   # a full build: drawn whole (and kept for a redraw of the same window)
            if self._whole is not None and self._whole[0] == key and self._whole[1] is data and highlight is None:
                return self._whole[2]
            out = planes(data, t0, t1, width, highlight)
            self._whole = (key, data, out) if highlight is None else None
            return out
        if key != self._key:
            self._reset(key, data)
        n = data.nlanes
        self._add_marks(data, t0, t1, width)
        self._add(self._ghost, "ghost", data.ghost, data.growth, t0, t1, width)
        background = self._background(data, n, t0, t1, width)
        flags = {"ghost": self._ghost.reshape(n, width).copy(),
                 "highlight": highlight_plane(highlight, n, t0, t1, width)}
        return {"marks": self._marks.reshape(n, width).copy(), "background": background, **flags}

    # -- pieces ------------------------------------------------------------------------------
    def _reset(self, key, data):
        self._key = key
        self._done = {}
        n, width = data.nlanes, key[2]
        self._marks = np.zeros(n * width, dtype=np.uint8)
        self._ghost = np.zeros(n * width, dtype=bool)
        self._bg = np.zeros((n, width), dtype=np.uint8)
        self.full_rebuilds += 1

    def _fresh(self, gkey, token) -> int | None:
        """How many entries of array *gkey* are binned already, or None when they must all be binned again."""
        done = self._done.get(gkey)
        if done is None:
            return 0
        if token is None or done[0] != token[0] or done[1] > token[1]:
            return None
        return done[1]

    def _add_marks(self, data, t0, t1, width):
        growth = data.growth
        starts = {code: self._fresh(code, growth.get(code)) for code in data.marks}
        dropped = {k for k in self._done if isinstance(k, int)} - set(data.marks)
        if dropped or any(s is None for s in starts.values()):
            # rewritten, not appended to (a slot judged lost got its tick after all): bin every code again
            self._marks[:] = 0
            for code in [k for k in self._done if isinstance(k, int)]:
                del self._done[code]
            starts = dict.fromkeys(data.marks, 0)
            self.full_rebuilds += 1
        for code in sorted(data.marks):
            times, lanes = data.marks[code]
            start = starts[code]
            if times.size > start:
                flat = _flat_index(times[start:], lanes[start:], t0, t1, width)
                if flat.size:
                    self._marks[flat] = np.maximum(self._marks[flat], np.uint8(code))
            tok = growth.get(code)
            self._done[code] = _done_mark(tok, int(times.size))

    def _add(self, plane, gkey, pair, growth, t0, t1, width):
        tok = growth.get(gkey)
        start = self._fresh(gkey, tok)
        if start is None:
            plane[:] = False
            start = 0
            self.full_rebuilds += 1
        times, lanes = pair
        if times.size > start:
            plane[_flat_index(times[start:], np.asarray(lanes[start:], dtype=np.int64), t0, t1, width)] = True
        self._done[gkey] = _done_mark(tok, int(times.size))

    def _background(self, data, n, t0, t1, width):
        growth = data.growth
        stale = [code for code in data.spans if self._fresh(("span", code), growth.get(("span", code))) is None]
        gone = [k for k in self._done if isinstance(k, tuple) and k[1] not in data.spans]
        if stale or gone:
            self._bg[:] = 0
            for k in [k for k in self._done if isinstance(k, tuple)]:
                del self._done[k]
            self.full_rebuilds += 1
        out = None
        for code in sorted(data.spans):
            start, end, lane = data.spans[code]
            tok = growth.get(("span", code))
            closed = tok[1] if tok is not None else 0
            done = self._done.get(("span", code), (None, 0))[1]
            if closed > done:
                cov = span_coverage((start[done:closed], end[done:closed], lane[done:closed]), n, t0, t1, width)
                self._bg[cov] = np.maximum(self._bg[cov], np.uint8(code))
            self._done[("span", code)] = _done_mark(tok, closed)
            if start.size > closed:  # open periods: drawn on a copy, they move every frame
                if out is None:
                    out = self._bg.copy()
                cov = span_coverage((start[closed:], end[closed:], lane[closed:]), n, t0, t1, width)
                out[cov] = np.maximum(out[cov], np.uint8(code))
        return out if out is not None else self._bg.copy()
