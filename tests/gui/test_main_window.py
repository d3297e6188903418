"""Main window: every action has a shortcut and is in the palette; panels get the results."""
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
