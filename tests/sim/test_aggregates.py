"""Panel aggregates computed off the GUI thread equal what the analysis functions return."""
import json

import numpy as np
import pytest

from tickscope.sim import aggregates, analysis, scenario, simulation
from tickscope.sim.clock_drift import clock_drift


@pytest.fixture(scope="module", params=["bare-metal-hpet-c3", "kvm-overcommit", "laptop-deep-idle"])
def results(request):
    return simulation.simulate(scenario.preset(request.param), until_ns=300_000_000)


def test_summarize_equals_the_analysis_summary(results):
    a, b = analysis.summarize(results), aggregates.summarize(results)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert list(a) == list(b)


def test_panel_data_equals_the_analysis_functions(results):
    ranges = {"interval": (10_000, 10**9), "latency": (100, 10**8)}
    pd = aggregates.panel_data(results, ranges, lambda lo, hi: 20, (10**6, 10**7, 10**8, 10**9))
    intervals = pd.samples["interval"]["values"]
    assert np.array_equal(intervals, analysis.tick_intervals(results))
    out = analysis.tick_outcomes(results)
    # the latency panel shows the ticks run --json judges: not the NO_HZ handler runs off the grid
    assert np.array_equal(pd.samples["latency"]["values"], out["latency_ns"][~out["off_grid"]])
    summary = analysis.summarize(results)
    judged = analysis.per_cpu(results)
    lat = pd.samples["latency"]["values"]
    if lat.size:
        assert lat.max() >= max(c["latency_ns_max"] for c in judged)
    assert summary["cpus"] == judged
    h = pd.histograms[("interval", 10_000, 10**9, 20)]
    ref = analysis.log_histogram(intervals, 10_000, 10**9, 20)
    assert np.array_equal(h["counts"], ref["counts"]) and (h["underflow"], h["overflow"]) == (ref["underflow"], ref["overflow"])
    rate = analysis.interrupt_rate(results, pd.rate_bin_ns)
    assert np.array_equal(pd.rate["rate_hz"], rate["rate_hz"])
    assert list(pd.drift) == list(clock_drift(results))
    assert pd.kind_counts.sum() == len(results)
