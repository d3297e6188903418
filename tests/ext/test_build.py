"""setup.py's profile-guided build: the engine is trained on every preset and the bench's scenarios, then optimised.

A training run that breaks (a renamed API, a preset that fails) does not fail the install: setup.py falls back to a
plain build and says so.  These tests make that fallback visible: the training set must run, and an engine GCC built
here must be the profile-guided one.
"""
import os
import sysconfig

import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import bench
from tickscope.sim.simulation import cython_available, cython_unavailable_reason

pytestmark = pytest.mark.skipif(not cython_available(), reason=str(cython_unavailable_reason()))


def test_the_training_set_runs_every_preset_and_the_three_bench_scenarios():
    events = bench.train_engine(scale=0.002)   # 6 ms of each preset, 40 ms of each bench scenario
    assert len(events) == len(scen.presets()) + 3
    assert all(n > 0 for n in events), events


@pytest.mark.skipif(os.environ.get("TICKSCOPE_PGO") == "0", reason="TICKSCOPE_PGO=0 asks for a plain build")
@pytest.mark.skipif("gcc" not in os.path.basename(str(sysconfig.get_config_var("CC") or "").split(" ")[0]),
                    reason="the profile-guided build is GCC's")
def test_an_engine_gcc_built_here_is_profile_guided():
    from tickscope.ext import engine

    assert engine.PROFILE_GUIDED is True
    assert bench.engine_build() == "profile-guided"
