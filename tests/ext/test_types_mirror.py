"""The numbers compiled into ext/ equal the ones sim/ uses."""
import pytest
from hypothesis import given, settings, strategies as st

from tickscope.sim import boot as B
from tickscope.sim import reference as R
from tickscope.sim import reference_clockevents as RCE
from tickscope.sim import reference_loop as RL
from tickscope.sim import reference_pv as RPV
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.simulation import cython_available, cython_unavailable_reason

pytestmark = pytest.mark.skipif(not cython_available(), reason=str(cython_unavailable_reason()))


@pytest.fixture(scope="module")
def E():
    from tickscope.ext import engine

    return engine


def test_record_kinds_match(E):
    assert E.KINDS == {k.name: int(k) for k in Kind}


def test_tick_modes_match(E):
    assert E.TICK_MODES == {m.name: int(m) for m in TickMode}


@pytest.mark.parametrize("table,prefix", [("HW_KINDS", "HW_"), ("FEATURES", "FEAT_"), ("CS_KINDS", "CS_"),
                                          ("BC_KINDS", "BC_"), ("WORKLOAD_KINDS", "WL_"), ("DISTS", "DIST_"),
                                          ("TIMER_KINDS", "TIMER_"), ("PV_KINDS", "PV_"), ("EFFECTS", "EFF_"),
                                          ("PIT_POLICIES", "PIT_")])
def test_boot_constants_match(E, table, prefix):
    ext = getattr(E, table)
    for name, value in ext.items():
        assert getattr(B, name) == value, name
    # every constant of that family in boot.py that the engine must know is mirrored
    sim_names = {n for n in dir(B) if n.startswith(prefix) and isinstance(getattr(B, n), int)}
    missing = sim_names - set(ext)
    assert not missing, f"not mirrored in ext: {sorted(missing)}"


def test_engine_constants_match(E):
    assert E.ETIME == RCE.ETIME and E.EBUSY == R.EBUSY and E.HPET_MIN_CYCLES == RCE.HPET_MIN_CYCLES
    assert E.KTIME_MAX_NS == B.KTIME_MAX
    assert E.SETTLE_KTIME_CAP == RL.SETTLE_KTIME_CAP_NS and E.DRAIN_HORIZON == RL.DRAIN_HORIZON_NS
    assert E.EVENT_TYPES == {"EV_DEV": R.EV_DEV, "EV_IPI": R.EV_IPI, "EV_WAKE": R.EV_WAKE, "EV_WORK": R.EV_WORK,
                             "EV_WORKEND": R.EV_WORKEND, "EV_WATCHDOG": R.EV_WATCHDOG, "EV_VCPU": RPV.EV_VCPU,
                             "EV_INJ": RPV.EV_INJ, "EV_MIGRATE": RPV.EV_MIGRATE, "EV_RESUME": RPV.EV_RESUME}
    assert E.CLOCK_STATES == {"STATE_DETACHED": RCE.STATE_DETACHED, "STATE_SHUTDOWN": RCE.STATE_SHUTDOWN,
                              "STATE_PERIODIC": RCE.STATE_PERIODIC, "STATE_ONESHOT": RCE.STATE_ONESHOT,
                              "STATE_ONESHOT_STOPPED": RCE.STATE_ONESHOT_STOPPED}
    assert E.CyEngine.SEMANTICS == R.SEMANTICS


@pytest.mark.parametrize("state", [0, 1, 12345, 2**63, 2**64 - 1])
def test_splitmix64_matches(E, state):
    assert E.splitmix64(state) == R.splitmix64(state)


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, 2**64 - 1), st.one_of(st.integers(1, 2**64 - 1), st.integers(1, 2**20),
                                            st.sampled_from([1, 2, 3, 5, 7, 12, 100, 10**9, 2**62 - 1, 2**62, 2**63 + 1])))
def test_reciprocal_division_is_exact(E, n, d):
    assert E.divide_u64(n, d) == n // d


@pytest.mark.parametrize("d", [3, 5, 7, 12, 125, 1_000_000_000, 2_445_406_000, 2**61 + 1, 2**62 - 3])
def test_reciprocal_division_is_exact_at_multiples(E, d):
    for q in (0, 1, 2, 2**20, (2**63 - 1) // d, (2**64 - 1) // d):
        for r in (-1, 0, 1, d - 1):
            n = q * d + r
            if 0 <= n < 2**64:
                assert E.divide_u64(n, d) == n // d, (n, d)
