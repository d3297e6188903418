"""Main window: every action has a shortcut and is in the palette; panels get the results."""
import pytest

from tickscope.gui.main_window import MainWindow
from tickscope.gui.palette import action_label
from tickscope.sim import scenario as scen


def _window(qtbot):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["run.until=\"100ms\""])
    win = MainWindow(sc, engine="reference", persistent=False)
    qtbot.addWidget(win)
    win.show()
    return win


def test_every_action_has_a_shortcut_and_is_in_the_palette(qtbot):
    win = _window(qtbot)
    actions = win.all_actions()
    assert len(actions) >= 25
    assert [action_label(a) for a in actions if not a.shortcuts()] == []
    win.palette_dialog.open_palette()
    assert len(win.palette_dialog.visible_labels()) == len([a for a in actions if a.isEnabled()])
    win.palette_dialog.query.setText("zoom in")
    assert win.palette_dialog.visible_labels()[0].startswith("Zoom in")
    win.controller.shutdown()


def test_palette_runs_an_action_from_the_keyboard(qtbot):
    from PySide6 import QtCore

    win = _window(qtbot)
    win.palette_dialog.open_palette()
    qtbot.keyClicks(win.palette_dialog.query, "hardware lanes")
    qtbot.keyClick(win.palette_dialog.query, QtCore.Qt.Key_Return)
    assert win.raster.show_hardware()
    win.controller.shutdown()


def test_a_run_reaches_the_raster_and_the_panels(qtbot):
    win = _window(qtbot)
    win.run_to_end()
    data = win.raster.raster_data()
    assert data.end_ns == 100_000_000
    assert win.progress_bar.value() == 1000
    win.jump_to(50_000_000, 1)
    t0, t1 = win.raster.view_range()
    assert t0 < 50_000_000 < t1
    win.close()


def test_editing_the_scenario_resets_the_run(qtbot):
    win = _window(qtbot)
    win.scenario_panel.editor("machine", "cpus").widget.setText("2")
    win.scenario_panel.editor("machine", "cpus").widget.editingFinished.emit()
    assert win.raster.raster_data().nlanes == 2
    win.actions_by_name["undo"].trigger()
    assert win.raster.raster_data().nlanes == 4
    win.close()


def test_extension_and_menu_actions_are_in_the_palette_with_shortcuts(qtbot):
    from PySide6 import QtGui

    win = _window(qtbot)
    win.add_action("ext_test", "Extension test action", "Ctrl+Alt+J", lambda: None, menu="&Tools")
    stray = QtGui.QAction("Stray menu entry", win)
    stray.setShortcut("Ctrl+Alt+K")
    win.menu("&Tools").addAction(stray)
    labels = [action_label(a) for a in win.all_actions()]
    assert "Extension test action" in labels and "Stray menu entry" in labels
    assert [action_label(a) for a in win.all_actions() if not a.shortcuts()] == []
    win.palette_dialog.open_palette()
    win.palette_dialog.query.setText("stray menu")
    assert win.palette_dialog.visible_labels()[0].startswith("Stray menu entry")
    win.controller.shutdown()


def test_every_menu_command_is_reachable_from_the_keyboard(qtbot):
    from tickscope.gui.actions import menu_actions

    win = _window(qtbot)
    in_palette = set(win.all_actions())
    for act in menu_actions(win.menuBar(), skip=(win.recent_menu,)):
        assert act in in_palette, act.text()
        assert act.shortcuts(), act.text()
    win.controller.shutdown()


def test_f6_cycles_the_focus_through_the_panels(qtbot):
    win = _window(qtbot)
    targets = win.focus_targets()
    assert win.raster in targets and win.histogram in targets and win.scenario_panel in targets
    seen = []
    for _ in range(len(targets)):
        got = win.cycle_focus(1)
        seen.append(got)
        focus = win.focusWidget()
        assert focus is not None and (focus is got or got.isAncestorOf(focus))
    assert set(seen) == set(targets)
    assert win.cycle_focus(-1) is seen[-2]
    win.controller.shutdown()


