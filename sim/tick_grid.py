"""The tick grid: where the kernel intended each CPU's ticks to fall, read from the event log.

Per CPU, the intended tick slots ("expected" in :mod:`tickscope.sim.analysis`) are the device's period
grid in periodic mode (PERIODIC, or PERIODIC_BC on the broadcast device), the ``next_event + k*TICK_NSEC``
grid in emulated periodic mode, the ``sched_timer`` grid in high-res and low-res NO_HZ mode, and the
alarm grid of VMI's 2007 timer.  Mode changes are MODE records, so the grid is read from the log itself:
a MODE record starts a segment, NO_HZ's TICK_STOP ends one (no tick is intended while stopped) and
TICK_RESTART starts a new one on the same grid.  Kernel-time grids are cut at the kernel's time of a
bound (:mod:`tickscope.sim.clock_drift`).

The last slot before the CPU stopped its tick (NO_HZ idle entry), if not handled, is not expected: its
interrupt was still on its way when the idle entry moved the sched_timer, and the kernel then skips
that slot (``last_tick``; the restart forwards past it and jiffies catch up), as it does here.
"""
from __future__ import annotations

import numpy as np

from tickscope.sim.clock_drift import _drift_samples
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.npsets import member_of
from tickscope.sim.results import Results


def _ceil_div(a, b):
    return -(-a // b)


def _periodic_slot(dev: dict, t0: int, k: int) -> int:
    if dev["hw_name"] == "hpet":
        c0 = t0 * dev["num"] // dev["den"]
        return _ceil_div((c0 + k * dev["periodic_count"]) * dev["den"], dev["num"])
    return t0 + _ceil_div(k * dev["periodic_count"] * dev["den"], dev["num"])


def _periodic_count_until(dev: dict, t0: int, bound: int) -> int:
    """Number of k >= 1 with slot(k) <= bound (exact integer arithmetic)."""
    p, num, den = dev["periodic_count"], dev["num"], dev["den"]
    if dev["hw_name"] == "hpet":
        c0 = t0 * num // den
        k = (bound * num - c0 * den) // (p * den)
    else:
        if bound < t0:
            return 0
        k = (bound - t0) * num // (p * den)
    return max(0, k)


_GRID_MODES = (TickMode.PERIODIC_EMUL, TickMode.HIGHRES, TickMode.LOWRES_NOHZ, TickMode.VMI_ALARM)
_BOUNDARY_KINDS = (Kind.MODE, Kind.TICK_STOP, Kind.TICK_RESTART)


def _boundaries(res: Results) -> dict:
    """Rows of MODE / TICK_STOP / TICK_RESTART records grouped by CPU (computed once per Results)."""
    def compute():
        rows = np.flatnonzero(np.isin(res.kind, np.array(_BOUNDARY_KINDS, dtype=np.uint8)))
        rows = rows[np.argsort(res.cpu[rows], kind="stable")]
        cpus = res.cpu[rows]
        return {int(c): rows[np.searchsorted(cpus, c, "left"):np.searchsorted(cpus, c, "right")]
                for c in np.unique(cpus)}
    return res.memo("tick_grid.boundaries", compute)


def _in_modes(modes: np.ndarray, codes) -> np.ndarray:
    """``np.isin(modes, codes)`` for the few tick segments of one CPU: isin's set-up (~70 us a call) was a
    quarter of the per-CPU analysis of a 256-CPU run (5 calls per CPU per summary)."""
    out = np.zeros(modes.shape, dtype=bool)
    for c in codes:
        out |= modes == c
    return out


def _segment_arrays(res: Results, cpu: int):
    """The CPU's tick segments as arrays: mode, start time, first expiry, end time (read-only).

    Kept on *res* per CPU (and the meta values they depend on): a summary, the tick outcomes and the raster
    ask for them ~4 times per CPU (256 CPUs: ~0.1 s a time)."""
    meta = res.meta
    def compute():
        arrays = _compute_segment_arrays(res, cpu)
        for a in arrays:
            a.flags.writeable = False   # shared by every caller
        return arrays
    return res.memo(("tick_grid.segments", int(cpu), len(res), meta.get("until_ns"), meta.get("settled_ns"),
                     meta.get("tick_nsec")), compute)


def _compute_segment_arrays(res: Results, cpu: int):
    idx = _boundaries(res).get(cpu, np.zeros(0, dtype=np.int64))
    end_all = res.meta.get("until_ns", int(res.time_ns[-1]) if len(res) else 0)
    if res.meta.get("settled_ns") is not None:  # the last segment runs on into what the end delivered
        end_all = max(end_all, res.meta["settled_ns"] + res.meta["tick_nsec"])
    kinds = res.kind[idx]
    is_mode = kinds == Kind.MODE
    # the mode in force at each boundary: forward-fill the last MODE record's mode
    last_mode = np.where(is_mode, np.arange(idx.size), -1)
    np.maximum.accumulate(last_mode, out=last_mode) if idx.size else None
    mode_now = np.where(last_mode >= 0, res.source[idx][np.maximum(last_mode, 0)], TickMode.NONE).astype(np.int64)
    modes = np.where(kinds == Kind.TICK_STOP, TickMode.NONE, mode_now).astype(np.int64)
    starts = res.time_ns[idx].astype(np.int64)
    firsts = res.value[idx].astype(np.int64)
    ends = np.append(starts[1:], end_all).astype(np.int64) if idx.size else starts
    return modes, starts, firsts, ends


def _by_stop(res: Results, cpu: int) -> np.ndarray:
    """Per tick segment of the CPU (:func:`_segment_arrays`): whether the CPU ended it by stopping its tick."""
    idx = _boundaries(res).get(cpu, np.zeros(0, dtype=np.int64))
    return np.append(res.kind[idx][1:] == Kind.TICK_STOP, False) if idx.size else np.zeros(0, dtype=bool)


def tick_segments(res: Results, cpu: int) -> list[tuple[int, int, int, int]]:
    """The CPU's tick segments: (mode, start_time_ns, first_expiry_ns, end_time_ns).

    A MODE record starts a segment in its mode; NO_HZ's TICK_STOP ends it (no
    tick is intended while stopped) and TICK_RESTART starts a new one on the
    same grid.
    """
    return [tuple(int(x) for x in seg) for seg in zip(*_segment_arrays(res, cpu))]


def _periodic_device(res: Results, cpu: int, mode: int):
    if mode == TickMode.PERIODIC_BC:
        b = res.meta.get("broadcast_device", -1)
        return res.meta["devices"][b] if b is not None and b >= 0 else None
    did = res.meta["tick_device"][cpu]
    return res.meta["devices"][did] if did >= 0 else None


def _periodic_slots(dev: dict, t0: int, k: np.ndarray) -> np.ndarray:
    """Slots *k* (int64 array, each >= 1) of a periodic device armed at *t0*, vectorised (same integers as
    _periodic_slot).

    Exact while the products stay below 2**63: k * periodic_count * den stays there for runs under ~1e5 s.
    """
    p, num, den = dev["periodic_count"], dev["num"], dev["den"]
    if dev["hw_name"] == "hpet":
        c0 = t0 * num // den
        return -((-(c0 + k * p) * den) // num)
    return t0 + -((-(k * p) * den) // num)


def _grid_counts(res: Results, modes, firsts, ends, bound):
    """Slots per grid segment up to *bound*: the kernel-time grid is cut at the kernel's time of the bound."""
    tick = res.meta["tick_nsec"]
    hi = np.minimum(ends, bound)
    grid = _in_modes(modes, _GRID_MODES)
    hk = hi.copy()
    kern = grid & (modes != TickMode.VMI_ALARM)
    if kern.any():
        ts, ds = _drift_samples(res)
        if ts.size:
            hk[kern] = hi[kern] + np.round(np.interp(hi[kern], ts, ds)).astype(np.int64)
    counts = np.where(grid & (firsts <= hk), (hk - firsts) // tick + 1, 0)
    return counts.astype(np.int64)


def expected_slots(res: Results, cpu: int, bound: int | None = None, skip_at_stop: bool = True,
                   handled: np.ndarray | None = None) -> np.ndarray:
    """Expiries (ns) of every tick slot the CPU's kernel intended to handle up to *bound*, without the
    ones a tick stop skipped (unless not *skip_at_stop*; *handled*: the CPU's TICK expiries, if the caller
    has them).

    A stop skips the last slot of the segment it ends (at or before *bound*) if that slot was never
    handled: the sched_timer's pending expiry at the stop, ``last_tick`` (module docstring).
    """
    bound = res.meta["until_ns"] if bound is None else bound
    tick = res.meta["tick_nsec"]
    modes, starts, firsts, ends = _segment_arrays(res, cpu)
    out = []
    for i in np.flatnonzero(_in_modes(modes, _HW_PERIODIC_MODES)):
        dev = _periodic_device(res, cpu, int(modes[i]))
        if dev is not None:
            n = _periodic_count_until(dev, int(starts[i]), int(min(ends[i], bound)))
            if n:
                out.append(_periodic_slots(dev, int(starts[i]), np.arange(1, n + 1, dtype=np.int64)) if n >= 4096 else
                           np.array([_periodic_slot(dev, int(starts[i]), k) for k in range(1, n + 1)], dtype=np.int64))
    counts = _grid_counts(res, modes, firsts, ends, bound)
    total = int(counts.sum())
    if total:
        seg_start = np.repeat(np.cumsum(counts) - counts, counts)
        out.append(np.repeat(firsts, counts) + (np.arange(total, dtype=np.int64) - seg_start) * tick)
    if not out:
        return np.zeros(0, dtype=np.int64)
    slots = np.sort(np.concatenate(out), kind="stable") if len(out) > 1 else out[0]   # runs in order: timsort
    if slots.size > 1 and not bool(np.all(slots[1:] > slots[:-1])):
        # a slot in two segments is one slot: a mode switch run by the tick for a slot while the kernel's
        # clock still reads before it (a slow TSC) starts the new grid on that slot again (the sched_timer's
        # forward past "now" leaves it), and the slot is handled twice: a duplicate, not a slot lost
        slots = np.unique(slots)
    if not skip_at_stop:
        return slots
    stopped = _by_stop(res, cpu) & (ends <= bound) & (counts > 0)
    skipped = firsts[stopped] + (counts[stopped] - 1) * np.int64(tick)
    if skipped.size:
        if handled is None:
            handled = res.value[(res.kind == Kind.TICK) & (res.cpu == cpu)]
        skipped = skipped[~member_of(skipped, handled)]
        slots = slots[~member_of(slots, skipped)]
    return slots


def expected_count(res: Results, cpu: int, bound: int) -> int:
    """Number of slots up to *bound* without materialising them (slots skipped at a tick stop included)."""
    modes, starts, firsts, ends = _segment_arrays(res, cpu)
    total = int(_grid_counts(res, modes, firsts, ends, bound).sum())
    for i in np.flatnonzero(_in_modes(modes, _HW_PERIODIC_MODES)):
        dev = _periodic_device(res, cpu, int(modes[i]))
        if dev is not None:
            total += _periodic_count_until(dev, int(starts[i]), int(min(ends[i], bound)))
    return total


def last_segment_slots(res: Results, cpu: int, lo: int, hi: int) -> np.ndarray:
    """Slots of the CPU's last tick segment counted up to *hi* but not up to *lo* (bounds in true time, cut
    as :func:`expected_slots` cuts them): the end of a run without materialising the whole grid again."""
    modes, starts, firsts, ends = (a[-1:] for a in _segment_arrays(res, cpu))
    if modes.size == 0:
        return np.zeros(0, dtype=np.int64)
    mode, start = int(modes[0]), int(starts[0])
    if mode in _HW_PERIODIC_MODES:
        dev = _periodic_device(res, cpu, mode)
        if dev is None:
            return np.zeros(0, dtype=np.int64)
        a = _periodic_count_until(dev, start, int(min(ends[0], lo)))
        b = _periodic_count_until(dev, start, int(min(ends[0], hi)))
        return np.array([_periodic_slot(dev, start, k) for k in range(a + 1, b + 1)], dtype=np.int64)
    a = int(_grid_counts(res, modes, firsts, ends, lo)[0])
    b = int(_grid_counts(res, modes, firsts, ends, hi)[0])
    return firsts[0] + np.arange(a, b, dtype=np.int64) * np.int64(res.meta["tick_nsec"])


def grid_to_end(res: Results, cpu: int, end_ns: int, handled: np.ndarray) -> np.ndarray:
    """The CPU's expected slots up to *end_ns* (:func:`expected_slots`), plus, once the run has ended
    (``settled_ns``) and *end_ns* reaches ``until``, the slots its end delivered just past ``until`` (a
    kernel clock a few ns behind true time reaches the slot due at ``until`` just after it), as
    ``run --json`` judges them (``analysis.judged_slots``).  *handled*: the CPU's TICK expiries.

    Kept on *res* per (cpu, end_ns): the outcomes' off-grid test and the raster's expected grid both ask
    for it (a 256-CPU log: ~0.25 s each time)."""
    def compute():
        grid = _grid_to_end(res, cpu, end_ns, handled)
        grid.flags.writeable = False   # shared by every caller
        return grid
    return res.memo(("tick_grid.grid_to_end", int(cpu), int(end_ns)), compute)


def settled_tail(res: Results, cpu: int, lo: int) -> np.ndarray:
    """The CPU's slots counted after *lo* up to half a tick past where the run's end settled
    (``settled_ns``), empty for a run that has not ended.

    The end delivers what was in flight at ``until``, so a slot a kernel clock a few ns behind true time
    reaches just after ``until`` may have been handled; callers keep the handled ones (``run --json``'s
    judged slots, the raster's expected grid and the live stream's, one definition for all three).  The
    bound is half a tick past the settle time: the log's drift samples place a kernel-time slot due exactly
    at the end only to within a few ns, and the next slot is a whole tick away.
    """
    meta = res.meta
    if meta.get("settled_ns") is None:
        return np.zeros(0, dtype=np.int64)
    hi = int(meta["settled_ns"]) + int(meta["tick_nsec"]) // 2
    if hi <= lo:
        return np.zeros(0, dtype=np.int64)
    starts = _segment_arrays(res, cpu)[1]
    if starts.size == 0 or starts[-1] <= lo:
        return last_segment_slots(res, cpu, lo, hi)   # the usual case, without the whole grid again
    later = expected_slots(res, cpu, hi)
    return later[~member_of(later, expected_slots(res, cpu, lo))]


def _grid_to_end(res: Results, cpu: int, end_ns: int, handled: np.ndarray) -> np.ndarray:
    exp = expected_slots(res, cpu, end_ns, handled=handled)
    meta = res.meta
    if meta.get("settled_ns") is None or end_ns < int(meta.get("until_ns", end_ns)):
        return exp
    tail = settled_tail(res, cpu, end_ns)
    tail = tail[member_of(tail, handled)]
    if tail.size:
        exp = np.concatenate([exp, tail[tail > exp[-1]] if exp.size else tail])
    return exp


_HW_PERIODIC_MODES = (TickMode.PERIODIC, TickMode.PERIODIC_BC)


def jiffies_expected(res: Results) -> int:
    """How far the kernel's jiffies should have advanced when the run reached ``until``.

    On a kernel-time tick (high-res, NO_HZ, emulated periodic) jiffies follow the kernel's clock, one per
    TICK_NSEC (``tick_do_update_jiffies64``), and the run ends when that clock reads ``until``:
    ``until // TICK_NSEC``.  A hardware-periodic tick (a PIT, HPET or LAPIC timer in periodic mode, or
    the broadcast device ticking for the CPU) adds one jiffy per interrupt (``tick_periodic``), so when
    the CPU doing jiffies stays on one the whole run, jiffies count the device's periods in ``until``:
    the i8254 runs at 1 193 182 / LATCH Hz, a little off HZ.  Those periods are counted up to where the
    run's end settled (``settled_ns``: the true time the kernel's clock read ``until``, every device
    interrupt raised by then delivered), so a PIT tick the clock reaches just after ``until`` counts as the
    run's ``ticks_expected`` counts it.
    """
    meta = res.meta
    until = int(meta["until_ns"])
    bound = max(until, int(meta["settled_ns"])) if meta.get("settled_ns") is not None else until
    cpu = int(meta.get("do_timer_cpu", -1))
    if cpu >= 0:
        modes, starts, _, ends = _segment_arrays(res, cpu)
        if modes.size and _in_modes(modes, _HW_PERIODIC_MODES).all():
            total = 0
            for mode, start, end in zip(modes, starts, ends):
                dev = _periodic_device(res, cpu, int(mode))
                if dev is None:
                    break
                total += _periodic_count_until(dev, int(start), int(min(end, bound)))
            else:
                return total
    return until // int(meta["tick_nsec"])
