"""Space is Run / pause's second shortcut, but a focused check box, button or combo box keeps it."""
import pytest
from PySide6 import QtCore

from tickscope.sim import scenario as scen


@pytest.fixture
def win(active_window):
    return active_window(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="50ms"']))


def _focus(qtbot, win, widget):
    widget.setFocus()
    qtbot.waitUntil(lambda: win.focusWidget() is widget)


def test_space_on_a_form_check_box_toggles_it_and_does_not_run(qtbot, win):
    box = win.scenario_panel.editor("machine", "arat").widget
    _focus(qtbot, win, box)
    qtbot.keyClick(box, QtCore.Qt.Key_Space)
    assert win.controller.state() == "idle"
    assert box.isChecked() and win.model.scenario().machine.arat is True
    win.close()


def test_space_on_a_combo_box_does_not_run(qtbot, win):
    combo = win.event_table.kind_box
    win.docks["Events"].raise_()
    _focus(qtbot, win, combo)
    qtbot.keyClick(combo, QtCore.Qt.Key_Space)
    assert win.controller.state() == "idle"
    combo.hidePopup()
    win.close()


def test_space_on_the_raster_still_runs(qtbot, win):
    _focus(qtbot, win, win.raster)
    qtbot.keyClick(win.raster, QtCore.Qt.Key_Space)
    assert win.controller.state() in ("running", "done")
    win.controller.wait(60)
    win.close()
