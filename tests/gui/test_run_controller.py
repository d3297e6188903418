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


def test_run_until_past_an_ended_run_starts_over_and_matches_a_direct_run(qtbot):
    # the end delivers what is in flight (the tick due at 40 ms): that run cannot go on, so a longer
    # run-until boots again and runs the whole way
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="40ms"'])
    ctl = RunController(sc, "reference")
    ctl.run()
    assert ctl.wait(30) and ctl.state() == "done"
    first = ctl.simulation()
    assert first.settled_ns == 40_000_000 and first.now_ns > 40_000_000
    ctl.run_until(60_000_000)
    assert ctl.wait(30) and ctl.state() == "done"
    assert ctl.simulation() is not first
    direct = simulation.simulate(sc, engine="reference", until_ns=60_000_000)
    assert ctl.last_snapshot["results"].equal_log(direct)
    ctl.shutdown()


def test_snapshots_carry_the_summary_raster_and_panel_aggregates_made_in_the_engine_thread(qtbot):
    import json
    import threading

    from tickscope.gui import run_worker
    from tickscope.sim import analysis

    threads = []
    real = run_worker.prepare
    run_worker.prepare = lambda res, hw=False: threads.append(threading.current_thread()) or real(res, hw)
    try:
        sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ["run.until=\"200ms\""])
        ctl = RunController(sc, "auto")
        ctl.run()
        assert ctl.wait(60) and ctl.state() == "done"
    finally:
        run_worker.prepare = real
    assert any(t is not threading.main_thread() for t in threads)
    snap = ctl.last_snapshot
    res = snap["results"]
    assert json.dumps(snap["summary"], sort_keys=True) == json.dumps(analysis.summarize(res), sort_keys=True)
    assert np.array_equal(snap["panels"].samples["interval"]["values"], analysis.tick_intervals(res))
    assert snap["raster"].spans and snap["raster"].counts["expected"] > 0
    ctl.shutdown()
