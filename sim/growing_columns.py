"""Append-only int64 arrays a live stream grows while another thread draws views of them.

:class:`GrowingColumns` holds equal-length columns (a raster stream's marks, ghost slots and
closed idle/steal periods); :class:`SortedKeys` is a growing set of keys built on one (the
stream's delivered ticks).  Views handed out are never written again, so a reader keeps a
consistent snapshot while the writer appends.
"""
from __future__ import annotations

import itertools

import numpy as np

from tickscope.sim.raster import _sorted_pair

_EPOCHS = itertools.count(1)   # 0 is the token of an array that is always empty


class GrowingColumns:
    """Equal-length int64 columns that only grow; views handed out are never written again.

    A full buffer moves to new memory (the old one lives as long as a view of it does), so a
    reader in another thread keeps a consistent snapshot while the writer appends.  ``epoch``
    changes whenever the contents are rewritten rather than appended to (a merge, a replace):
    while it stays, every snapshot's views are prefixes of the later ones.

    Parameters
    ----------
    ncols : int
        How many columns (each row appends one value to every column).
    capacity : int
        Rows allocated up front.
    """

    def __init__(self, ncols: int, capacity: int = 4096):
        self._buf = np.empty((ncols, capacity), dtype=np.int64)
        self.n = 0
        self.epoch = next(_EPOCHS)

    def reserve(self, capacity: int) -> None:
        """Room for *capacity* rows up front (before anything is appended), as far as memory allows.

        Growing by doubling copies the whole buffer into fresh memory: at 2.9e7 ticks one such copy
        stalled a live frame for ~0.4 s.  np.empty only reserves address space; pages are touched as
        rows are written, so a generous hint costs nothing until used.
        """
        if self.n or capacity <= self._buf.shape[1]:
            return
        while capacity > 4096:
            try:
                self._buf = np.empty((self._buf.shape[0], capacity), dtype=np.int64)
                return
            except MemoryError:
                capacity //= 2

    def token(self) -> tuple[int, int]:
        """(epoch, length): see RasterData.growth."""
        return self.epoch, self.n

    def append(self, *cols) -> None:
        k = int(np.asarray(cols[0]).size)
        if not k:
            return
        if self.n + k > self._buf.shape[1]:
            grown = np.empty((self._buf.shape[0], max(2 * self._buf.shape[1], self.n + k)), dtype=np.int64)
            grown[:, :self.n] = self._buf[:, :self.n]
            self._buf = grown
        for row, col in zip(self._buf, cols):
            row[self.n:self.n + k] = col
        self.n += k

    def append_sorted(self, times, lanes) -> None:
        """Append marks sorted by time; a chunk that starts before the tail is merged into a new buffer."""
        if times.size and self.n and times[0] < self._buf[0, self.n - 1]:
            # rare (mixed tick modes cut the ghost grid at different bounds): keep published views intact
            t, lane = _sorted_pair(np.concatenate([self._buf[0, :self.n], times]),
                                   np.concatenate([self._buf[1, :self.n], lanes]))
            self._buf = np.empty((2, max(4096, 2 * t.size)), dtype=np.int64)
            self.n = 0
            self.epoch = next(_EPOCHS)
            self.append(t, lane)
            return
        self.append(times, lanes)

    def replace(self, *cols) -> None:
        self._buf = np.empty((len(cols), max(4096, 2 * int(np.asarray(cols[0]).size))), dtype=np.int64)
        self.n = 0
        self.epoch = next(_EPOCHS)
        self.append(*cols)

    def views(self) -> tuple[np.ndarray, ...]:
        return tuple(row[:self.n] for row in self._buf)


class SortedKeys:
    """A growing set of int64 keys: one sorted, append-only main array plus a few sorted side runs.

    Keys mostly arrive in increasing order (a tick's key grows with its expiry), so a batch's keys
    above the main array's maximum are appended to it (amortised O(k)); the stragglers below it go
    to side runs merged like a binary counter (O(k log k) to add k).  ``contains`` searches only
    the arrays whose range can hold each key.  Earlier, every key went through the binary-counter
    runs: on a 3600 s, 8-CPU run (2.9e7 ticks) merging the large runs stalled live frames for up
    to 1.3 s and every lookup searched ~20 runs.
    """

    def __init__(self):
        self._main = GrowingColumns(1)
        self._runs: list[np.ndarray] = []

    def reserve(self, capacity: int) -> None:
        self._main.reserve(capacity)

    def add(self, keys: np.ndarray) -> None:
        keys = np.sort(keys, kind="stable")
        main = self._main
        top = main.views()[0][-1] if main.n else None
        cut = 0 if top is None else int(np.searchsorted(keys, top, "right"))
        if cut < keys.size:
            main.append(keys[cut:])
        if cut:
            run = keys[:cut]
            while self._runs and self._runs[-1].size <= 2 * run.size:
                run = np.sort(np.concatenate([self._runs.pop(), run]), kind="stable")
            self._runs.append(run)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        hit = np.zeros(keys.shape, dtype=bool)
        for run in [self._main.views()[0]] + self._runs:
            if not run.size:
                continue
            inside = np.flatnonzero((keys >= run[0]) & (keys <= run[-1]))
            if inside.size:
                k = keys[inside]
                i = np.minimum(np.searchsorted(run, k), run.size - 1)
                hit[inside] |= run[i] == k
        return hit
