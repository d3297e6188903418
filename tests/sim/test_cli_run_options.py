"""`tickscope run` options out of range or empty: one line naming the option, exit 2, before simulating."""
import pytest

from tickscope.sim.cli import main
from tickscope.sim.simulation import Simulation


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the simulation starts: a bad option is refused before it."""
    def run(*a, **k):
        raise AssertionError("simulated before refusing a bad option")
    monkeypatch.setattr(Simulation, "run", run)


@pytest.mark.parametrize("value, msg", [
    ("9223372037s", "--late-threshold: 9223372037s is longer than 100000s"),
    ("100001s", "--late-threshold: 100001s is longer than 100000s"),
])
def test_a_late_threshold_beyond_the_longest_run_is_a_range_error(value, msg, no_run, capsys):
    # 9223372037s overflowed int64 in sim/clock_drift.py after the whole run: an OverflowError traceback
    rc = main(["run", "--preset", "bare-metal-lapic", "--until", "1ms", "--late-threshold", value])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and err.count("\n") == 1, err


def test_the_longest_late_threshold_is_taken(capsys):
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "1ms", "--late-threshold", "100000s", "--json"]) == 0
    assert '"until_ns": 1000000' in capsys.readouterr().out


@pytest.mark.parametrize("option", ["--until", "--late-threshold"])
def test_an_empty_duration_is_not_a_duration(option, no_run, capsys):
    # '' (an unset shell variable) silently meant the scenario's run.until / the default 100us;
    # timer-list --at '' was already refused the same way
    rc = main(["run", "--preset", "bare-metal-lapic", option, "", "--json"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert f"{option}: '' is not a duration" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("option", ["--until", "--late-threshold", "-o", "--csv"])
def test_an_empty_option_given_with_a_recording_is_refused_like_any_value(option, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--preset", "pit-only", "--until", "20ms", "--engine", "reference", "-o", "r.tickrec"]) == 0
    capsys.readouterr()
    assert main(["run", "r.tickrec", option, ""]) == 2
    err = capsys.readouterr().err
    assert f"{option} does not apply to a recording" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("blocker", ["cpus.csv", "events.csv"])
def test_a_csv_file_name_taken_by_a_folder_is_refused_before_the_run_and_nothing_is_written(
        blocker, tmp_path, monkeypatch, no_run, capsys):
    # the whole run went by, then "od/csv/cpus.csv: not a regular file", leaving od/rec.tickrec and events.csv
    monkeypatch.chdir(tmp_path)
    (tmp_path / "od" / "csv" / blocker).mkdir(parents=True)
    rc = main(["run", "--preset", "bare-metal-lapic", "--until", "200ms", "-o", "od/rec.tickrec", "--csv", "od/csv"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert f"--csv od/csv: od/csv/{blocker} exists and is not a regular file" in err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["od", "od/csv", f"od/csv/{blocker}"]


def test_csv_files_that_exist_are_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "cpus.csv").write_text("old\n")
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--json", "--csv", "csv"]) == 0
    assert (tmp_path / "csv" / "cpus.csv").read_text().startswith("cpu")
