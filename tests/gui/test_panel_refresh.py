"""The panel refresh policy: every panel when a run stops, one visible panel per turn while it runs."""
from PySide6.QtWidgets import QWidget

from tickscope.gui import panel_refresh
from tickscope.gui.panel_refresh import PanelRefresh


class _Panel(QWidget):
    def __init__(self):
        super().__init__()
        self.got = []

    def set_results(self, results, summary=None):
        self.got.append(results)


def _panels(qtbot, n):
    out = [_Panel() for _ in range(n)]
    for p in out:
        qtbot.addWidget(p)
    return out


def test_a_stopped_run_reaches_every_panel_and_the_measure_tools(qtbot):
    measure, *panels = _panels(qtbot, 3)
    PanelRefresh(measure, panels).set_results("r1", {}, running=False)
    assert measure.got == ["r1"] and all(p.got == ["r1"] for p in panels)


def test_a_running_run_draws_one_shown_panel_per_turn_and_a_hidden_one_when_it_is_shown(qtbot, monkeypatch):
    monkeypatch.setattr(panel_refresh, "PANEL_UPDATE_EVERY_S", 0.0)   # every snapshot is a turn
    monkeypatch.setattr(panel_refresh, "PANEL_COST_FACTOR", 0)
    measure, shown, hidden = _panels(qtbot, 3)
    shown.show()
    refresh = PanelRefresh(measure, [shown, hidden])
    for i in range(4):
        refresh.set_results(f"r{i}", {}, running=True)
    assert len(measure.got) + len(shown.got) == 4 and shown.got and measure.got   # round robin over the shown
    assert hidden.got == []
    refresh.on_visibility_changed(hidden, True)
    assert hidden.got == ["r3"]
    refresh.on_visibility_changed(hidden, True)     # drawn once: no longer stale
    assert hidden.got == ["r3"]
