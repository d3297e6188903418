"""Results of a simulation: the columnar event log plus metadata.

The columns are numpy arrays of equal length (struct of arrays), exposed
zero-copy from the engine's buffers:

=========  =======  ==================================================
column     dtype    meaning
=========  =======  ==================================================
time_ns    int64    true simulated time of the record
cpu        int16    CPU the record belongs to
kind       uint8    :class:`tickscope.sim.events.Kind`
source     uint8    per kind (device id, tick mode, jiffies added)
value      int64    per kind (tick expiry, jiffies, new min_delta, ...)
=========  =======  ==================================================

``meta`` holds plain JSON-able data: the machine/kernel as booted (devices,
clocksource, tick device per CPU), final per-CPU kernel counters and the
kernel-style log.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COLUMNS = (("time_ns", np.int64), ("cpu", np.int16), ("kind", np.uint8), ("source", np.uint8), ("value", np.int64))
BYTES_PER_RECORD = sum(np.dtype(t).itemsize for _, t in COLUMNS)


@dataclass
class Results:
    """A finished (or partial) run.

    Attributes
    ----------
    time_ns, cpu, kind, source, value : numpy.ndarray
        The event log columns (see module docstring).
    meta : dict
        ``scenario`` (TOML text), ``seed``, ``until_ns``, ``now_ns`` (how far the
        run got), ``hz``, ``tick_nsec``, ``devices`` (list of dicts, index = device
        id), ``clocksources``, ``clocksource`` (name in use), ``tick_device``
        (device id per CPU, -1 = none), ``cpus`` (final per-CPU kernel state),
        ``jiffies`` (since boot), ``events`` (queue events processed),
        ``boot_log`` (list of [time_ns, text]), ``engine``.
    """

    time_ns: np.ndarray
    cpu: np.ndarray
    kind: np.ndarray
    source: np.ndarray
    value: np.ndarray
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        """The five columns by name."""
        return {name: getattr(self, name) for name, _ in COLUMNS}

    @classmethod
    def empty(cls, meta=None) -> "Results":
        return cls(*(np.zeros(0, dtype=t) for _, t in COLUMNS), meta=dict(meta or {}))

    def select(self, mask) -> "Results":
        """A new Results with only the records where *mask* is true (same meta)."""
        return Results(*(getattr(self, n)[mask] for n, _ in COLUMNS), meta=self.meta)

    def memo(self, key, compute):
        """``compute()`` computed once per *key* for these results and kept on them.

        Analyses derived from the log (tick segments, drift samples, latencies, expected grids) are asked for
        several times per view; *key* names the analysis and whatever else its value depends on.  Values
        shared this way should be read-only arrays."""
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    def equal_log(self, other: "Results") -> bool:
        """True if both event logs are identical, record for record."""
        return all(np.array_equal(getattr(self, n), getattr(other, n)) for n, _ in COLUMNS)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, n).nbytes for n, _ in COLUMNS)