def test_markers_are_saved_with_the_session(qtbot):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["run.until=\"100ms\""])
    win = MainWindow(sc, engine="reference", persistent=True)
    qtbot.addWidget(win)
    win.measure.add_marker(20_000_000, "spike", "look here")
    win.close()
    again = MainWindow(sc, engine="reference", persistent=True)
    qtbot.addWidget(again)
    assert again.measure.markers() == [{"time_ns": 20_000_000, "name": "spike", "note": "look here"}]
    again.model.load_preset("bare-metal-hpet-c3")
    assert again.measure.markers() == []
    again.close()


def test_panels_draw_the_aggregates_computed_in_the_engine_thread(qtbot):
    from tickscope.sim import analysis

    win = _window(qtbot)
    win.run_to_end()
    res = win.results
    snap = win.controller.last_snapshot
    assert snap["panels"] is not None and snap["results"] is res
    assert win.histogram.samples()["values"] is snap["panels"].samples["interval"]["values"]
    assert win.histogram.histogram()["counts"].sum() + win.histogram.histogram()["underflow"] \
        + win.histogram.histogram()["overflow"] == analysis.tick_intervals(res).size
    # the Interrupt rate tab, behind the Histograms, draws once it is brought to the front
    drawn = []
    monkey = win.rates.set_results
    win.rates.set_results = lambda *a, **k: (drawn.append(a[0]), monkey(*a, **k))
    win.docks["Interrupt rate"].raise_()
    qtbot.waitUntil(lambda: drawn == [res])
    ref = analysis.interrupt_rate(res, win.rates.effective_bin_ns())
    assert (win.rates.rate()["rate_hz"] == ref["rate_hz"]).all()
    win.close()


def test_a_stopped_run_draws_the_panels_in_view_and_the_others_once_shown(qtbot):
    """Stopping a long run drew every docked panel, the tabs behind the one in view too (100-300 ms)."""
    win = _window(qtbot)
    fed = {name: [] for name in ("Histograms", "Drift", "Idle residency")}
    panels = {"Histograms": win.histogram, "Drift": win.drift, "Idle residency": win.residency}
    for name, panel in panels.items():
        orig = panel.set_results
        panel.set_results = lambda *a, _orig=orig, _name=name, **k: (fed[_name].append(a[0]), _orig(*a, **k))
    win.docks["Histograms"].raise_()
    on_screen = win.panel_refresh.on_screen   # a tab behind another is "visible" with an empty visible region
    qtbot.waitUntil(lambda: on_screen(win.histogram) and not on_screen(win.drift))
    win.run_to_end()
    res = win.results
    assert fed["Histograms"][-1] is res
    assert res not in fed["Drift"] and res not in fed["Idle residency"]
    win.docks["Idle residency"].raise_()
    qtbot.waitUntil(lambda: bool(fed["Idle residency"]) and fed["Idle residency"][-1] is res)
    assert res not in fed["Drift"]
    win.docks["Idle residency"].raise_()   # shown again: not drawn twice
    qtbot.wait(20)
    assert sum(r is res for r in fed["Idle residency"]) == 1
    win.close()


def test_compare_runs_are_named_by_their_differing_settings_in_toml():
    from tickscope.gui.main_window import _differences

    a = scen.apply_sets(scen.preset("bare-metal-lapic"), ["machine.arat=false", 'run.until="3s"'])
    b = scen.preset("bare-metal-lapic")
    assert _differences(a, b) == 'machine.arat=false, run.until="3s"'
    assert _differences(b, a) == 'machine.arat=true, run.until="2s"'


