"""`tickscope export REC --csv DIR` on a recording whose meta.json holds null or a value of another type (the
manifest re-hashed): one line naming the key, exit 2, nothing written; these reached the exporters' readers and
ended in a TypeError, IndexError, KeyError or OverflowError traceback."""

import pytest

from tickscope.gui import launcher
from tickscope.sim import record, scenario as scen
from tickscope.sim.simulation import simulate


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="50ms"'])
    path = tmp_path_factory.mktemp("rec") / "good.tickrec"
    record.save_recording(path, sc, simulate(sc, engine="reference"))
    return path


def _edit(key, value):
    def edit(meta):
        if key == "cpus[0].timer_slacks":
            meta["cpus"][0]["timer_slacks"] = value
        elif value is KeyError:
            del meta[key]
        else:
            meta[key] = value
    return edit


@pytest.mark.parametrize("key, value", [
    ("boot_log", None), ("cstates", None), ("effect_evidence", None), ("cpus", None), ("now_ns", None),
    ("ktime_ns", None), ("wall_ahead_ns", None), ("do_timer_cpu", None), ("hypervisor", None), ("cstates", []),
    ("cstates", KeyError), ("settled_ns", "x"), ("settled_ns", []), ("settled_ns", {}), ("settled_ns", 2**63),
    ("cpus[0].timer_slacks", [2**64]),
])
def test_export_csv_of_a_corrupt_meta_is_one_line_exit_2_and_writes_nothing(recording, tmp_path, key, value, capsys,
                                                                          forge_meta):
    bad = forge_meta(recording, tmp_path / "bad.tickrec", _edit(key, value))
    rc = launcher.main(["export", str(bad), "--csv", str(tmp_path / "csv")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and "member 'meta.json': " in err and "Traceback" not in err, err
    name = "cpus" if key.startswith("cpus") else key
    assert name in err.split("member 'meta.json': ")[1]
    assert not (tmp_path / "csv").exists()
