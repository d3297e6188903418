"""setup.py's profile-guided build: the engine is trained on every preset and the bench's scenarios, then optimised.

A training run that breaks (a renamed API, a preset that fails, a module pip's isolated build does not have) does
not fail the install: setup.py falls back to a plain build and compiles the reason into the module.  These tests
make that fallback visible: the training set must run on what the build environment holds, and an engine whose
profile-guided build was attempted here must have succeeded.
"""
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import bench
from tickscope.sim.simulation import cython_available, cython_unavailable_reason

pytestmark = pytest.mark.skipif(not cython_available(), reason=str(cython_unavailable_reason()))

ROOT = Path(__file__).resolve().parents[2]


def test_the_training_set_runs_every_preset_and_the_three_bench_scenarios():
    events = bench.train_engine(scale=0.002)   # 6 ms of each preset, 40 ms of each bench scenario
    assert len(events) == len(scen.presets()) + 3
    assert all(n > 0 for n in events), events


TRAINING_IMPORTS = r"""
import json, sys
from tickscope.sim.cli import bench
bench.train_engine(scale=0.0005)
names = {m.split(".")[0] for m in sys.modules}
print(json.dumps(sorted(n for n in names if not n.startswith("_") and n not in sys.stdlib_module_names)))
"""


def test_the_training_imports_only_what_the_build_requirements_install():
    # pip's isolated build holds the [build-system] requirements and their dependencies, nothing else: a module
    # the training needs beyond them would make every install silently plain
    with open(ROOT / "pyproject.toml", "rb") as f:
        requires = tomllib.load(f)["build-system"]["requires"]
    names = {r.split(">")[0].split("=")[0].split("<")[0].strip().lower().replace("-", "_") for r in requires}
    # what pydantic itself depends on (its wheel's Requires-Dist) and what Cython modules register
    allowed = names | {"pydantic_core", "annotated_types", "typing_extensions", "typing_inspection", "cython_runtime",
                       "tickscope"}
    done = subprocess.run([sys.executable, "-c", TRAINING_IMPORTS], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert imported <= allowed, sorted(imported - allowed)
    assert {"numpy", "pydantic", "tomli_w"} <= imported


def test_a_profile_guided_build_that_setup_py_attempted_here_succeeded():
    from tickscope.ext import engine

    why = engine.PLAIN_BUILD_REASON
    if not engine.PROFILE_GUIDED and not why.startswith("the profile-guided build failed"):
        pytest.skip(f"a plain build on purpose or by another builder: {why or 'not built by setup.py'}")
    assert engine.PROFILE_GUIDED, why
    assert bench.engine_build() == "profile-guided"


def test_the_bench_names_a_plain_build_and_its_reason(monkeypatch):
    from tickscope.ext import engine

    monkeypatch.setattr(engine, "PROFILE_GUIDED", False)
    monkeypatch.setattr(engine, "PLAIN_BUILD_REASON", "TICKSCOPE_PGO=0 asked for it")
    assert bench.engine_build() == "plain (TICKSCOPE_PGO=0 asked for it)"
