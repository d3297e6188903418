"""The event log's page helper (ext/eventlog.pxd): a thread that faults the reserved log's pages in ahead of the writer.

It only gives the kernel advice (MADV_POPULATE_WRITE) and never writes the log, so what must hold is: a long log is
record for record what the reference engine logs; the thread exists only while an engine with a long log does; and
a process forked after it started (whose copy has no helper thread) keeps logging without waiting on it.
"""
import gc
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from tickscope.sim.cli.bench import standard_scenario
from tickscope.sim.simulation import Simulation, cython_available, cython_unavailable_reason

pytestmark = [pytest.mark.skipif(not cython_available(), reason=str(cython_unavailable_reason())),
              pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")]

CHUNK = 1 << 16   # LOG_WARM_RECORDS: the helper starts once the log reaches its second chunk


def _helper_tids() -> list[str]:
    """Threads of this process named as the helper names itself."""
    tids = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "tickscope-log":
                    tids.append(tid)
        except OSError:   # the thread ended while we looked
            pass
    return tids


def _helpers() -> int:
    return len(_helper_tids())


def _blocked_signals(tid: str) -> int:
    with open(f"/proc/self/task/{tid}/status") as f:
        return int(next(line for line in f if line.startswith("SigBlk:")).split()[1], 16)


def test_a_log_several_helper_chunks_long_is_the_reference_engines():
    # 8 CPUs at HZ=1000 log 9 000 records per simulated second: 25 s is ~225 000 records, three chunks past the
    # one the writer populates itself
    until = 25_000_000_000
    cy = Simulation(standard_scenario(), engine="cython", until_ns=until)
    ref = Simulation(standard_scenario(), engine="reference", until_ns=until)
    cy.engine.run_until(until)
    ref.engine.run_until(until)
    a, b = cy.engine.columns(), ref.engine.columns()
    assert a["time_ns"].size > 3 * CHUNK
    for name in ("time_ns", "cpu", "kind", "source", "value"):
        assert np.array_equal(a[name], b[name]), name


def test_the_helper_thread_comes_with_a_long_log_and_goes_with_its_engine():
    gc.collect()
    before = _helpers()
    short = Simulation(standard_scenario(), engine="cython", until_ns=1_000_000_000)
    short.engine.run_until(1_000_000_000)                   # ~9 000 records: the writer's first chunk only
    assert _helpers() == before
    long = Simulation(standard_scenario(), engine="cython", until_ns=10_000_000_000)
    long.engine.run_until(10_000_000_000)                   # ~90 000 records: past the first chunk
    assert long.engine.columns()["time_ns"].size > CHUNK
    assert _helpers() == before + 1
    # it blocks signals, so that Ctrl+C and friends reach Python's threads
    mask = _blocked_signals(_helper_tids()[-1])
    assert all(mask >> (sig - 1) & 1 for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)), hex(mask)
    del long
    gc.collect()
    assert _helpers() == before                             # stopped and joined when the engine went
    del short


CHILD = r"""
import gc, json, os, sys
from tickscope.sim.cli.bench import standard_scenario
from tickscope.sim.simulation import Simulation
sim = Simulation(standard_scenario(), engine="cython", until_ns=60_000_000_000)
sim.engine.run_until(10_000_000_000)                        # the helper is running now
pid = os.fork()
if pid == 0:
    # the child's copy of the log has no helper thread: the writer must populate its chunks itself, and
    # freeing the engine must not join a thread that is not there
    sim.engine.run_until(60_000_000_000)
    n = int(sim.engine.columns()["time_ns"].size)
    del sim
    gc.collect()
    with open(sys.argv[1], "w") as f:
        json.dump({"records": n}, f)
    os._exit(0)
sim.engine.run_until(60_000_000_000)
n = int(sim.engine.columns()["time_ns"].size)
_, status = os.waitpid(pid, 0)
print(json.dumps({"records": n, "child_status": status}))
"""


def test_a_process_forked_after_the_helper_started_keeps_logging(tmp_path):
    out_file = tmp_path / "child.json"
    done = subprocess.run([sys.executable, "-c", CHILD, str(out_file)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    parent = json.loads(done.stdout.strip().splitlines()[-1])
    child = json.loads(out_file.read_text())
    assert parent["child_status"] == 0
    # both continued the same deterministic run from the fork: the same number of records, ~540 000
    assert child["records"] == parent["records"] > 8 * CHUNK
