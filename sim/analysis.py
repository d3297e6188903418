"""Analysis over the event log: expected vs delivered ticks, latency, jiffies, drift.

Definitions (per CPU)
---------------------
expected
    The tick slots the kernel intended to handle in its tick mode, read from the
    log's MODE / TICK_STOP / TICK_RESTART records (:mod:`tickscope.sim.tick_grid`).
delivered
    Distinct slots for which the tick handler ran.
lost
    Expected slots never handled.
late
    Ticks handled more than ``late_threshold_ns`` (default 100 us) after their expiry.
duplicated
    Extra handler runs for a slot already handled.
latency (``latency_ns_p50``, ``latency_ns_max``)
    Over the same handler runs as ``late``: those for judged slots.  A tick handler run off the
    grid (while the tick is stopped in NO_HZ idle, say) has no intended slot to be late for.

Slots with expiry at or before ``until - late_threshold_ns`` are judged; a
later one (up to the end, where the engine delivers what is still in flight:
``settled_ns``) counts when its tick ran and is not judged when it did not:
it may legitimately be late.  The last slot before a tick stop, if not handled,
is not expected (the kernel skips it: :mod:`tickscope.sim.tick_grid`).
"""
from __future__ import annotations

import random

import numpy as np

from tickscope.sim.clock_drift import kernel_offset
from tickscope.sim.events import Kind, TickMode, nohz_mode
from tickscope.sim.npsets import distinct_count, member_of
from tickscope.sim.results import Results
from tickscope.sim.tick_grid import expected_slots, grid_to_end, jiffies_expected, settled_tail

LATE_THRESHOLD_NS = 100_000

OUTCOME_ON_TIME, OUTCOME_LATE, OUTCOME_DUPLICATE, OUTCOME_LOST = 0, 1, 2, 3
OUTCOME_NAMES = {OUTCOME_ON_TIME: "on time", OUTCOME_LATE: "late", OUTCOME_DUPLICATE: "duplicated", OUTCOME_LOST: "lost"}

_KERNEL_TIME_MODES = (TickMode.PERIODIC_EMUL, TickMode.HIGHRES, TickMode.LOWRES_NOHZ)


def tick_latency(res: Results, idx: np.ndarray) -> np.ndarray:
    """Lateness of the TICK records at rows *idx*, measured in the time base of their expiry.

    Hardware-periodic slots are true times; oneshot and emulated ticks expire in
    kernel time, so their lateness is ``ktime(handled) - expiry``.  A kernel clock that only moves with
    jiffies (the ``jiffies`` clocksource) can still read behind an expiry whose interrupt already came:
    that tick was not early, its lateness is 0.
    """
    t = res.time_ns[idx]
    lat = t - res.value[idx]
    if idx.size == 0:
        return lat
    kernel_based = _kernel_time_ticks(res, idx)
    if kernel_based is None:
        return lat
    if kernel_based.all():
        lat += kernel_offset(res, t)
    elif kernel_based.any():
        lat[kernel_based] += kernel_offset(res, t[kernel_based])
    np.maximum(lat, 0, out=lat)
    return lat


def _kernel_time_ticks(res: Results, idx: np.ndarray) -> np.ndarray | None:
    """Which TICK rows *idx* expire in kernel time (their CPU's last MODE before them is oneshot-based);
    None when none can."""
    mrows = np.flatnonzero(res.kind == Kind.MODE)
    if mrows.size == 0:
        return None
    m_cpu = res.cpu[mrows].astype(np.int64)
    m_kernel = np.isin(res.source[mrows], np.array(_KERNEL_TIME_MODES))
    if not m_kernel.any():
        return None
    tcpu = res.cpu[idx].astype(np.int64)
    if m_kernel.all():
        # the usual case: every mode record is a kernel-time mode, so a tick is kernel-based once its CPU
        # has any MODE record before it (one gather from a per-CPU array, ~2x faster on 1e7 ticks)
        first = np.full(int(max(m_cpu.max(), tcpu.max())) + 1, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, m_cpu, mrows)
        return idx > first[tcpu]
    return _tick_modes(res, idx, tcpu, mrows, m_cpu, m_kernel)