def test_the_speed_readout_picks_a_unit_that_suits_the_rate(qtbot):
    from tickscope.gui.actions import format_event_rate

    for eps, text in ((0, "0 events/s"), (850, "850 events/s"), (12_400, "12.4 k events/s"),
                      (999_960, "1.00 M events/s"), (2_290_000, "2.29 M events/s"), (41e6, "41.0 M events/s")):
        assert format_event_rate(eps) == text
    win = _window(qtbot)
    win.controller.speed.emit(12_345.0)    # a small run: it read "0.01 M events/s"
    assert win.speed_label.text() == "12.3 k events/s"
    for widget in (win.speed_label, win.engine_box, win.seed_box, win.until_edit):
        assert widget.toolTip(), widget
    win.controller.shutdown()


def test_every_control_says_what_it_does(qtbot):
    # buttons, boxes and fields of every panel: a tooltip, or for a text field a placeholder
    from PySide6 import QtWidgets

    win = _window(qtbot)
    kinds = (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox)
    silent = []
    for w in win.findChildren(QtWidgets.QWidget):
        if not isinstance(w, kinds) or w.objectName().startswith("qt_") or isinstance(w, QtWidgets.QToolButton):
            continue   # Qt's own parts (dock buttons, a spin box's line edit); tool buttons show their action's tip
        if not (w.toolTip() or getattr(w, "placeholderText", lambda: "")()):
            silent.append(f"{type(w).__name__} {getattr(w, 'text', getattr(w, 'currentText', str))()!r}")
    assert silent == []
    win.controller.shutdown()


def test_a_theme_given_at_start_keeps_the_panel_layout(qtbot):
    # `gui --theme dark` used to switch the theme after the docks were sized: the style change re-laid them
    # out and the bottom panels shrank from ~230 to ~145 px in a 1600x1000 window
    heights = {}
    for theme in (None, "dark", "light"):
        win = MainWindow(scen.preset("bare-metal-lapic"), engine="reference", persistent=False, theme=theme)
        qtbot.addWidget(win)
        win.resize(1600, 1000)
        win.show()
        qtbot.waitExposed(win)
        heights[theme] = win.docks["Histograms"].height()
        assert win.theme.is_dark() == (theme == "dark")
    assert heights[None] > 200 and heights["dark"] == heights[None] == heights["light"], heights


def test_window_shrinks_to_800_by_600(qtbot):
    # the Measure panel, the raster's one-line legend and the graph panel's control row held the window at
    # 1080 x 687 px or more: it could not be tiled on half a 1920 px screen
    win = _window(qtbot)
    win.actions_by_name["graph_show"].trigger()
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.width() <= 800 and win.height() <= 600, timeout=2000)
    hint = win.minimumSizeHint()
    assert hint.width() <= 800 and hint.height() <= 600
    win.close()


def test_the_seed_field_shows_and_keeps_a_63_bit_seed(qtbot):
    # a QSpinBox stopped at 2^31-1: it showed 2147483647 for seed 99999999999, and leaving it (no edit)
    # set that seed and threw the finished run away
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="20ms"', "run.seed=99999999999"])
    win = MainWindow(sc, engine="reference", persistent=False)
    qtbot.addWidget(win)
    win.show()
    assert win.seed_box.text() == "99999999999"
    win.run_to_end()
    n = len(win.results)
    win.seed_box.editingFinished.emit()
    assert win.controller.seed() == 99999999999 and len(win.results) == n
    win.seed_box.setText("5")
    win.seed_box.editingFinished.emit()
    assert win.controller.seed() == 5
    win.model.load_preset("pit-only")   # the box shows the seed runs use
    assert win.seed_box.text() == "5"
    win.close()


