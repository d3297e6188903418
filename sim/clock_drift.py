"""Drift against true time of the kernel's clock and of every registered clocksource.

:func:`drift_series` gives CLOCK_MONOTONIC as the kernel
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

from tickscope.sim.events import Kind
from tickscope.sim.results import Results

KERNEL_CLOCK = "CLOCK_MONOTONIC"
"""Key of the kernel's own clock in :func:`clock_drift`'s result."""

NO_SAMPLES = "no clocksource samples in this run: they are taken when a tick updates timekeeping"
"""What an empty drift plot says (vmi-2007 with the lapic-irq-path change runs no tick at all)."""


# -- the kernel's clock (analysis judges tick lateness with kernel_offset) ---------------

def _cs_counter(cs: dict, t: int, jiffies: int, tsc_pieces=None) -> int:
    kind = cs["kind"]
    if kind == 1:  # jiffies-based
        return jiffies
    if kind == 2 and tsc_pieces:  # the guest TSC, piecewise across migrations without TSC scaling
        i = max(0, np.searchsorted([p[0] for p in tsc_pieces], t, side="right") - 1)
        t0, c0, num, den = tsc_pieces[i]
        return c0 + (t - t0) * num // den
    return t * cs["num"] // cs["den"]


def _tsc_pieces(res: Results):
    """The guest TSC as (t0, c0, num, den) pieces: boot rate, then each migration's new rate."""
    meta = res.meta
    tsc = next((c for c in meta["clocksources"] if c["kind"] == 2), None)
    if tsc is None:
        return None
    pieces = [(0, 0, tsc["num"], tsc["den"])]
    if not meta.get("tsc_scaling", False):
        m = np.flatnonzero((res.kind == Kind.MIGRATE) & (res.source == 1))
        for i in m:
            t = int(res.time_ns[i])
            t0, c0, num, den = pieces[-1]
            pieces.append((t, c0 + (t - t0) * num // den, int(res.value[i]), 1_000_000_000))
    return pieces


def kernel_time(res: Results, t_ns: np.ndarray, jiffies: np.ndarray) -> np.ndarray:
    """CLOCK_MONOTONIC as the simulated kernel read it at true times *t_ns* (exact integers).

    Follows timekeeping across clocksource switches (CS_SWITCH records);
    *jiffies* (since boot, at each time) feeds jiffies-based clocksources.
    """
    meta = res.meta
    css = meta["clocksources"]
    names = [c["name"] for c in css]
    sw = np.flatnonzero(res.kind == Kind.CS_SWITCH)
    # (start time, clocksource index, kernel time base, counter base)
    pieces = [(0, names.index(meta["boot_clocksource"] if "boot_clocksource" in meta else meta["clocksource"]), 0, 0)]
    jt = res.time_ns[res.kind == Kind.JIFFIES]
    jv = res.value[res.kind == Kind.JIFFIES]
    for i in sw:
        t = int(res.time_ns[i])
        idx = int(res.source[i])
        k = np.searchsorted(jt, t, side="right")
        j = int(jv[k - 1]) if k else 0
        pieces.append((t, idx, int(res.value[i]), _cs_counter(css[idx], t, j, _tsc_pieces(res))))
    out = np.empty(len(t_ns), dtype=np.int64)
    starts = [p[0] for p in pieces]
    tp = _tsc_pieces(res)
    for n, (t, j) in enumerate(zip(t_ns, jiffies)):
        p = pieces[max(0, np.searchsorted(starts, int(t), side="right") - 1)]
        cs = css[p[1]]
        out[n] = p[2] + (((_cs_counter(cs, int(t), int(j), tp) - p[3]) * cs["mult"]) >> cs["shift"])
    return out


def drift_series(res: Results, max_points: int = 2000) -> dict[str, np.ndarray]:
    """Wall-clock drift (kernel time - true time) sampled at jiffies updates."""
    m = np.flatnonzero(res.kind == Kind.JIFFIES)
    if m.size > max_points:
        m = m[np.linspace(0, m.size - 1, max_points).astype(np.int64)]
    t = res.time_ns[m]
    k = kernel_time(res, t, res.value[m])
    return {"time_ns": t, "drift_ns": k - t}


def _drift_samples(res: Results):
    def compute():
        if not res.meta.get("clocksources"):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        d = drift_series(res, max_points=4000)
        return d["time_ns"], d["drift_ns"]
    return res.memo("clock_drift.samples", compute)


def kernel_offset(res: Results, t_ns: np.ndarray) -> np.ndarray:
    """ktime - true time at *t_ns*, interpolated from the drift samples (exact at the samples).

    Tick expiries are kernel times; adding this offset to ``time - expiry``
    measures lateness the way the kernel sees it, even after a clocksource
    switch or a migration has moved the kernel's clock away from true time.
    """
    t_ns = np.asarray(t_ns, dtype=np.int64)
    ts, ds = _drift_samples(res)
    if ts.size == 0:
        return np.zeros(t_ns.shape, dtype=np.int64)
    return np.round(np.interp(t_ns, ts, ds)).astype(np.int64)


# -- every clocksource on its own ---------------------------------------------------------


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
