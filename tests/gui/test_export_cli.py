"""``tickscope export``: every output parsed, bundle contents, exit codes, cancel leaves nothing."""
import json
import subprocess
import sys
import zipfile

import pytest

from tickscope.gui import export_dialog, launcher
from tickscope.gui import plot_export as pe
from tickscope.sim import record, scenario
from tickscope.sim.export import ExportCancelled


@pytest.fixture
def rec(short_results, tmp_path):
    sc = scenario.loads(short_results.meta["scenario"])
    actions = [{"t": 1.0, "action": "markers", "args": {"markers": [{"time_ns": 50_000_000, "name": "saved-marker"}]}}]
    return record.save_recording(tmp_path / "run.tickrec", sc, short_results, actions)


def _main(*argv):
    return launcher.main([str(a) for a in argv])


def test_every_format_is_written_and_parses(rec, tmp_path, qapp, capsys):
    out = tmp_path / "out"
    rc = _main("export", rec, "--png", out / "a.png", "--svg", out / "a.svg", "--pdf", out / "a.pdf",
               "--csv", out / "csv", "--trace", out / "t.json", "--view", "raster", "--size", "640x400",
               "--dpi", "192", "--marker", "20ms:cli-marker", "--title", "Review figure")
    assert rc == 0
    assert capsys.readouterr().out.count("\n") == 5
    png = (out / "a.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 1280
    svg = (out / "a.svg").read_text()
    assert "Review figure" in svg and "saved-marker" in svg and "cli-marker" in svg and "<text" in svg
    assert (out / "a.pdf").read_bytes().startswith(b"%PDF-")
    trace = json.loads((out / "t.json").read_text())
    assert any(e.get("ph") == "i" for e in trace["traceEvents"])
    assert (out / "csv" / "raster_marks.csv").read_text().startswith("time_ns,cpu,mark,mark_name\n")
    assert not list(out.rglob("*.part"))


@pytest.mark.parametrize("bundle", ["review.zip", "review"])
def test_review_bundle_holds_plots_csvs_scenario_and_summary(rec, tmp_path, qapp, bundle):
    target = tmp_path / bundle
    assert _main("export", rec, "--bundle", target, "--page", "slide-16x9") == 0
    if bundle.endswith(".zip"):
        with zipfile.ZipFile(target) as zf:
            names = set(zf.namelist())
            summary = zf.read("summary.md").decode()
    else:
        names = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
        summary = (target / "summary.md").read_text()
    for view in pe.VIEWS:
        assert {f"{view}.svg", f"{view}.png"} <= names
    assert {"scenario.toml", "summary.md", "figures.pdf", "csv/events.csv", "csv/drift.csv"} <= names
    block = summary.split("```text\n")[1].split("```")[0]
    assert block and max(len(line) for line in block.splitlines()) <= 72


def test_bad_input_is_one_line_and_exit_2(rec, tmp_path, qapp, capsys):
    cases = [
        ("export", rec, "--png", tmp_path / "a.jpg"),
        ("export", tmp_path / "missing.tickrec", "--png", tmp_path / "a.png"),
        ("export", rec),
        ("export", rec, "--png", tmp_path / "a.png", "--size", "12x"),
        ("export", rec, "--png", tmp_path / "a.png", "--dpi", "5"),
        ("export", rec, "--video", tmp_path / "a.avi"),
        ("export", rec, "--png", tmp_path / "a.png", "--marker", "later"),
    ]
    for argv in cases:
        capsys.readouterr()
        assert _main(*argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("tickscope: error:") and err.count("\n") == 1, err
    assert not list(tmp_path.glob("a.*"))


def test_hostile_recording_is_refused_naming_the_problem(tmp_path, qapp, capsys):
    bad = tmp_path / "bad.tickrec"
    bad.write_bytes(b"PK\x03\x04 truncated")
    assert _main("export", bad, "--png", tmp_path / "a.png") == 2
    assert "bad.tickrec" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()


def test_size_and_page_are_exclusive(rec, tmp_path):
    with pytest.raises(SystemExit) as info:
        _main("export", rec, "--png", tmp_path / "a.png", "--size", "640x400", "--page", "a4")
    assert info.value.code == 2


@pytest.mark.parametrize("stop_after", [0, 1, 5])
def test_cancel_or_ctrl_c_leaves_no_file(short_results, tmp_path, qapp, stop_after):
    out = tmp_path / "out"
    out.mkdir()
    req = export_dialog.ExportRequest(png=str(out / "a.png"), svg=str(out / "a.svg"), pdf=str(out / "a.pdf"),
                                      csv_dir=str(out / "csv"), bundle=str(out / "b.zip"), video=str(out / "v.gif"),
                                      fps=2, video_seconds=1.0, options=pe.PlotOptions(*pe.parse_size("320x200")))
    calls = []

    def cancel(done, total):
        calls.append(done)
        return len(calls) <= stop_after

    with pytest.raises(ExportCancelled):
        export_dialog.run_export(pe.PlotSource(short_results), req, cancel)
    assert list(out.iterdir()) == []

    def interrupt(done, total):
        if done >= 3:
            raise KeyboardInterrupt
        return True

    with pytest.raises(KeyboardInterrupt):
        export_dialog.run_export(pe.PlotSource(short_results), req, interrupt)
    assert list(out.iterdir()) == []


def test_export_video_has_the_expected_frames(short_results, tmp_path, qapp):
    from tickscope.gui.video import count_frames

    req = export_dialog.ExportRequest(video=str(tmp_path / "v.mp4"), view="raster", fps=4, video_seconds=1.5,
                                      options=pe.PlotOptions(*pe.parse_size("320x200")))
    export_dialog.run_export(pe.PlotSource(short_results), req)
    assert count_frames(tmp_path / "v.mp4") == 6


def test_cli_commands_without_qt_never_import_it():
    code = ("import sys, io, contextlib\nfrom tickscope.gui import launcher\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    assert launcher.main(['presets']) == 0\n"
            "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_marker_after_the_recorded_run_is_refused(rec, tmp_path, qapp, capsys):
    # the run is 100 ms long: a marker at 5 s was accepted and drawn nowhere
    assert _main("export", rec, "--png", tmp_path / "a.png", "--marker", "5s:later") == 2
    assert "'5s:later' is after the end of the recorded run (100ms)" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()
    assert _main("export", rec, "--png", tmp_path / "a.png", "--marker", "100ms:end") == 0


@pytest.mark.parametrize("flag, name", [("--png", "r.png"), ("--csv", "csv"), ("--bundle", "b.zip"),
                                        ("--bundle", "sub/b")])
def test_an_export_under_a_regular_file_names_the_file_in_the_way(tmp_path, rec, qapp, capsys, flag, name):
    # `export REC --png notes.txt/r.png` said "notes.txt/r.png: File exists", `--csv notes.txt/csv` said
    # "notes.txt: File exists": mkdir's EEXIST, not what was wrong
    (tmp_path / "notes.txt").write_text("a file\n")
    target = tmp_path / "notes.txt" / name
    before = sorted(p.name for p in tmp_path.iterdir())
    assert _main("export", rec, flag, target) == 2
    err = capsys.readouterr().err
    assert err == f"tickscope: error: {target}: {tmp_path / 'notes.txt'} is not a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("name", ["runs", "runs.tickrec"])
def test_export_of_a_directory_says_it_is_a_directory(tmp_path, capsys, name):
    # `tickscope export runs --png r.png` on a folder said "runs: no such recording" (it exists)
    (tmp_path / name).mkdir()
    assert _main("export", tmp_path / name, "--png", tmp_path / "r.png") == 2
    err = capsys.readouterr().err
    assert err == f"tickscope: error: {tmp_path / name}: is a directory, not a recording (a .tickrec file)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