def test_recordings_saved_or_opened_are_listed_in_open_recent(qtbot, tmp_path):
    from tickscope.gui.recording_actions import open_recording_from, save_recording_to

    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["run.until=\"20ms\""])
    win = MainWindow(sc, engine="reference", persistent=True)
    qtbot.addWidget(win)
    win.run_to_end()
    saved = tmp_path / "a.tickrec"
    assert save_recording_to(win, saved)
    assert win.session.recent()[0] == str(saved)             # File > Save recording: listed
    other = tmp_path / "b.tickrec"
    saved.rename(other)
    assert open_recording_from(win, other)
    assert win.session.recent()[0] == str(other)             # File > Open recording: listed too (it was not)
    assert [a.text() for a in win.recent_menu.actions()][0] == str(other)
    # a recent file removed since: an error message, not an exception out of the menu action
    other.unlink()
    errors = []
    win.show_error = errors.append
    assert win.open_path(str(other)) is False and errors and str(other) in errors[0]
    win.controller.shutdown()
    win.close()


def test_picking_the_engine_in_use_again_keeps_the_run(qtbot):
    win = _window(qtbot)
    win.run_to_end()
    res = win.results
    assert res is not None and len(res) > 0
    box = win.engine_box
    box.activated.emit(box.currentIndex())                    # the same engine picked again: nothing to redo
    assert win.results is res and win.controller.state() == "done"
    box.setCurrentText("cython" if box.currentText() != "cython" else "reference")
    box.activated.emit(box.currentIndex())                    # another engine: the run starts over
    assert win.controller.state() != "done"
    win.controller.shutdown()
    win.close()


def _dirty_file_window(qtbot, tmp_path):
    path = tmp_path / "desk.toml"
    path.write_text("# my notes\n" + scen.preset("pit-only").to_toml())
    win = MainWindow(scen.load(path), engine="reference", persistent=True)
    qtbot.addWidget(win)
    win.show()
    win.model.open_file(path)
    win.model.propose_value("kernel", "hz", "250")
    return win, path


@pytest.mark.parametrize("answer", ["Cancel", "Discard", "Save"])
def test_closing_with_unsaved_changes_to_a_file_asks(qtbot, tmp_path, answering, answer):
    win, path = _dirty_file_window(qtbot, tmp_path)
    asked = answering(answer)
    closed = win.close()
    assert len(asked) == 1 and "desk.toml has unsaved changes" in asked[0]
    assert closed == (answer != "Cancel") and win.isVisible() == (answer == "Cancel")
    saved = scen.load(path)
    assert saved.kernel.hz == (250 if answer == "Save" else 100)
    if answer == "Save":
        assert path.read_text().startswith("# my notes\n")   # saved with its comment
    win.close_without_asking()


def test_ctrl_c_in_the_terminal_closes_the_window_without_asking_and_exits_130(qtbot, tmp_path, monkeypatch):
    import os
    import signal

    from PySide6 import QtWidgets

    from tickscope.gui import app as gui_app

    win, _ = _dirty_file_window(qtbot, tmp_path)
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: pytest.fail("asked on Ctrl+C"))
    qapp = QtWidgets.QApplication.instance()
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        caught = gui_app._quit_on_signals(qapp, win)
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not win.isVisible(), timeout=5000)
        assert caught == [signal.SIGINT]
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def test_before_a_run_the_raster_spans_the_run_length_and_says_how_to_run(qtbot):
    win = _window(qtbot)
    assert win.raster.view_range() == (0, 100_000_000)   # was 0..100 ns: an axis that read as broken
    assert win.raster.empty_hint.isVisible() and "F5" in win.raster.empty_hint.toPlainText()
    win.model.propose_value("run", "until", '"3s"')        # a new run length moves the empty window with it
    assert win.raster.view_range() == (0, 3_000_000_000)
    win.run_to_end(50_000_000)
    assert not win.raster.empty_hint.isVisible() and win.raster.view_range()[1] == 50_000_000
    win.close()


def test_the_bottom_panels_can_take_most_of_the_window_and_give_it_back(qtbot):
    win = _window(qtbot)
    win.resize(1400, 900)
    qtbot.waitExposed(win)
    dock = win.docks["Histograms"]
    before = dock.height()
    win.actions_by_name["enlarge_panels"].trigger()
    qtbot.waitUntil(lambda: dock.height() > 0.6 * win.height(), timeout=3000)
    assert win.centralWidget().height() < before
    win.actions_by_name["enlarge_panels"].trigger()
    qtbot.waitUntil(lambda: abs(dock.height() - before) <= 2, timeout=3000)
    win.close()


