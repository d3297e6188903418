import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def real_data():
    """The real KVM guest's dmesg / timer_list / interrupts (../shared/data/real beside the clone)."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not found at {REAL_DATA}")
    return REAL_DATA

from hypothesis import settings  # noqa: E402

# A loaded 2-core CI box must not turn slow examples into failures: no per-example deadline.
settings.register_profile("tickscope", deadline=None)
settings.load_profile("tickscope")
