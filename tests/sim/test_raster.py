"""The numpy tick raster draws every mark, whatever the zoom."""
import numpy as np
import pytest

from tickscope.sim import analysis, raster, scenario, simulation
from tickscope.sim.events import Kind


@pytest.fixture(scope="module")
def short_results():
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["machine.irq_jitter=\"300us\""])
    return simulation.simulate(sc, engine="reference", until_ns=100_000_000)


def test_counts_equal_the_analysis(short_results):
    data = raster.build(short_results)
    out = analysis.tick_outcomes(short_results)
    ticks = int(np.count_nonzero(short_results.kind == Kind.TICK))
    drawn = sum(data.counts[c] for c in (raster.MARK_ON_TIME, raster.MARK_LATE, raster.MARK_DUPLICATE))
    assert drawn == ticks == out["index"].size
    summary = analysis.summarize(short_results)
    assert data.counts[raster.MARK_LOST] == sum(c["ticks_lost"] for c in summary["cpus"])


def test_every_tick_in_the_window_gets_its_own_column_when_wide_enough(short_results):
    data = raster.build(short_results)
    t, lanes = data.marks[raster.MARK_ON_TIME]
    t0, t1 = 0, int(t.max()) + 1
    p = raster.planes(data, t0, t1, width=2_000_000)
    assert np.count_nonzero(p["marks"] == raster.MARK_ON_TIME) == t.size


def test_a_single_lost_tick_survives_any_zoom_out():
    res_data = raster.RasterData(["CPU0"], 1, {raster.MARK_LOST: (np.array([123_456_789]), np.array([0]))},
                                 (np.zeros(0, np.int64), np.zeros(0, np.int64)), 10**12)
    for width in (50, 400, 1600):
        img = raster.render(res_data, 0, 10**12, width, 20)
        lost = np.all(img == np.array(raster.LIGHT_COLORS[raster.MARK_LOST], np.uint8), axis=-1)
        assert lost.any(axis=0).sum() == 1


def test_the_most_severe_mark_wins_a_shared_pixel():
    pair = lambda t: (np.array([t], np.int64), np.array([0], np.int64))  # noqa: E731
    data = raster.RasterData(["CPU0"], 1, {raster.MARK_ON_TIME: pair(10), raster.MARK_LOST: pair(11)},
                             (np.zeros(0, np.int64), np.zeros(0, np.int64)), 1000)
    assert raster.planes(data, 0, 1000, 10)["marks"][0, 0] == raster.MARK_LOST


def test_huge_windows_stay_in_int64():
    t = np.array([0, 50_000 * 10**9, 99_999 * 10**9], dtype=np.int64)
    cols, i0, i1 = raster.pixel_columns(t, 0, 100_000 * 10**9, 8192)
    assert (i0, i1) == (0, 3) and cols.tolist()[0] == 0 and cols.tolist()[-1] == 8191
