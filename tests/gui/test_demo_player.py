"""Demos in the app (play, step, record a session) and headless to video; recording actions."""
import pytest

from tickscope.gui import demo_player, launcher, recording_actions
from tickscope.gui.main_window import MainWindow
from tickscope.gui.video import count_frames
from tickscope.sim import demo, scenario
from tickscope.sim.errors import InputError

SMALL = """title = "small"
[[step]]
action = "preset"
name = "bare-metal-lapic"
[[step]]
action = "run"
until = "30ms"
seconds = 0.5
[[step]]
action = "caption"
title = "Hello"
body = "A short demo"
seconds = 0.5
[[step]]
action = "markers"
markers = [{ at = "10ms", name = "here" }]
[[step]]
action = "zoom"
from = "5ms"
to = "20ms"
[[step]]
action = "pause"
seconds = 0.25
"""


@pytest.fixture
def window(qtbot):
    win = MainWindow(scenario.apply_sets(scenario.preset("bare-metal-lapic"), ['run.until="30ms"']),
                     engine="reference", persistent=False)
    qtbot.addWidget(win)
    win.show()
    errors = []
    win.show_error = errors.append
    win.errors = errors
    yield win
    win.controller.shutdown()


@pytest.mark.parametrize("suffix,fps", [(".mp4", 8), (".gif", 4)])
def test_demo_video_has_the_expected_frame_count(tmp_path, qapp, suffix, fps):
    script = tmp_path / "small.toml"
    script.write_text(SMALL)
    out = tmp_path / f"small{suffix}"
    assert launcher.main(["demo", str(script), "--video", str(out), "--fps", str(fps), "--size", "320x180"]) == 0
    assert count_frames(out) == demo.total_frames(demo.load(script), fps) == round(1.25 * fps)


def test_builtin_demo_renders_to_video(tmp_path, qapp):
    out = tmp_path / "r.gif"
    n = demo_player.render_demo_video(demo.load("reachout-2007"), out, 1, (320, 180))
    assert n == count_frames(out) == demo.total_frames(demo.load("reachout-2007"), 1)


