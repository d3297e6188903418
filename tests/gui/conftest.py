import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    """Never read or write the user's tickscope settings."""
    monkeypatch.setenv("TICKSCOPE_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def _stop_threads_and_collect():
    """After each test: stop every run controller's threads, collect garbage in this thread.

    A window a test leaves behind must not be garbage-collected later with its worker QThread still
    running (Qt aborts) or from another thread (deadlock).
    """
    yield
    import gc

    from PySide6 import QtWidgets

    from tickscope.gui import run_controller

    run_controller.shutdown_all()
    app = QtWidgets.QApplication.instance()
    if app is not None:
        app.processEvents()
    gc.collect()


@pytest.fixture(scope="session")
def short_results():
    from tickscope.sim import scenario, simulation

    return simulation.simulate(scenario.preset("bare-metal-lapic"), engine="reference", until_ns=100_000_000)


@pytest.fixture
def label_rects():
    """``label_rects(axis)``: scene rectangles of the tick labels a pyqtgraph *axis* draws, by text."""
    def rects(axis):
        from PySide6.QtGui import QImage, QPainter

        image = QImage(4, 4, QImage.Format_ARGB32)
        painter = QPainter(image)
        try:
            specs = axis.generateDrawSpecs(painter)
        finally:
            painter.end()
        return {text: axis.mapRectToScene(rect) for rect, _, text in specs[2]}
    return rects



@pytest.fixture
def shown(qtbot):
    """``shown(widget, size=(1200, 500), results=None)``: *widget* registered with qtbot, sized, shown and, when
    *results* are given, fed them with ``set_results``."""
    def make(widget, size=(1200, 500), results=None):
        qtbot.addWidget(widget)
        widget.resize(*size)
        widget.show()
        if results is not None:
            widget.set_results(results)
        return widget
    return make


@pytest.fixture
def active_window(qtbot):
    """``active_window(scenario)``: a MainWindow (reference engine, no saved settings) shown and active, as window
    shortcuts need."""
    def make(scenario):
        from tickscope.gui.main_window import MainWindow

        win = MainWindow(scenario, engine="reference", persistent=False)
        qtbot.addWidget(win)
        with qtbot.waitActive(win):
            win.show()
            win.activateWindow()
        return win
    return make


@pytest.fixture
def answering(monkeypatch):
    """``answering(button)``: every QMessageBox.question is answered with the button named *button* ("Save",
    "Cancel", ...); returns the list of questions asked."""
    def answer(button: str) -> list:
        from PySide6 import QtWidgets

        asked = []
        monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                            lambda *a, **k: asked.append(a[2]) or getattr(QtWidgets.QMessageBox, button))
        return asked
    return answer
