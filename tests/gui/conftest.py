import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    """Never read or write the user's tickscope settings."""
    monkeypatch.setenv("TICKSCOPE_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def short_results():
    from tickscope.sim import scenario, simulation

    return simulation.simulate(scenario.preset("bare-metal-lapic"), engine="reference", until_ns=100_000_000)
