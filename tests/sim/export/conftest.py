"""Synthetic results for the export tests (until the simulation driver lands)."""
import numpy as np
import pytest

from tickscope.sim.events import Kind
from tickscope.sim.results import Results

RUN_NS = 1_000_000_000
PERIOD_NS = 1_000_000  # HZ=1000: 10 ticks per 10 ms window


def build_results(records, meta=None):
    """Results from a list of (time_ns, cpu, kind, source, value), sorted by time like an engine log."""
    records = sorted(records, key=lambda r: r[0])
    cols = list(zip(*records)) if records else [[]] * 5
    dtypes = (np.int64, np.int16, np.uint8, np.uint8, np.int64)
    return Results(*(np.array(c, dtype=d) for c, d in zip(cols, dtypes)), meta=dict(meta or {}))


@pytest.fixture(name="build_results")
def build_results_fixture():
    """The :func:`build_results` helper, as a fixture (test modules here are not a package)."""
    return build_results


@pytest.fixture
def four_cpu_records():
    """4 CPUs ticking at 1 ms for 1 s, CPU 3 stops after 500 ms; jiffies, an IRQ, an unknown kind."""
    records = []
    for cpu in range(4):
        stop = RUN_NS // 2 if cpu == 3 else RUN_NS
        for slot in range(0, stop, PERIOD_NS):
            latency = 1000 + 37 * cpu + slot // PERIOD_NS % 5
            records.append((slot + latency, cpu, int(Kind.TICK), 1 if cpu == 2 else 0, slot))
    for j, slot in enumerate(range(0, RUN_NS, PERIOD_NS)):
        records.append((slot + 1500, 0, int(Kind.JIFFIES), 1, 4_294_937_296 + j + 1))
    records.append((123_456_789, 1, int(Kind.IRQ), 0, 123_455_000))
    records.append((200_000_001, 2, 200, 7, -5))
    return records


@pytest.fixture
def four_cpu_results(four_cpu_records):
    meta = {"seed": 9, "until_ns": RUN_NS, "now_ns": RUN_NS, "hz": 1000, "clocksource": "tsc",
            "devices": [{"name": "lapic-deadline"}, {"name": "hpet"}], "tick_device": [0, 0, 1, 0],
            "engine": "reference"}
    return build_results(four_cpu_records, meta)
