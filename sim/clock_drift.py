"""Drift against true time of the kernel's clock and of every registered clocksource.

:func:`tickscope.sim.analysis.drift_series` gives CLOCK_MONOTONIC as the kernel
read it (following clocksource switches).  The drift panel also shows what each
registered clocksource would read on its own at the same instants, so a user sees
why the rating order and the watchdog matter: jiffies step in TICK_NSEC quanta,
a rounded mult drifts linearly.  Readings use the kernel's exact integer
``(cycles * mult) >> shift`` on the accumulated (unwrapped) counter, as a
timekeeper updated well within ``max_idle_ns`` sees it; only the sample times
are thinned.
"""
from __future__ import annotations

import numpy as np

from tickscope.sim.analysis import drift_series
from tickscope.sim.events import Kind
from tickscope.sim.results import Results

KERNEL_CLOCK = "CLOCK_MONOTONIC"
"""Key of the kernel's own clock in :func:`clock_drift`'s result."""


def _reading(cs: dict, t_ns: np.ndarray, jiffies: np.ndarray) -> np.ndarray:
    mult, shift = int(cs["mult"]), int(cs["shift"])
    if cs.get("kind", 0) == 1:  # jiffies-based: the counter is jiffies since boot
        counters = [int(j) for j in jiffies]
    else:
        num, den = int(cs["num"]), int(cs["den"])
        counters = [int(t) * num // den for t in t_ns]
    # Python ints: counter * mult overflows int64 for long runs
    return np.array([(c * mult) >> shift for c in counters], dtype=np.int64)


def clock_drift(res: Results, max_points: int = 2000) -> dict[str, dict]:
    """Drift (clock reading - true time, ns) of the kernel clock and each registered clocksource.

    Parameters
    ----------
    res : Results
        A finished or partial run.
    max_points : int
        Most samples per clock; samples are the jiffies updates, thinned evenly.

    Returns
    -------
    dict
        ``{name: {"time_ns": int64 array, "drift_ns": int64 array, "in_use": bool,
        "continuous": bool}}``: first :data:`KERNEL_CLOCK` (what timekeeping read),
        then every clocksource by name (``in_use`` marks the one timekeeping
        ended on).  Empty when the run has no jiffies updates yet.
    """
    m = np.flatnonzero(res.kind == Kind.JIFFIES)
    if m.size == 0:
        return {}
    kernel = drift_series(res, max_points)
    if m.size > max_points:
        m = m[np.linspace(0, m.size - 1, max_points).astype(np.int64)]
    t, jiffies = res.time_ns[m], res.value[m]
    out = {KERNEL_CLOCK: {"time_ns": kernel["time_ns"], "drift_ns": kernel["drift_ns"], "in_use": True,
                          "continuous": True}}
    in_use = res.meta.get("clocksource")
    for cs in res.meta.get("clocksources", []):
        out[cs["name"]] = {"time_ns": t, "drift_ns": _reading(cs, t, jiffies) - t, "in_use": cs["name"] == in_use,
                           "continuous": cs.get("kind", 0) != 1}
    return out
