"""Synthetic results for ``tickscope bench --gui``: many ticks with every outcome, fast to make."""
from __future__ import annotations

import numpy as np

from tickscope.sim.events import Kind, TickMode
from tickscope.sim.results import COLUMNS, Results

TICK_NSEC = 1_000_000


def synthetic_results(n_ticks: int = 1_000_000, ncpus: int = 8, seed: int = 0) -> Results:
    """*n_ticks* delivered ticks over *ncpus* CPUs at HZ=1000, high-res mode.

    About 2 % are late, 0.1 % duplicated and 0.1 % of the slots are lost,
    so every outcome colour is drawn.
    """
    rng = np.random.default_rng(seed)
    per_cpu = n_ticks // ncpus
    n_slots = per_cpu + per_cpu // 1000 + 1
    first = TICK_NSEC
    parts = []
    for cpu in range(ncpus):
        slots = first + np.arange(n_slots, dtype=np.int64) * TICK_NSEC
        keep = rng.random(n_slots) >= 0.001                       # lost slots
        expiry = slots[keep][:per_cpu]
        dup = rng.random(expiry.size) < 0.001
        expiry = np.sort(np.concatenate([expiry, expiry[dup]]))[:per_cpu]
        latency = rng.integers(800, 2_000, expiry.size)
        late = rng.random(expiry.size) < 0.02
        latency[late] = rng.integers(100_001, 600_000, int(late.sum()))
        parts.append((expiry + latency, np.full(expiry.size, cpu, dtype=np.int16), expiry))
    t = np.concatenate([p[0] for p in parts])
    order = np.argsort(t, kind="stable")
    n = t.size
    mode_t = np.zeros(ncpus, dtype=np.int64)
    time_ns = np.concatenate([mode_t, t[order]])
    cpu = np.concatenate([np.arange(ncpus, dtype=np.int16), np.concatenate([p[1] for p in parts])[order]])
    kind = np.concatenate([np.full(ncpus, Kind.MODE, dtype=np.uint8), np.full(n, Kind.TICK, dtype=np.uint8)])
    source = np.concatenate([np.full(ncpus, TickMode.HIGHRES, dtype=np.uint8), (1 + cpu[ncpus:]).astype(np.uint8)])
    value = np.concatenate([np.full(ncpus, first, dtype=np.int64), np.concatenate([p[2] for p in parts])[order]])
    end = int(time_ns[-1]) + 1
    devices = [{"id": 0, "name": "hpet", "cpu": -1, "hw_name": "hpet"}] + [
        {"id": 1 + c, "name": "lapic-deadline", "cpu": c, "hw_name": "tsc-deadline"} for c in range(ncpus)]
    meta = {"ncpus": ncpus, "hz": 1000, "tick_nsec": TICK_NSEC, "until_ns": end, "now_ns": end, "seed": seed,
            "devices": devices, "tick_device": [1 + c for c in range(ncpus)], "events": int(time_ns.size),
            "scenario_name": "bench-synthetic", "engine": "synthetic"}
    cols = dict(zip([c for c, _ in COLUMNS], (time_ns, cpu, kind, source, value)))
    return Results(**cols, meta=meta)