def _tick_modes(res, idx, tcpu, mrows, m_cpu, m_kernel) -> np.ndarray:
    """The general case: the mode in force for each tick is its CPU's last MODE record before it,
    found by one searchsorted over (cpu, row) keys instead of a pass per CPU."""
    nrec = np.int64(len(res) + 1)
    mkeys = m_cpu * nrec + mrows
    order = np.argsort(mkeys)
    mkeys, m_cpu, m_kernel = mkeys[order], m_cpu[order], m_kernel[order]
    pos = np.searchsorted(mkeys, tcpu * nrec + idx, side="right") - 1
    p = np.maximum(pos, 0)
    return (pos >= 0) & (m_cpu[p] == tcpu) & m_kernel[p]


def _all_tick_latency(res: Results) -> tuple[np.ndarray, np.ndarray]:
    """Rows of every TICK record and their :func:`tick_latency`, computed once per Results
    (the summary and the tick outcomes both need them: ~0.6 s per 5e6 records)."""
    def compute():
        idx = np.flatnonzero(res.kind == Kind.TICK)
        lat = tick_latency(res, idx)
        idx.flags.writeable = lat.flags.writeable = False   # shared by every caller
        return idx, lat
    return res.memo(("analysis.tick_latency", len(res)), compute)


def tick_outcomes(res: Results, late_threshold_ns: int = LATE_THRESHOLD_NS) -> dict[str, np.ndarray]:
    """Every TICK record with its outcome (on time / late / duplicated), and whether it was off the grid.

    Off the grid: a tick-handler run for no slot of the tick grid (the sched_timer of a CPU whose tick
    NO_HZ stopped, expiring at a timer's time): ``run --json`` does not judge it (its latency figures and
    ``ticks_late`` leave it out).

    Returns
    -------
    dict
        ``index`` (row in the log), ``cpu``, ``time_ns``, ``expiry_ns``,
        ``latency_ns``, ``outcome`` (OUTCOME_* codes), ``off_grid`` (bool).
    """
    idx, lat = _all_tick_latency(res)
    cpu = res.cpu[idx]
    t = res.time_ns[idx]
    exp = res.value[idx]
    outcome = np.where(lat > late_threshold_ns, OUTCOME_LATE, OUTCOME_ON_TIME).astype(np.uint8)
    if len(idx):
        order = np.lexsort((t, exp, cpu))
        c_s, e_s = cpu[order], exp[order]
        dup_sorted = np.zeros(len(idx), dtype=bool)
        dup_sorted[1:] = (c_s[1:] == c_s[:-1]) & (e_s[1:] == e_s[:-1])
        dup = np.zeros(len(idx), dtype=bool)
        dup[order] = dup_sorted
        outcome[dup] = OUTCOME_DUPLICATE
    return {"index": idx, "cpu": cpu, "time_ns": t, "expiry_ns": exp, "latency_ns": lat, "outcome": outcome,
            "off_grid": _off_grid(res, cpu, exp) if len(idx) else np.zeros(0, dtype=bool)}


