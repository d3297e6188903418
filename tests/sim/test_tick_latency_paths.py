"""tick_latency's shortcut (every MODE record a kernel-time mode) equals the general per-tick mode lookup."""
import numpy as np
import pytest

from tickscope.sim import analysis, simulation
from tickscope.sim import scenario as scen
from tickscope.sim.events import Kind


@pytest.mark.parametrize("preset,sets", [
    ("bare-metal-lapic", []), ("bare-metal-hpet-c3", []), ("laptop-deep-idle", []), ("pit-only", []),
    ("kvm", []), ("vmi-2007", []), ("xen-pv", []), ("bare-metal-lapic", ["kernel.highres=false", 'kernel.nohz="idle"']),
    ("bare-metal-lapic", ["kernel.highres=false", 'kernel.nohz="off"']),
])
def test_kernel_time_ticks_shortcut_equals_the_general_lookup(preset, sets):
    res = simulation.simulate(scen.apply_sets(scen.preset(preset), sets + ['run.until="300ms"']), engine="auto")
    idx = np.flatnonzero(res.kind == Kind.TICK)
    assert idx.size
    mrows = np.flatnonzero(res.kind == Kind.MODE)
    m_cpu = res.cpu[mrows].astype(np.int64)
    m_kernel = np.isin(res.source[mrows], np.array(analysis._KERNEL_TIME_MODES))
    general = analysis._tick_modes(res, idx, res.cpu[idx].astype(np.int64), mrows, m_cpu, m_kernel)
    got = analysis._kernel_time_ticks(res, idx)
    assert np.array_equal(got if got is not None else np.zeros(idx.size, bool), general)
    # and the latency itself: kernel-time ticks carry the kernel clock's offset, the others none
    lat = analysis.tick_latency(res, idx)
    raw = res.time_ns[idx] - res.value[idx]
    assert np.array_equal(lat[~general], raw[~general])
    assert np.array_equal(lat[general], raw[general] + analysis.kernel_offset(res, res.time_ns[idx][general]))
