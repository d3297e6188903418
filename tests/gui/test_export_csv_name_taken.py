"""`tickscope export --csv DIR` where DIR already holds a folder under a name the export writes: one line, exit 2,
nothing written (the staged folder was left beside DIR, and the other outputs half committed)."""
import pytest

from tickscope.gui import launcher
from tickscope.sim import record, scenario


@pytest.fixture
def rec(short_results, tmp_path):
    sc = scenario.loads(short_results.meta["scenario"])
    return record.save_recording(tmp_path / "run.tickrec", sc, short_results)


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("taken", ["cpus.csv", "events.csv"])
def test_a_csv_name_taken_by_a_folder_is_refused_and_nothing_is_left(rec, tmp_path, taken, capsys):
    out = tmp_path / "out"
    (out / "csv" / taken).mkdir(parents=True)
    before = _tree(out)
    rc = launcher.main(["export", str(rec), "--csv", str(out / "csv"), "--png", str(out / "a.png"), "--view", "raster"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert f"csv/{taken} exists and is not a regular file" in err and "Traceback" not in err
    assert _tree(out) == before   # no staged .part folder, no a.png


def test_csv_files_that_exist_are_replaced(rec, tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "cpus.csv").write_text("old\n")
    assert launcher.main(["export", str(rec), "--csv", str(tmp_path / "csv"), "--view", "raster"]) == 0
    assert (tmp_path / "csv" / "cpus.csv").read_text() != "old\n"
