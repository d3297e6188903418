"""Raster planes drawn incrementally while a run streams: O(new marks) per frame for a fixed window.

:func:`tickscope.sim.raster.planes` bins every mark in the window, so a live view that shows the
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

import numpy as np

from tickscope.sim.raster import RasterData, _flat_index, highlight_plane, planes, span_coverage

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
        """What :func:`tickscope.sim.raster.planes` returns for these arguments."""
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
