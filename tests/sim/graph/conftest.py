from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def linuxlike():
    return FIXTURES / "linuxlike"


@pytest.fixture
def tangle():
    return FIXTURES / "tangle"