def _off_grid(res: Results, cpu: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """Which ticks (CPU *cpu*, expiry *exp*) ran for no slot of their CPU's grid up to the run's end."""
    if "tick_nsec" not in res.meta or "tick_device" not in res.meta or "devices" not in res.meta:
        return np.zeros(exp.size, dtype=bool)
    end = int(res.meta.get("until_ns", int(res.time_ns[-1]) if len(res) else 0))
    order = np.argsort(cpu, kind="stable")
    bounds = np.searchsorted(cpu[order], np.arange(int(res.meta["ncpus"]) + 1))
    off = np.zeros(exp.size, dtype=bool)
    for c in range(int(res.meta["ncpus"])):
        rows = order[bounds[c]:bounds[c + 1]]
        if rows.size:
            grid = grid_to_end(res, c, end, exp[rows])
            off[rows] = ~member_of(exp[rows], grid)
    return off


def pending_slots(res: Results, cpu: int) -> np.ndarray:
    """Expiries the host still holds for the CPU when the log ends: KVM's in-kernel PIT re-injects missed
    ticks one at a time (pit_policy "reinject"), so a backlog is on its way, not lost (CPU 0 takes them)."""
    pending = res.meta.get("hypervisor", {}).get("pit_pending") or []
    return np.asarray(pending, dtype=np.int64) if cpu == 0 else np.zeros(0, dtype=np.int64)


def without_pending(res: Results, cpu: int, slots: np.ndarray) -> np.ndarray:
    """*slots* less the CPU's :func:`pending_slots` (neither expected nor lost yet)."""
    pending = pending_slots(res, cpu)
    return slots[~member_of(slots, pending)] if pending.size else slots


def judged_slots(res: Results, cpu: int, horizon: int, handled: np.ndarray) -> np.ndarray:
    """The expected slots judged at the end of a run: every one up to *horizon* (``until - late
    threshold``), plus the later ones due by the end that were handled.

    The engine's finish delivers the interrupts still in flight at ``until`` (``meta["settled_ns"]``:
    every device expiry by then was delivered), so a slot due in the last ``late threshold`` counts when
    its tick ran and is not judged when it did not (it may legitimately be late); the tail ends half a
    tick after the settle time (:func:`tick_grid.settled_tail`).
    """
    expected = without_pending(res, cpu, expected_slots(res, cpu, horizon, handled=handled))
    end = res.meta.get("settled_ns")
    if end is None or end <= horizon or handled.size == 0:
        return expected
    tail = settled_tail(res, cpu, horizon)
    tail = tail[member_of(tail, handled) & ~member_of(tail, expected)]
    return np.sort(np.concatenate([expected, tail]), kind="stable") if tail.size else expected


def lost_slots(res: Results, cpu: int, late_threshold_ns: int = LATE_THRESHOLD_NS,
               handled: np.ndarray | None = None) -> np.ndarray:
    """Expiries of the CPU's expected slots that were never handled (judged horizon only).

    *handled*: the CPU's TICK expiries, if the caller has them (finding them costs a pass over the whole
    log, per CPU: a caller asking for every CPU of a 256-CPU run groups them once instead).
    """
    horizon = res.meta["until_ns"] - late_threshold_ns
    if handled is None:
        handled = res.value[(res.kind == Kind.TICK) & (res.cpu == cpu)]
    exp = expected_slots(res, cpu, horizon, handled=handled)
    return without_pending(res, cpu, exp[~member_of(exp, handled)])


def _percentile(values: np.ndarray, q: float) -> int:
    if values.size == 0:
        return 0
    return int(np.percentile(values, q, method="lower"))


def per_cpu(res: Results, late_threshold_ns: int = LATE_THRESHOLD_NS) -> list[dict]:
    """Per-CPU tick statistics (the ``cpus`` list of ``run --json``)."""
    meta = res.meta
    n = meta["ncpus"]
    horizon = meta["until_ns"] - late_threshold_ns
    tick_rows, lat_all = _all_tick_latency(res)
    # group the TICK rows by CPU once (a mask per CPU over the whole log costs O(records x CPUs))
    order = np.argsort(res.cpu[tick_rows], kind="stable")
    tick_rows, lat_all = tick_rows[order], lat_all[order]
    bounds = np.searchsorted(res.cpu[tick_rows], np.arange(n + 1))

    def per(kind, extra=None):
        m = res.kind == kind
        if extra is not None:
            m &= extra
        return np.bincount(res.cpu[m].astype(np.int64), minlength=n)

    ipis = per(Kind.BROADCAST, res.value != res.cpu)
    stops = per(Kind.TICK_STOP)
    refused = per(Kind.BC_ENTER, res.source == 1)
    jupd = per(Kind.JIFFIES)
    timers = _timer_stats(res, n, horizon, late_threshold_ns)
    names = [c["name"] for c in meta.get("cstates", [])] or ["HLT"]
    out = []
    for cpu in range(n):
        did = meta["tick_device"][cpu]
        rows = tick_rows[bounds[cpu]:bounds[cpu + 1]]
        e = res.value[rows]
        lat = lat_all[bounds[cpu]:bounds[cpu + 1]]
        expected = judged_slots(res, cpu, horizon, e)
        judged = member_of(e, expected)
        ej = e[judged]
        lj = lat[judged]   # the latency figures cover the ticks judged, as ticks_late does
        distinct = distinct_count(ej)
        state = meta["cpus"][cpu] if "cpus" in meta else {}
        residency = state.get("residency_ns", [])
        out.append({
            "cpu": cpu,
            "tick_device": meta["devices"][did]["name"] if did >= 0 else "<NULL>",
            "ticks_expected": int(expected.size),
            "ticks_delivered": distinct,
            "ticks_lost": int(expected.size - distinct),
            "ticks_late": int(np.count_nonzero(lj > late_threshold_ns)),
            "ticks_duplicated": int(ej.size - distinct),
            "wakeups": int(state.get("wakeups", 0)),
            "idle_ns": int(sum(residency)),
            "broadcast_received": int(state.get("broadcast_received", 0)),
            "latency_ns_p50": _percentile(lj, 50),
            "latency_ns_max": int(lj.max()) if lj.size else 0,
            "interrupts": int(state.get("irqs", 0)),
            "ipis": int(ipis[cpu]),
            "cstate_residency_ns": {names[i]: int(v) for i, v in enumerate(residency)},
            "tick_stops": int(stops[cpu]),
            "idle_calls": int(state.get("idle_calls", 0)),
            "idle_sleeps": int(state.get("idle_sleeps", 0)),
            "nohz_mode": nohz_mode(TickMode(state.get("mode", 0)), bool(meta.get("nohz_idle"))),
            "last_tick": int(state.get("last_tick", 0)),
            "deep_refused": int(refused[cpu]),
            "steal_ns": int(state.get("steal_ns", 0)),
            "jiffies_updates": int(jupd[cpu]),
            **{k: int(v[cpu]) for k, v in timers.items()},
        })
    return out


def _timer_stats(res: Results, n: int, horizon: int, late_threshold_ns: int) -> dict[str, np.ndarray]:
    """Per-CPU user timers (``[workload] timers``) due by the end: run, run late, and overdue at the end (never run).

    A timer's expiry is kernel time: lateness is measured on the kernel's clock (:func:`kernel_offset`).
    Overdue: still pending at the end with an expiry more than a jiffy before the judged horizon (a
    broadcast device that gave up, say), so a timer that never ran shows here and not only by its absence;
    the jiffy allows for low-res modes, where timers run from the next tick.
    """
    rows = np.flatnonzero(res.kind == Kind.UTIMER)
    until = int(res.meta.get("until_ns", 0))
    if until:
        # the run's end delivers interrupts already on their way, and their handlers run what is due by then:
        # a timer that expired after the end ran there but is not one of the run's (as a tick slot past it).
        # The end is where the kernel's clock reads until, or true until when that clock runs ahead of it
        until_k = until + max(0, int(kernel_offset(res, np.array([until], dtype=np.int64))[0]))
        rows = rows[res.value[rows] <= until_k]
    cpu = res.cpu[rows].astype(np.int64)
    t = res.time_ns[rows].astype(np.int64)
    states = res.meta.get("cpus", [])
    # a timer with slack may run from its expiry to expiry + slack (the device is programmed for the latter):
    # late only past that
    width = max((len(s.get("timer_slacks", ())) for s in states[:n]), default=0)
    slack = np.zeros((n, width + 1), dtype=np.int64)
    for c, state in enumerate(states[:n]):
        got = state.get("timer_slacks", ())
        slack[c, :len(got)] = got
    lat = t + kernel_offset(res, t) - res.value[rows] - slack[cpu, np.minimum(res.source[rows].astype(np.int64), width)]
    fired = np.bincount(cpu, minlength=n)
    late = np.bincount(cpu[lat > late_threshold_ns], minlength=n)
    overdue = np.zeros(n, dtype=np.int64)
    h = int(horizon + kernel_offset(res, np.array([horizon]))[0]) - int(res.meta.get("tick_nsec", 0))
    for c, state in enumerate(states[:n]):
        overdue[c] = sum(1 for i, e in enumerate(state.get("timer_expiries", ())) if e + int(slack[c, min(i, width)]) <= h)
    return {"timers_fired": fired, "timers_late": late, "timers_overdue": overdue}


def _hypervisor_stats(res: Results) -> dict:
    """Top-level hypervisor numbers for ``run --json``."""
    meta = res.meta
    hv = dict(meta.get("hypervisor", {}))
    steal = [int(c.get("steal_ns", 0)) for c in meta.get("cpus", [])]
    hv.update({
        "backend": meta.get("backend", "none"),
        "overcommit": meta.get("overcommit", 1),
        "steal_ns": int(sum(steal)),
        "core_changes": sorted({e["change"] for e in meta.get("effect_evidence", [])}),
        "effects": sorted({e["effect"] for e in meta.get("effect_evidence", [])}),
    })
    return hv


def watchdog_events(res: Results) -> list[dict]:
    """Every clocksource watchdog comparison: time, CPU, skew, whether it marked the clocksource unstable."""
    m = (res.kind == Kind.WATCHDOG) & (res.source <= 1)
    return [{"time_ns": int(t), "cpu": int(c), "skew_ns": int(v), "unstable": bool(s)}
            for t, c, v, s in zip(res.time_ns[m], res.cpu[m], res.value[m], res.source[m])]


def interrupt_rate(res: Results, bin_ns: int = 10_000_000) -> dict[str, np.ndarray]:
    """Timer interrupts per second per CPU in bins of *bin_ns*: ``{"bin_start_ns", "bin_end_ns", "rate_hz" (cpus x bins)}``.

    The last bin ends at the run's ``until_ns`` (it is narrower than *bin_ns* when the run is not a whole number of
    bins), and each rate is its bin's count over that bin's own width.

    Every timer interrupt the CPU takes, the sum of its /proc/interrupts timer rows: LOC (its tick device's
    interrupts plus the broadcast IPIs: ``interrupts + ipis`` of :func:`per_cpu`) and IRQ 0, the broadcast
    device's own interrupt on the CPU it is routed to (one BC_IRQ record each), which runs that CPU's tick
    handler directly.  Leaving IRQ 0 out drew a CPU ticking at HZ through a periodic PIT broadcast flat at 0.

    Raises
    ------
    ValueError
        If *bin_ns* is not positive.
    """
    if bin_ns <= 0:
        raise ValueError(f"bin_ns must be positive, got {bin_ns}")
    until = max(1, int(res.meta.get("until_ns", 1)))
    nb = max(1, -(-until // bin_ns))
    ncpus = int(res.meta["ncpus"])
    def per_bin(m):
        b = np.minimum(res.time_ns[m] // bin_ns, nb - 1)
        # one bincount over (cpu, bin): ~10x faster than np.add.at at 1e6 records
        return np.bincount(res.cpu[m].astype(np.int64) * nb + b, minlength=ncpus * nb)[: ncpus * nb]

    # every handler run (one TICK or IRQ record each) less the local broadcast calls, which log a BROADCAST
    # record from the CPU itself at the same time (their interrupt is the BC_IRQ counted once)
    counts = per_bin((res.kind == Kind.TICK) | (res.kind == Kind.IRQ) | (res.kind == Kind.BC_IRQ)) - per_bin(
        (res.kind == Kind.BROADCAST) & (res.value == res.cpu))
    start = np.arange(nb, dtype=np.int64) * bin_ns
    # the last bin ends with the run: a 500 ms run in 1 s bins has one bin 500 ms wide, and its rate is counted
    # over those 500 ms (over the full bin width it read half the real rate: 49 Hz for a HZ=100 PIT tick)
    end = np.minimum(start + bin_ns, max(until, 1))
    return {"bin_start_ns": start, "bin_end_ns": end,
            "rate_hz": counts.reshape(ncpus, nb) * (1e9 / (end - start))}


def log_histogram(values: np.ndarray, lo_ns: int = 100, hi_ns: int = 10**10, bins_per_decade: int = 10) -> dict:
    """Histogram on log-spaced bins with explicit underflow (< lo) and overflow (>= hi) counts."""
    edges = np.unique(np.round(np.logspace(np.log10(lo_ns), np.log10(hi_ns),
                                           int(round(np.log10(hi_ns / lo_ns) * bins_per_decade)) + 1)).astype(np.int64))
    if edges.size < 2:
        edges = np.array([lo_ns, max(hi_ns, lo_ns + 1)], dtype=np.int64)
    values = np.asarray(values)
    counts, _ = np.histogram(values, bins=edges)
    # np.histogram's last bin is closed; move values equal to hi into overflow
    at_hi = int(np.count_nonzero(values == edges[-1]))
    counts[-1] -= at_hi
    return {"edges_ns": edges, "counts": counts, "underflow": int(np.count_nonzero(values < edges[0])),
            "overflow": int(np.count_nonzero(values >= edges[-1]))}


def tick_intervals(res: Results, cpu: int | None = None) -> np.ndarray:
    """Time between consecutive handled ticks, per CPU, concatenated."""
    out = []
    cpus = range(res.meta["ncpus"]) if cpu is None else [cpu]
    for c in cpus:
        t = res.time_ns[(res.kind == Kind.TICK) & (res.cpu == c)]
        if t.size > 1:
            out.append(np.diff(t))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def format_log_time(t_ns: int) -> str:
    """printk's timestamp: ``[%5lu.%06lu]``."""
    return f"[{t_ns // 1_000_000_000:5d}.{t_ns % 1_000_000_000 // 1000:06d}]"


def _div_s64(a: int, b: int) -> int:
    """The kernel's div_s64: signed division truncating toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


M64 = (1 << 64) - 1


def _watchdog_detail(res: Results, i: int) -> dict[int, int]:
    """The detail records (source -> value) following the watchdog's "marked unstable" record at row *i*."""
    out = {}
    j = i + 1
    while (j < len(res) and res.kind[j] == Kind.WATCHDOG and 2 <= res.source[j] <= 7
           and res.time_ns[j] == res.time_ns[i]):
        out[int(res.source[j])] = int(res.value[j])
        j += 1
    return out


def cpulist(cpus) -> str:
    """printk's %*pbl: ascending CPU numbers with runs written as ranges ("0,2-5")."""
    runs: list[list[int]] = []   # [first, last] of each run of consecutive CPUs
    for c in sorted(set(cpus)):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


#: clocksource.verify_n_cpus: how many CPUs clocksource_verify_percpu checks at most (all of them up to this many)
VERIFY_N_CPUS = 8


def _verify_percpu_lines(res: Results, t: int, testcpu: int, cs: dict) -> list[str]:
    """clocksource_verify_percpu (6.13+), which the watchdog kthread runs for a current clocksource with
    CLOCK_SOURCE_VERIFY_PERCPU (the TSC) that was just marked unstable, before it picks another one.

    The kthread's CPU is taken to be the CPU of the round that marked it. It reads the TSC, has each chosen CPU
    read it in an IPI (smp_call_function_single: the IPI's latency, and a sleeping CPU's exit latency before the
    read), reads it again: a CPU whose read comes before the first is *behind*, one whose read comes after the
    second is *ahead*; the durations are the first to the second read. Up to VERIFY_N_CPUS CPUs are all checked;
    beyond, the kernel picks the first online CPU and seven at random (get_random_u32_below): drawn here from the
    run's seed. Each CPU's TSC is the run's: its offset (tsc_skew), less the time it spent in states that stop a
    non-invariant TSC (tsc_stops), as the engine's tsc_read has it. A recording made before these meta entries
    gets the "Checking" line only."""
    meta = res.meta
    ncpus = int(meta["ncpus"])
    name = cs["name"]
    others = [c for c in range(ncpus) if c != testcpu]
    if not others:
        return [f"clocksource: Not enough CPUs to check clocksource '{name}'."]
    if ncpus <= VERIFY_N_CPUS:
        chosen = others
    else:
        rng = random.Random(int(meta.get("seed", 0)) * 1_000_003 + t)
        picks = {1 if testcpu == 0 else 0} | {rng.randrange(ncpus) for _ in range(VERIFY_N_CPUS - 1)}
        chosen = sorted(picks - {testcpu})
    lines = [f"clocksource: Checking clocksource {name} synchronization from CPU {testcpu} to CPUs {cpulist(chosen)}."]
    offsets = meta.get("tsc_offset")
    lat = meta.get("ipi_latency_ns")
    freq = int(cs.get("num", 0)) / max(1, int(cs.get("den", 1)))   # the TSC's counts per ns (its clocksource's rate)
    if offsets is None or lat is None or len(offsets) != ncpus or freq <= 0:
        return lines
    tsc_stops = bool(meta.get("tsc_stops"))
    stopping = {i for i, st in enumerate(meta.get("cstates", ())) if st.get("stops_timer")}
    lost = [0] * ncpus
    asleep: list[tuple[int, int] | None] = [None] * ncpus   # (state, entered) of a CPU asleep at t
    if tsc_stops or stopping:
        rows = np.flatnonzero(((res.kind == Kind.IDLE) | (res.kind == Kind.WAKE)) & (res.time_ns <= t))
        for i in rows.tolist():
            c, s = int(res.cpu[i]), int(res.source[i])
            if not 0 <= c < ncpus:
                continue
            if res.kind[i] == Kind.IDLE:
                asleep[c] = (s, int(res.time_ns[i]))
            else:
                asleep[c] = None
                if tsc_stops and s in stopping:
                    lost[c] += int(res.value[i])
    exit_ns = [int(st.get("exit_latency_ns", 0)) for st in meta.get("cstates", ())]

    asleep[testcpu] = None   # it runs the check

    def tsc(c: int, at: int) -> float:
        gone = lost[c]
        if asleep[c] is not None and tsc_stops and asleep[c][0] in stopping:
            gone += at - asleep[c][1]   # stopped since it went to sleep, until the IPI has woken it
        return (at - gone) * freq + int(offsets[c])

    ahead, behind, spans = [], [], []
    begin = tsc(testcpu, t)
    for c in chosen:
        wake = exit_ns[asleep[c][0]] if asleep[c] is not None and 0 <= asleep[c][0] < len(exit_ns) else 0
        read_at = t + lat + wake
        mid = tsc(c, read_at)
        end = tsc(testcpu, read_at + lat)
        if mid < begin:
            behind.append(c)
        if end < mid:
            ahead.append(c)
        spans.append((int(end - begin) * int(cs.get("mult", 1))) >> int(cs.get("shift", 0)))   # cycles_to_nsec_safe
    if ahead:
        lines.append(f"clocksource:         CPUs {cpulist(ahead)} ahead of CPU {testcpu} for clocksource {name}.")
    if behind:
        lines.append(f"clocksource:         CPUs {cpulist(behind)} behind CPU {testcpu} for clocksource {name}.")
    if ahead or behind:
        lines.append(f"clocksource:         CPU {testcpu} check durations {min(spans)}ns - {max(spans)}ns for "
                     f"clocksource {name}.")
    return lines


def kernel_log(res: Results, limit: int = 10_000) -> list[str]:
    """The kernel-style log: boot messages then what happened during the run."""
    entries = [(int(t), text) for t, text in res.meta.get("boot_log", [])]
    devs = res.meta["devices"]
    css = res.meta.get("clocksources", [])
    wd_name = res.meta.get("watchdog", "")
    # no line for a CPU's switch to high-res or low-res NO_HZ (Kind.MODE): kernels of the log's generation print none
    # (hrtimer_switch_to_hres warns only when it fails; 2.6-era kernels printed "Switched to high resolution mode
    # on CPU N" and "Switched to NOHz mode on CPU #N"); the event table shows the switch
    rows = np.flatnonzero((res.kind == Kind.MIN_DELTA) | (res.kind == Kind.CS_SWITCH)
                          | ((res.kind == Kind.WATCHDOG) & ((res.source == 1) | (res.source == 8) | (res.source == 9))))
    current = res.meta.get("boot_clocksource", res.meta.get("clocksource", ""))
    wd_max_interval = 0   # clocksource_watchdog's watchdog_max_interval: it warns of a long interval when it doubles
    for i in rows[:limit]:
        t, cpu, kind, src, val = (int(res.time_ns[i]), int(res.cpu[i]), int(res.kind[i]), int(res.source[i]), int(res.value[i]))
        texts = []
        if kind == Kind.MIN_DELTA:
            did = res.meta["broadcast_device"] if src else res.meta["tick_device"][cpu]
            name = devs[did]["name"] if did is not None and did >= 0 else "?"
            texts.append("CE: Reprogramming failure. Giving up" if val < 0 else f"CE: {name} increased min_delta_ns to {val} nsec")
        elif kind == Kind.CS_SWITCH:
            current = css[src]["name"]
            texts.append(f"clocksource: Switched to clocksource {current}")
        elif kind == Kind.WATCHDOG and src == 9:
            wd_nsec = int(res.value[i + 1]) if i + 1 < len(res) and res.kind[i + 1] == Kind.WATCHDOG else 0
            interval = max(val, wd_nsec)
            if interval > 2 * wd_max_interval:
                wd_max_interval = interval
                texts.append(f"clocksource: Long readout interval, skipping watchdog check: cs_nsec: {val} wd_nsec: {wd_nsec}")
        elif kind == Kind.WATCHDOG and src == 8:
            texts.append(f"clocksource: Override clocksource {css[val]['name']} is unstable and not HRT compatible - "
                         "cannot switch while in HRT/NOHZ mode")
        elif kind == Kind.WATCHDOG:
            cs = next((c for c in css if c.get("must_verify")), {"name": "tsc", "mask": M64})
            wd = next((c for c in css if c["name"] == wd_name), {"mask": M64})
            cs_name = cs["name"]
            detail = _watchdog_detail(res, i)
            wd_nsec, cs_nsec = detail.get(2, 0), detail.get(3, 0)
            pad = " " * 22  # clocksource_watchdog's continuation lines (after pr_fmt's "clocksource: ")
            texts += [f"clocksource: timekeeping watchdog on CPU{cpu}: Marking clocksource '{cs_name}' as unstable because the skew is too large:",
                      f"clocksource: {pad}'{wd_name}' wd_nsec: {wd_nsec} wd_now: {detail.get(4, 0) & M64:x} "
                      f"wd_last: {detail.get(5, 0) & M64:x} mask: {wd.get('mask', M64):x}",
                      f"clocksource: {pad}'{cs_name}' cs_nsec: {cs_nsec} cs_now: {detail.get(6, 0) & M64:x} "
                      f"cs_last: {detail.get(7, 0) & M64:x} mask: {cs.get('mask', M64):x}",
                      f"clocksource: {pad}Clocksource '{cs_name}' skewed {val} ns ({_div_s64(val, 1_000_000)} ms) over "
                      f"watchdog '{wd_name}' interval of {wd_nsec} ns ({_div_s64(wd_nsec, 1_000_000)} ms)",
                      f"clocksource: {pad}'{cs_name}' is current clocksource." if current == cs_name else
                      f"clocksource: {pad}'{current}' (not '{cs_name}') is current clocksource.",
                      "tsc: Marking TSC unstable due to clocksource watchdog"]
            if res.meta.get("backend", "none") == "none":
                # tsc_cs_mark_unstable clears sched_clock's stable flag only on the native sched_clock, and
                # __sched_clock_work then prints this; a guest's sched_clock is its hypervisor's (kvm-clock's
                # "using sched offset", Xen, Hyper-V, VMI), so it prints nothing.  Its next line, "sched_clock:
                # Marking unstable (...)", holds sched_clock's own offsets, which are not modelled: left out
                texts.append("TSC found unstable after boot, most likely due to broken BIOS. Use 'tsc=unstable'.")
            if current == cs_name and cs_name == "tsc":
                # __clocksource_watchdog_kthread: the current clocksource is unstable and has VERIFY_PERCPU (tsc.c)
                texts += _verify_percpu_lines(res, t, cpu, cs)
        entries += [(t, text) for text in texts]
    entries.sort(key=lambda e: e[0])  # stable: same-time lines keep their order
    return [f"{format_log_time(t)} {text}" for t, text in entries]


def summarize(res: Results, late_threshold_ns: int = LATE_THRESHOLD_NS) -> dict:
    """The ``run --json`` object."""
    meta = res.meta
    return {
        "scenario": meta.get("scenario_name", ""),
        "seed": meta["seed"],
        "until_ns": meta["until_ns"],
        "events": meta["events"],
        "hz": meta["hz"],
        "clocksource": meta["clocksource"],
        "jiffies_delta": meta["jiffies"],
        "cpus": per_cpu(res, late_threshold_ns),
        "clocks": {"wall_drift_ns": int(meta["ktime_ns"] - meta["now_ns"] + meta.get("wall_ahead_ns", 0))},
        "jiffies_expected": jiffies_expected(res),
        "hypervisor": _hypervisor_stats(res),
        "log": kernel_log(res),
        "watchdog_events": watchdog_events(res),
        "engine": meta.get("engine", ""),
        "late_threshold_ns": late_threshold_ns,
    }
