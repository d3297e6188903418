"""Analysis over the event log: expected vs delivered ticks, latency, jiffies, drift.

Definitions (per CPU)
---------------------
expected
    The tick slots the kernel intended to handle in its tick mode: the device's
    period grid in periodic mode, the ``next_event + k*TICK_NSEC`` grid in
    emulated periodic mode, the ``sched_timer`` grid in high-res mode.  Mode
    changes are MODE records, so the grid is read from the log itself.
delivered
    Distinct slots for which the tick handler ran.
lost
    Expected slots never handled.
late
    Ticks handled more than ``late_threshold_ns`` (default 100 us) after their expiry.
duplicated
    Extra handler runs for a slot already handled.

Only slots with expiry at or before ``until - late_threshold_ns`` are judged:
a slot closer to the end may still legitimately be in flight.
"""
from __future__ import annotations

import numpy as np

from tickscope.sim.events import Kind, TickMode
from tickscope.sim.results import Results

LATE_THRESHOLD_NS = 100_000

OUTCOME_ON_TIME, OUTCOME_LATE, OUTCOME_DUPLICATE, OUTCOME_LOST = 0, 1, 2, 3
OUTCOME_NAMES = {OUTCOME_ON_TIME: "on time", OUTCOME_LATE: "late", OUTCOME_DUPLICATE: "duplicated", OUTCOME_LOST: "lost"}


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


def tick_segments(res: Results, cpu: int) -> list[tuple[int, int, int, int]]:
    """The CPU's tick-mode segments: (mode, start_time_ns, first_expiry_ns, end_time_ns)."""
    m = (res.kind == Kind.MODE) & (res.cpu == cpu)
    times, modes, firsts = res.time_ns[m], res.source[m], res.value[m]
    end_all = res.meta.get("until_ns", int(res.time_ns[-1]) if len(res) else 0)
    segs = []
    for i in range(len(times)):
        end = int(times[i + 1]) if i + 1 < len(times) else end_all
        segs.append((int(modes[i]), int(times[i]), int(firsts[i]), end))
    return segs


