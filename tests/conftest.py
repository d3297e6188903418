import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
#: The real KVM guest's files, shipped as sample data (copies of ../shared/data/real: tests/test_repo_contract.py)
REAL_DATA = REPO / "assets" / "sample" / "real-kvm-guest"


@pytest.fixture
def real_data():
    """The real KVM guest's dmesg / timer_list / interrupts (assets/sample/real-kvm-guest)."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not found at {REAL_DATA}")
    return REAL_DATA

from hypothesis import settings  # noqa: E402

# A loaded 2-core CI box must not turn slow examples into failures: no per-example deadline.
settings.register_profile("tickscope", deadline=None)
settings.load_profile("tickscope")
