"""Fixtures: the real files from a 2-CPU KVM guest, shipped in assets/sample/real-kvm-guest."""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_DIR = REPO_ROOT / "assets" / "sample" / "real-kvm-guest"


def _real(name: str) -> str:
    path = REAL_DIR / name
    if not path.is_file():
        pytest.skip(f"real data not available: {path} is absent (expected in assets/sample/real-kvm-guest)")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def real_dir() -> Path:
    if not REAL_DIR.is_dir():
        pytest.skip(f"real data not available: {REAL_DIR} is absent (expected in assets/sample/real-kvm-guest)")
    return REAL_DIR


@pytest.fixture
def real_timer_list() -> str:
    return _real("real_timer_list.txt")


@pytest.fixture
def real_dmesg() -> str:
    return _real("real_dmesg_time.txt")


@pytest.fixture
def real_interrupts() -> str:
    return _real("real_interrupts.txt")