def test_demo_cli_errors_exit_2_naming_the_step(tmp_path, capsys, qapp):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace('until = "30ms"', 'until = "thirty"'))
    assert launcher.main(["demo", str(bad), "--video", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err
    assert "step 2 (run): until" in err and err.count("\n") == 1
    assert launcher.main(["demo", "small", "--video", str(tmp_path / "x.mp4")]) == 2
    assert launcher.main(["demo", "reachout-2007", "--video", str(tmp_path / "x.mov")]) == 2
    assert not list(tmp_path.glob("x.*"))


def test_player_plays_steps_into_the_window(window, qtbot):
    player = window.demo_player
    player.load(demo.loads(SMALL))
    while player.step():
        pass
    assert player.step_index == 6
    assert window.results is not None and window.results.meta["until_ns"] == 30_000_000
    assert [m["name"] for m in window.measure.markers()] == ["here"]
    t0, t1 = window.raster.view_range()
    assert abs(t0 - 5_000_000) < 1_000_000 and abs(t1 - 20_000_000) < 1_000_000
    assert "Hello" in player.overlay.text() and player.overlay.isVisible()


def test_player_play_runs_to_the_end(window, qtbot, monkeypatch):
    monkeypatch.setattr(demo_player, "MIN_STEP_MS", 1)
    player = window.demo_player
    fast = SMALL.replace("seconds = 0.5", "seconds = 0.01").replace("seconds = 0.25", "seconds = 0.01")
    with qtbot.waitSignal(player.finished, timeout=10_000):
        player.play(demo.loads(fast))
    assert not player.playing


def test_session_recorder_saves_a_loadable_demo(window, tmp_path):
    rec = window.demo_recorder
    rec.start()
    window.model.set_scenario(scenario.apply_sets(window.model.scenario(), ["kernel.hz=1000"]))
    window.raster.set_view_range(1_000_000, 9_000_000)
    window.measure.set_markers([{"time_ns": 2_000_000, "name": "m"}])
    path = demo_player.save_recorded(rec, tmp_path / "session.toml")
    d = demo.load(path)
    actions = [s["action"] for s in d.steps]
    assert actions[0] == "preset" and "set" in actions and "zoom" in actions and actions[-1] == "markers"
    assert any(s.get("keys", {}).get("kernel.hz") == 1000 for s in d.steps)


def test_save_and_open_recording_restore_results_and_markers(window, tmp_path):
    window.run_to_end()
    window.measure.set_markers([{"time_ns": 3_000_000, "name": "kept"}])
    path = tmp_path / "s.tickrec"
    assert recording_actions.save_recording_to(window, path)
    n = len(window.results)
    window.measure.set_markers([])
    window.progress_bar.setValue(0)
    window.state_label.setText("idle")
    assert recording_actions.open_recording_from(window, path)
    assert len(window.results) == n
    assert [m["name"] for m in window.measure.markers()] == ["kept"]
    # a finished run from a file: the status bar says so, with its full length (it read "idle", bar empty)
    assert window.state_label.text() == "recording"
    assert window.progress_bar.value() == 1000 and " of " in window.time_label.text()


def test_a_recording_of_a_paused_run_opens_with_its_own_length_and_seed(window, tmp_path, qtbot):
    # saved paused at 10 ms of a 30 ms run, it opened with the run bar at 30ms: F5 ran something the file does
    # not hold (`tickscope run REC` replays it to 10 ms)
    window.set_seed(7)
    window.step_runs()                                    # one 10 ms step, then paused
    qtbot.waitUntil(lambda: window.controller.state() == "paused" and window.results.meta["now_ns"] >= 10_000_000,
                    timeout=30_000)
    path = tmp_path / "paused.tickrec"
    assert recording_actions.save_recording_to(window, path)
    window.model.load_preset("kvm")
    assert recording_actions.open_recording_from(window, path)
    sc = window.model.scenario()
    assert (sc.name, sc.run.until, sc.run.seed) == ("bare-metal-lapic", 10_000_000, 7)
    assert window.until_edit.text() == "10ms" and window.controller.until_ns() == 10_000_000
    assert window.time_label.text() == "10ms of 10ms"


def test_hostile_recording_gives_an_error_naming_the_problem(window, tmp_path):
    bad = tmp_path / "evil.tickrec"
    bad.write_bytes(b"not a zip at all")
    assert not recording_actions.open_recording_from(window, bad)
    assert window.errors and "evil.tickrec" in window.errors[-1]


def test_extensions_add_their_menu_actions(window):
    for name in ("save_recording", "open_recording", "export", "demo_play", "demo_step", "demo_record",
                 "demo_reachout-2007"):
        assert name in window.actions_by_name
        assert window.actions_by_name[name].shortcuts()


def test_export_from_the_window_writes_files(window, tmp_path):
    from tickscope.gui import export_dialog

    window.run_to_end()
    dlg = export_dialog.ExportDialog(window)
    dlg.base.setText(str(tmp_path / "fig"))
    dlg.size.setText("480x300")
    req = dlg.request()
    assert export_dialog.export_with_progress(window, req, dlg)
    assert {p.name for p in tmp_path.iterdir()} == {"fig.png", "fig.svg", "fig.pdf"}


def test_export_from_the_window_draws_the_raster_range_shown(window, tmp_path):
    # zoomed into 10-20 ms of the run, File > Export drew the whole run's raster
    from tickscope.gui import export_dialog

    window.run_to_end()
    assert export_dialog.ExportDialog(window).request().options.window is None   # fitted: the whole run
    window.raster.set_view_range(10_000_000, 20_000_000)
    dlg = export_dialog.ExportDialog(window)
    assert "as shown: 10.000 ms to 20.000 ms" in dlg.span.currentText()
    dlg.base.setText(str(tmp_path / "fig"))
    req = dlg.request()
    assert req.options.window == (10_000_000, 20_000_000)
    dlg.span.setCurrentIndex(0)
    assert dlg.request().options.window is None


def test_session_recorder_keeps_only_the_users_steps(window, tmp_path):
    # an edit recorded "zoom 0ns to 100ns" (the view fitting itself), and a run's first live slice a
    # "run until 4ms" before the real run
    rec = window.demo_recorder
    rec.start()
    window.model.set_scenario(scenario.apply_sets(window.model.scenario(), ["machine.cpus=2"]))
    window.run_to_end()
    window.raster.set_view_range(10_000_000, 20_000_000)
    d = demo.load(demo_player.save_recorded(rec, tmp_path / "session.toml"))
    steps = [s for s in d.steps if s["action"] != "pause"]
    # preset, the window's differences from it (run.until), the edit, the run, the user's zoom
    assert [s["action"] for s in steps] == ["preset", "set", "set", "run", "zoom"]
    assert steps[2]["keys"] == {"machine.cpus": 2} and steps[3]["until"] == 30_000_000
    assert (steps[4]["from"], steps[4]["to"]) == (10_000_000, 20_000_000)


def test_session_recorder_keeps_a_mouse_zoom_made_while_the_view_follows(window, tmp_path):
    # the ViewBox announces the new range before it says the change was the user's
    rec = window.demo_recorder
    window.run_to_end()
    rec.start()
    assert window.raster.following()
    vb = window.raster.plot_item.getViewBox()
    vb.scaleBy((0.5, 1.0))
    vb.sigRangeChangedManually.emit([True, False])
    t0, t1 = window.raster.view_range()
    d = demo.load(demo_player.save_recorded(rec, tmp_path / "session.toml"))
    zooms = [s for s in d.steps if s["action"] == "zoom"]
    assert len(zooms) == 1 and (zooms[0]["from"], zooms[0]["to"]) == (max(0, t0), t1)


def test_a_recording_opened_with_file_open_restores_its_markers(window, tmp_path):
    # File > Open (and `tickscope gui REC.tickrec`) showed the results without the markers saved with them;
    # only File > Open recording restored them
    window.run_to_end()
    window.measure.set_markers([{"time_ns": 3_000_000, "name": "kept"}])
    path = tmp_path / "s.tickrec"
    assert recording_actions.save_recording_to(window, path)
    window.measure.set_markers([])
    assert window.open_path(path)
    assert [m["name"] for m in window.measure.markers()] == ["kept"]


@pytest.mark.parametrize("answer", ["No", "Yes"])
def test_export_asks_before_replacing_files_and_names_the_size_field(window, tmp_path, answering, answer):
    # it overwrote existing files without a word; a bad size named the command line's --size in the dialog
    from tickscope.gui import export_dialog

    window.run_to_end()
    (tmp_path / "fig.png").write_bytes(b"mine")
    asked = answering(answer)
    dlg = export_dialog.ExportDialog(window)
    dlg.base.setText(str(tmp_path / "fig"))
    dlg.size.setText("480x300")
    dlg._export()
    assert asked == [f"Replace fig.png in {tmp_path}?"]
    assert ((tmp_path / "fig.png").read_bytes() == b"mine") == (answer == "No")
    assert (tmp_path / "fig.svg").exists() == (answer == "Yes")
    dlg.size.setText("huge")
    with pytest.raises(InputError, match=r"^Size \(WxH\): 'huge' is not WIDTHxHEIGHT"):
        dlg.request()


def test_demo_list_names_each_demo_once(capsys):
    # the titles start with the demo's name (the video's title card shows them): the list printed it twice
    assert launcher.main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.split()[0] + ":" not in line for line in lines)
    assert any(line.startswith("reachout-2007") and "a timer backend wired into the APIC code" in line for line in lines)