def test_a_panel_shortcut_brings_a_panel_in_a_tab_behind_another_to_the_front(qtbot, active_window):
    # Ctrl+4 "Show Drift panel" was the dock's toggle: with Drift in a tab behind the Histograms it closed the
    # panel, and pressed again brought it back still behind, so the shortcut never showed it
    from PySide6 import QtCore

    win = active_window(scen.apply_sets(scen.preset("bare-metal-lapic"), ["run.until=\"100ms\""]))
    drift, hist = win.docks["Drift"], win.docks["Histograms"]
    qtbot.waitUntil(lambda: not hist.visibleRegion().isEmpty())
    assert drift.visibleRegion().isEmpty()
    qtbot.keyClick(win, QtCore.Qt.Key_4, QtCore.Qt.ControlModifier)
    qtbot.waitUntil(lambda: not drift.visibleRegion().isEmpty())
    assert not drift.isHidden() and win.actions_by_name["dock_Drift"].isChecked()
    qtbot.keyClick(win, QtCore.Qt.Key_4, QtCore.Qt.ControlModifier)   # in front: closes it
    assert drift.isHidden() and not win.actions_by_name["dock_Drift"].isChecked()
    qtbot.keyClick(win, QtCore.Qt.Key_4, QtCore.Qt.ControlModifier)   # closed: shows it
    qtbot.waitUntil(lambda: not drift.visibleRegion().isEmpty())
    drift.close()   # its close button: the action follows
    assert not win.actions_by_name["dock_Drift"].isChecked()
    win.close()


def test_save_refuses_while_the_toml_tab_holds_text_that_was_not_applied(qtbot, tmp_path):
    # Save wrote the scenario without the refused text and reported success: the title went clean, closing
    # did not ask, and what was typed in the TOML tab (a comment, a half-typed key) was lost
    path = tmp_path / "k.toml"
    path.write_text(scen.preset_with_text("kvm")[1])
    win = MainWindow(scen.preset("kvm"), engine="reference", persistent=False)
    qtbot.addWidget(win)
    messages = []
    win.statusBar().messageChanged.connect(messages.append)
    assert win.open_path(path)
    before = path.read_text()
    panel = win.scenario_panel
    panel.toml.setPlainText(win.model.text().replace("cpus = 4", "cpus = 8\n# why 8\nhz = "))
    assert win.save() is False and path.read_text() == before   # checked at once, not 250 ms later
    assert "not saved" in messages[-1] and "not applied" in messages[-1] and "line 8" in messages[-1]
    win.persistent = True   # the close question, answered Cancel
    from unittest import mock

    from PySide6 import QtWidgets

    with mock.patch.object(QtWidgets.QMessageBox, "question", return_value=QtWidgets.QMessageBox.Cancel) as ask:
        assert win._may_close() is False and ask.called
    win.persistent = False
    panel.revert_toml()
    assert win.save() is True and path.read_text() == before
    win.close()


def test_the_run_until_field_shows_the_length_the_next_run_has(qtbot):
    # after Run until 20ms, loading a preset showed the preset's "2s" in the field while F5 ran to 20 ms, and a
    # run.until typed in the form was ignored
    win = _window(qtbot)
    win.run_until(20_000_000)
    win.controller.wait(60)
    assert win.model.propose_value("machine", "cpus", "2") is None   # run.until unchanged: Run until stays
    assert win.until_edit.text() == "20ms" and win.controller.until_ns() == 20_000_000
    win.model.load_preset("kvm")   # another run.until: the preset's length
    assert win.until_edit.text() == scen.format_duration(win.controller.until_ns()) == "2s"
    win.run_until(20_000_000)
    win.controller.wait(60)
    assert win.model.propose_value("run", "until", "30ms") is None
    assert win.until_edit.text() == "30ms" and win.controller.until_ns() == 30_000_000
    win.close()