def expected_slots(res: Results, cpu: int, bound: int | None = None) -> np.ndarray:
    """Expiries (ns) of every tick slot the CPU's kernel intended to handle up to *bound*."""
    tick = res.meta["tick_nsec"]
    bound = res.meta["until_ns"] if bound is None else bound
    did = res.meta["tick_device"][cpu]
    out = []
    for mode, start, first, end in tick_segments(res, cpu):
        hi = min(end, bound)
        if mode == TickMode.PERIODIC and did >= 0:
            dev = res.meta["devices"][did]
            n = _periodic_count_until(dev, start, hi)
            if n:
                ks = np.arange(1, n + 1, dtype=object)
                out.append(np.array([_periodic_slot(dev, start, int(k)) for k in ks], dtype=np.int64)
                           if n < 4096 else _periodic_slots_fast(dev, start, n))
        elif mode in (TickMode.PERIODIC_EMUL, TickMode.HIGHRES, TickMode.LOWRES_NOHZ):
            if first <= hi:
                out.append(np.arange(first, hi + 1, tick, dtype=np.int64))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _periodic_slots_fast(dev, t0, n):
    # Exact for realistic magnitudes: the products stay far below 2**63 for runs under ~1e5 s.
    k = np.arange(1, n + 1, dtype=np.int64)
    p, num, den = dev["periodic_count"], dev["num"], dev["den"]
    if dev["hw_name"] == "hpet":
        c0 = t0 * num // den
        return -((-(c0 + k * p) * den) // num)
    return t0 + -((-(k * p) * den) // num)


def expected_count(res: Results, cpu: int, bound: int) -> int:
    """Number of expected slots up to *bound* without materialising them."""
    tick = res.meta["tick_nsec"]
    did = res.meta["tick_device"][cpu]
    total = 0
    for mode, start, first, end in tick_segments(res, cpu):
        hi = min(end, bound)
        if mode == TickMode.PERIODIC and did >= 0:
            total += _periodic_count_until(res.meta["devices"][did], start, hi)
        elif mode in (TickMode.PERIODIC_EMUL, TickMode.HIGHRES, TickMode.LOWRES_NOHZ) and first <= hi:
            total += (hi - first) // tick + 1
    return total


def tick_outcomes(res: Results, late_threshold_ns: int = LATE_THRESHOLD_NS) -> dict[str, np.ndarray]:
    """Every TICK record with its outcome (on time / late / duplicated).

    Returns
    -------
    dict
        ``index`` (row in the log), ``cpu``, ``time_ns``, ``expiry_ns``,
        ``latency_ns``, ``outcome`` (OUTCOME_* codes).
    """
    idx = np.flatnonzero(res.kind == Kind.TICK)
    cpu = res.cpu[idx]
    t = res.time_ns[idx]
    exp = res.value[idx]
    lat = t - exp
    outcome = np.where(lat > late_threshold_ns, OUTCOME_LATE, OUTCOME_ON_TIME).astype(np.uint8)
    if len(idx):
        order = np.lexsort((t, exp, cpu))
        c_s, e_s = cpu[order], exp[order]
        dup_sorted = np.zeros(len(idx), dtype=bool)
        dup_sorted[1:] = (c_s[1:] == c_s[:-1]) & (e_s[1:] == e_s[:-1])
        dup = np.zeros(len(idx), dtype=bool)
        dup[order] = dup_sorted
        outcome[dup] = OUTCOME_DUPLICATE
    return {"index": idx, "cpu": cpu, "time_ns": t, "expiry_ns": exp, "latency_ns": lat, "outcome": outcome}


def lost_slots(res: Results, cpu: int, late_threshold_ns: int = LATE_THRESHOLD_NS) -> np.ndarray:
    """Expiries of the CPU's expected slots that were never handled (judged horizon only)."""
    horizon = res.meta["until_ns"] - late_threshold_ns
    exp = expected_slots(res, cpu, horizon)
    m = (res.kind == Kind.TICK) & (res.cpu == cpu)
    got = np.unique(res.value[m])
    return exp[~np.isin(exp, got)]


def _percentile(values: np.ndarray, q: float) -> int:
    if values.size == 0:
        return 0
    return int(np.percentile(values, q, method="lower"))


def per_cpu(res: Results, late_threshold_ns: int = LATE_THRESHOLD_NS) -> list[dict]:
    """Per-CPU tick statistics (the ``cpus`` list of ``run --json``)."""
    meta = res.meta
    horizon = meta["until_ns"] - late_threshold_ns
    tick_mask = res.kind == Kind.TICK
    out = []
    for cpu in range(meta["ncpus"]):
        did = meta["tick_device"][cpu]
        m = tick_mask & (res.cpu == cpu)
        t, e = res.time_ns[m], res.value[m]
        judged = e <= horizon
        ej = e[judged]
        distinct = np.unique(ej)
        expected = expected_count(res, cpu, horizon)
        lat = t - e
        out.append({
            "cpu": cpu,
            "tick_device": meta["devices"][did]["name"] if did >= 0 else "<NULL>",
            "ticks_expected": int(expected),
            "ticks_delivered": int(distinct.size),
            "ticks_lost": int(max(0, expected - distinct.size)),
            "ticks_late": int(np.count_nonzero(lat[judged] > late_threshold_ns)),
            "ticks_duplicated": int(ej.size - distinct.size),
            "wakeups": 0,
            "idle_ns": 0,
            "broadcast_received": 0,
            "latency_ns_p50": _percentile(lat, 50),
            "latency_ns_max": int(lat.max()) if lat.size else 0,
            "interrupts": int(meta["cpus"][cpu]["irqs"]) if "cpus" in meta else 0,
        })
    return out


def kernel_time(meta: dict, t_ns: np.ndarray, jiffies: np.ndarray | None = None) -> np.ndarray:
    """CLOCK_MONOTONIC as the simulated kernel read it at true times *t_ns* (exact integers)."""
    cs = next(c for c in meta["clocksources"] if c["name"] == meta["clocksource"])
    if cs["kind"] == 1:  # jiffies-based
        if jiffies is None:
            raise ValueError("a jiffies clocksource needs the jiffies at each time")
        cyc = [int(j) for j in jiffies]
    else:
        cyc = [int(t) * cs["num"] // cs["den"] for t in t_ns]
    return np.array([(c * cs["mult"]) >> cs["shift"] for c in cyc], dtype=np.int64)


def drift_series(res: Results, max_points: int = 2000) -> dict[str, np.ndarray]:
    """Wall-clock drift (kernel time - true time) sampled at jiffies updates."""
    m = np.flatnonzero(res.kind == Kind.JIFFIES)
    if m.size > max_points:
        m = m[np.linspace(0, m.size - 1, max_points).astype(np.int64)]
    t = res.time_ns[m]
    k = kernel_time(res.meta, t, res.value[m])
    return {"time_ns": t, "drift_ns": k - t}


def interrupt_rate(res: Results, bin_ns: int = 10_000_000) -> dict[str, np.ndarray]:
    """Timer interrupts per second per CPU in bins of *bin_ns*: ``{"bin_start_ns", "rate_hz" (cpus x bins)}``."""
    until = max(1, res.meta.get("until_ns", 1))
    nb = max(1, _ceil_div(until, bin_ns))
    m = (res.kind == Kind.TICK) | (res.kind == Kind.IRQ)
    rates = np.zeros((res.meta["ncpus"], nb), dtype=np.float64)
    b = np.minimum(res.time_ns[m] // bin_ns, nb - 1)
    np.add.at(rates, (res.cpu[m].astype(np.int64), b), 1.0)
    return {"bin_start_ns": np.arange(nb, dtype=np.int64) * bin_ns, "rate_hz": rates * (1e9 / bin_ns)}


def log_histogram(values: np.ndarray, lo_ns: int = 100, hi_ns: int = 10**10, bins_per_decade: int = 10) -> dict:
    """Histogram on log-spaced bins with explicit underflow (< lo) and overflow (>= hi) counts."""
    edges = np.unique(np.round(np.logspace(np.log10(lo_ns), np.log10(hi_ns),
                                           int(round(np.log10(hi_ns / lo_ns) * bins_per_decade)) + 1)).astype(np.int64))
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


def kernel_log(res: Results, limit: int = 10_000) -> list[str]:
    """The kernel-style log: boot messages then what happened during the run."""
    lines = [f"{format_log_time(t)} {text}" for t, text in res.meta.get("boot_log", [])]
    devs = res.meta["devices"]
    rows = np.flatnonzero((res.kind == Kind.MIN_DELTA) | (res.kind == Kind.MODE))
    for i in rows[:limit]:
        t, cpu, kind, src, val = (int(res.time_ns[i]), int(res.cpu[i]), int(res.kind[i]), int(res.source[i]), int(res.value[i]))
        if kind == Kind.MIN_DELTA:
            text = "CE: Reprogramming failure. Giving up" if val < 0 else f"CE: {devs[src]['name']} increased min_delta_ns to {val} nsec"
        elif src == TickMode.HIGHRES:
            text = f"Switched to high resolution mode on CPU {cpu}"
        elif src == TickMode.LOWRES_NOHZ:
            text = f"Switched to NOHz mode on CPU #{cpu}"
        else:
            continue
        lines.append(f"{format_log_time(t)} {text}")
    return lines


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
        "clocks": {"wall_drift_ns": int(meta["ktime_ns"] - meta["now_ns"])},
        "log": kernel_log(res),
        "engine": meta.get("engine", ""),
        "late_threshold_ns": late_threshold_ns,
    }
