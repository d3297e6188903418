"""IncrementalPlanes: a live view's planes, binned from what was appended, equal the full planes()."""
import numpy as np
import pytest

from tickscope.sim import raster, raster_planes, raster_stream, simulation
from tickscope.sim import scenario as scen


def _partial(sim):
    res = sim.results()
    res.meta = dict(res.meta, until_ns=max(1, int(res.meta["now_ns"])))
    return res


def _assert_planes_equal(got, want):
    for name in ("marks", "background", "ghost", "highlight"):
        assert np.array_equal(got[name], want[name]), name


@pytest.mark.parametrize("preset,sets", [
    ("bare-metal-hpet-c3", []),                      # idle depth backgrounds, broadcast marks, late ticks
    ("kvm-overcommit", []),                          # steal periods and steal marks
    ("bare-metal-lapic", ["machine.cpus=4"]),        # busy: a long append-only stream
    ("pit-only", []),                                # periodic ticks, lost marks unmarked later
])
def test_incremental_planes_equal_full_planes_frame_by_frame(preset, sets):
    sim = simulation.Simulation(scen.apply_sets(scen.preset(preset), sets + ['run.until="1s"']), engine="auto")
    stream = raster_stream.RasterStream()
    caches = {False: raster_planes.IncrementalPlanes(), True: raster_planes.IncrementalPlanes()}
    window = (0, 1_000_000_000, 700)     # the live view's fixed window: everything binned once
    rng = np.random.default_rng(3)
    frames = 0
    while not sim.done:
        sim.step(int(rng.integers(5, 80)) * 1_000_000)
        stream.update(_partial(sim))
        for hardware in (False, True):
            data = stream.data(hardware=hardware)
            _assert_planes_equal(caches[hardware].planes(data, *window), raster.planes(data, *window))
        frames += 1
    assert frames > 5
    # the first frame (and a rare rewrite: a lost slot whose tick came late) rebuilds; the rest are increments
    assert caches[False].full_rebuilds <= frames // 2


def test_a_new_window_or_rewritten_stream_rebuilds_and_highlights_are_drawn():
    sim = simulation.Simulation(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="400ms"']),
                                engine="auto")
    stream = raster_stream.RasterStream()
    cache = raster_planes.IncrementalPlanes()
    sim.step(200_000_000)
    stream.update(_partial(sim))
    data = stream.data()
    cache.planes(data, 0, 400_000_000, 500)
    before = cache.full_rebuilds
    t = data.marks[raster.MARK_ON_TIME][0][:3]
    hl = (t, np.zeros(t.size, dtype=np.int64))
    _assert_planes_equal(cache.planes(data, 0, 200_000_000, 300, hl), raster.planes(data, 0, 200_000_000, 300, hl))
    assert cache.full_rebuilds > before
    # a build() snapshot (no growth tokens) is drawn whole, the same way
    full = raster.build(_partial(sim))
    _assert_planes_equal(cache.planes(full, 0, 200_000_000, 300), raster.planes(full, 0, 200_000_000, 300))
    # the same window as the stream's, built whole, then the stream again: each drawn right
    full2 = raster.build(_partial(sim))
    _assert_planes_equal(cache.planes(full2, 0, 400_000_000, 500), raster.planes(full2, 0, 400_000_000, 500))
    _assert_planes_equal(cache.planes(data, 0, 400_000_000, 500), raster.planes(data, 0, 400_000_000, 500))
    # back to the stream: a different snapshot line than the cached one is rebuilt, not mixed
    sim.step(200_000_000)
    stream.update(_partial(sim))
    data2 = stream.data()
    _assert_planes_equal(cache.planes(data2, 0, 400_000_000, 500), raster.planes(data2, 0, 400_000_000, 500))


def test_render_with_a_cache_gives_the_same_image():
    sim = simulation.Simulation(scen.apply_sets(scen.preset("laptop-deep-idle"), ['run.until="300ms"']), engine="auto")
    stream = raster_stream.RasterStream()
    cache = raster_planes.IncrementalPlanes()
    for _ in range(3):
        sim.step(100_000_000)
        stream.update(_partial(sim))
        data = stream.data()
        assert np.array_equal(raster.render(data, 0, 300_000_000, 640, 10, cache=cache),
                              raster.render(data, 0, 300_000_000, 640, 10))


@pytest.mark.parametrize("end,until,want", [
    (1, None, 1), (7, None, 10), (101, None, 200), (2_000_000_001, None, 5_000_000_000),
    (499_999_999_999, None, 500_000_000_000),
    (30 * 10**9, 3600 * 10**9, 50 * 10**9),        # the target is far: the next 1-2-5 step
    (1001 * 10**9, 3600 * 10**9, 3600 * 10**9),    # within 4x of the target: straight to it
    (3600 * 10**9, 3600 * 10**9, 3600 * 10**9),
    (5 * 10**9, 3 * 10**9, 5 * 10**9),             # past the target (run-until moved): never below the end
])
def test_live_window_end_steps_1_2_5_and_jumps_to_the_target(end, until, want):
    assert raster_planes.live_window_end(end, until) == want
