"""The event log's two layouts: reserved address space, and malloc'ed blocks where that is refused.

The reserved layout is what runs everywhere address space is plentiful; the fallback is forced
here by running the engine under a 6 GiB address-space limit (RLIMIT_AS), below the log's
20 GiB reservation.  Both must log the same records, and views exported before the log grew
must keep their contents.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.simulation import Simulation, cython_available, cython_unavailable_reason

pytestmark = pytest.mark.skipif(not cython_available(), reason=str(cython_unavailable_reason()))

SETS = ["machine.cpus=4", "kernel.hz=1000", 'workload.kind="mixed"', 'kernel.nohz="idle"']
UNTIL = 30_000_000_000   # ~1.6e5 records: past the fallback's first 65 536-record blocks

CHILD = r"""
import json, resource, sys
import numpy as np
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
from tickscope.sim import scenario as scen
from tickscope.sim.simulation import Simulation
sets, until = json.loads(sys.argv[1]), int(sys.argv[2])
sim = Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), sets), engine="cython", until_ns=until)
sim.engine.run_until(until // 10)
early = {k: np.array(v) for k, v in sim.engine.columns().items()}   # copies, to compare with the views below
views = sim.engine.columns()
sim.engine.run_until(until)                                        # grows the blocks (and moves them)
kept = all(np.array_equal(views[k], early[k]) for k in early)
cols = sim.engine.columns()
print(json.dumps({"reserved": sim.engine.log_reserved, "kept": kept, "n": int(cols["time_ns"].size),
                  "digest": {k: int(np.asarray(v, dtype=np.int64).sum() % 1000000007) for k, v in cols.items()}}))
"""


def _digest(cols):
    return {k: int(np.asarray(v, dtype=np.int64).sum() % 1000000007) for k, v in cols.items()}


def test_fallback_blocks_log_the_same_records_and_keep_exported_views():
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(SETS), str(UNTIL)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert child["reserved"] is False          # the limit forced the malloc'ed blocks
    assert child["kept"] is True
    sim = Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), SETS), engine="cython", until_ns=UNTIL)
    assert sim.engine.log_reserved is True     # here: reserved address space
    sim.engine.run_until(UNTIL // 10)
    early = {k: np.array(v) for k, v in sim.engine.columns().items()}
    views = sim.engine.columns()
    sim.engine.run_until(UNTIL)
    assert all(np.array_equal(views[k], early[k]) for k in early)
    cols = sim.engine.columns()
    assert cols["time_ns"].size == child["n"] > 65536
    assert _digest(cols) == child["digest"]
