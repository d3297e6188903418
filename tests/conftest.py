import hashlib
import json
import os
import zipfile
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

def _forge_meta(src, dst, edit):
    """Recording *src* written to *dst* with its meta.json changed by *edit(meta)* and the manifest re-hashed to
    match (a corrupt recording that gets past the hash check)."""
    with zipfile.ZipFile(src) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    meta = json.loads(members["meta.json"])
    edit(meta)
    members["meta.json"] = json.dumps(meta).encode()
    manifest = json.loads(members.pop("manifest.json"))
    manifest["members"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in members.items()}
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


@pytest.fixture
def forge_meta():
    """``forge_meta(src, dst, edit)``: a recording whose meta.json *edit* changed, re-hashed."""
    return _forge_meta


from hypothesis import settings  # noqa: E402

# A loaded 2-core CI box must not turn slow examples into failures: no per-example deadline.
settings.register_profile("tickscope", deadline=None)
settings.load_profile("tickscope")
