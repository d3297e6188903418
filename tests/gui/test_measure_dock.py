"""The Measure dock at the window's default layout: every control shows without scrolling sideways."""
from PySide6 import QtCore, QtWidgets

from tickscope.gui.main_window import MainWindow
from tickscope.sim import scenario as scen


def test_measure_dock_shows_every_control_at_its_default_width(qtbot):
    # the dock is 330 px wide by default: the cursor buttons with "snap to ticks" and the Nth-tick row
    # (CPU, N, Mark, Clear) were ~410 px, so "snap to" and "Clear" were cut off behind a horizontal scroll bar
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="100ms"'])
    win = MainWindow(sc, engine="reference", persistent=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    win.run_to_end()
    win.docks["Measure"].raise_()
    win.measure.place_cursors_in_view()
    win.measure.mark_every_nth_tick(0, 10)
    QtWidgets.QApplication.processEvents()
    scroll = win.docks["Measure"].widget()
    assert isinstance(scroll, QtWidgets.QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible()
    viewport = scroll.viewport().rect()
    kinds = (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QSpinBox, QtWidgets.QLabel)
    controls = [w for w in scroll.widget().findChildren(QtWidgets.QWidget) if isinstance(w, kinds) and w.isVisible()]
    assert any(isinstance(w, QtWidgets.QCheckBox) for w in controls)
    for w in controls:
        rect = QtCore.QRect(w.mapTo(scroll.viewport(), QtCore.QPoint(0, 0)), w.size())
        assert rect.right() <= viewport.right(), (type(w).__name__, getattr(w, "text", lambda: "")(), rect, viewport)
        assert w.width() >= w.minimumSizeHint().width(), (type(w).__name__, getattr(w, "text", lambda: "")())
    win.close()