@pytest.mark.parametrize("answer", ["Cancel", "Discard", "Save"])
def test_a_preset_over_a_file_with_unsaved_edits_asks_first(qtbot, tmp_path, answering, answer):
    win, path = _dirty_file_window(qtbot, tmp_path)
    asked = answering(answer)
    panel = win.scenario_panel
    panel._on_preset(panel.presets.findData("kvm"))
    assert asked == ["desk.toml has unsaved changes. Save them before loading preset kvm?"]
    assert (win.model.scenario().name == "kvm") == (answer != "Cancel")
    assert win.model.path() == (path if answer == "Cancel" else None)
    assert scen.load(path).kernel.hz == (250 if answer == "Save" else 100)
    win.close_without_asking()


def test_the_status_always_says_how_far_of_how_long(qtbot):
    # a run paused between microseconds showed "874.101 ms" alone, a round one "50ms of 100ms"
    win = _window(qtbot)
    win._on_progress(874_101_234, 10_000_000_000)
    assert win.time_label.text() == "874.101 ms of 10s"
    win._on_progress(50_000_000, 100_000_000)
    assert win.time_label.text() == "50ms of 100ms"
    win.close()


def test_hardware_lanes_on_a_finished_run_rebuild_only_the_raster(qtbot, monkeypatch):
    # Ctrl+H republished the whole stopped run: the summary, every panel's aggregates, /proc files, and the raster
    # twice (once without the ticks' judged outcomes), in the window's thread: ~1 s on many-cores (10 s, 256 CPUs)
    from tickscope.gui import run_worker
    from tickscope.sim import raster

    win = _window(qtbot)
    win.run_to_end()
    results = win.controller.last_snapshot["results"]
    calls = {"prepare": 0, "build": 0, "judged": 0}
    real_prepare, real_build = run_worker.prepare, raster.build

    def prepare(*a, **k):
        calls["prepare"] += 1
        return real_prepare(*a, **k)

    def build(*a, **k):
        calls["build"] += 1
        calls["judged"] += k.get("outcomes") is not None
        return real_build(*a, **k)

    monkeypatch.setattr(run_worker, "prepare", prepare)
    monkeypatch.setattr(raster, "build", build)
    win.actions_by_name["hardware"].setChecked(True)
    assert calls == {"prepare": 0, "build": 1, "judged": 1}
    data = win.raster.raster_data()
    assert data.hardware and data.nlanes > data.ncpu_lanes and win.raster.results() is results
    assert win.controller.last_snapshot["raster"] is data   # what a later redraw of the run's snapshot shows
    win.actions_by_name["hardware"].setChecked(False)
    assert not win.raster.raster_data().hardware and win.raster.raster_data().nlanes == data.ncpu_lanes
    win.controller.shutdown()


def test_bring_to_front_raises_a_panel_or_tab_by_its_name(qtbot):
    """`tickscope gui --show NAME`: a screenshot of a panel behind the Histograms tab needed a script."""
    win = _window(qtbot)
    on_screen = win.panel_refresh.on_screen
    qtbot.waitUntil(lambda: on_screen(win.histogram))
    assert win.bring_to_front("idle-residency") is None
    qtbot.waitUntil(lambda: on_screen(win.residency) and not on_screen(win.histogram))
    assert win.bring_to_front("Proc_Files") is None
    qtbot.waitUntil(lambda: on_screen(win.proc_view))
    win.docks["Drift"].close()
    assert win.bring_to_front("drift") is None   # a closed dock is shown again
    qtbot.waitUntil(lambda: on_screen(win.drift))
    assert win.bring_to_front("ticks") is None and win.central_tabs.currentWidget() is win.raster
    # the Compare A/B tab is there without a run B too: before, --show compare was refused outside compare mode
    assert win.bring_to_front("compare") is None and win.central_tabs.currentWidget() is win.compare_view
    win.close()
