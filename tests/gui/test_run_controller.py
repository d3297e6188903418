"""The engine thread: run, step, reset, run-until; the stream matches a direct simulation."""
import numpy as np

from tickscope.gui.run_controller import RunController
from tickscope.sim import scenario as scen
from tickscope.sim import simulation


def test_run_to_the_end_streams_the_same_log_as_simulate(qtbot):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["run.until=\"300ms\""])
    ctl = RunController(sc, "reference")
    got = []
    ctl.results_ready.connect(lambda r, s: got.append((r, s)))
    ctl.run()
    assert ctl.wait(60) and ctl.state() == "done"
    res, summary = got[-1]
    ref = simulation.simulate(sc, engine="reference")
    assert res.equal_log(ref)
    assert summary["cpus"][0]["ticks_delivered"] > 0
    ctl.shutdown()


def test_step_pause_reset_and_run_until(qtbot):
    ctl = RunController(scen.preset("bare-metal-lapic"), "reference")
    ctl.step_ns = 20_000_000
    ctl.step()
    assert ctl.wait(30) and ctl.state() == "paused"
    assert ctl.simulation().now_ns == 20_000_000
    ctl.reset()
    assert ctl.simulation().now_ns == 0 and ctl.state() == "idle"
    ctl.run_until(50_000_000)
    assert ctl.wait(30) and ctl.simulation().now_ns == 50_000_000
    snap = ctl.last_snapshot
    assert snap["results"].meta["now_ns"] == 50_000_000
    assert np.all(snap["results"].time_ns <= 50_000_000)
    ctl.shutdown()
