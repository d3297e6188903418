"""A scenario the schema accepts but the machine cannot boot (a broadcast device or clocksource it does not
register) is refused where it is typed, never reaches the run, and never stops the app from starting."""
import pytest

from tickscope.gui.main_window import MainWindow
from tickscope.gui.scenario_panel import ScenarioModel, ScenarioPanel
from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError

# bare-metal-hpet-c3 has an HPET, so the kernel registers no PIT clock event device to broadcast with
PIT_BROADCAST = 'machine.broadcast="pit"'


def _hpet_box(until="200ms"):
    return scen.apply_sets(scen.preset("bare-metal-hpet-c3"), [f'run.until="{until}"'])


def test_a_form_value_the_machine_cannot_boot_is_refused_inline(qtbot):
    model = ScenarioModel(_hpet_box())
    panel = ScenarioPanel(model)
    qtbot.addWidget(panel)
    ed = panel.editor("machine", "broadcast")
    ed.widget.setCurrentIndex(ed.widget.findData("pit"))
    ed.widget.activated.emit(ed.widget.currentIndex())
    assert model.scenario().machine.broadcast == "hpet"       # not applied
    assert "no such global clock event device" in ed.error.text() and not ed.error.isHidden()
    ed = panel.editor("kernel", "clocksource")
    ed.widget.setText("tsx")
    ed.widget.editingFinished.emit()
    assert model.scenario().kernel.clocksource == ""
    assert "'tsx' is not registered" in ed.error.text()
    assert ed.widget.text() == "tsx"                           # the user's text stays


def test_toml_the_machine_cannot_boot_is_refused_and_kept(qtbot):
    model = ScenarioModel(_hpet_box())
    panel = ScenarioPanel(model)
    qtbot.addWidget(panel)
    text = panel.toml.toPlainText().replace('broadcast = "hpet"', 'broadcast = "pit"')
    panel.toml.setPlainText(text)
    msg = panel.validate_toml()
    assert msg is not None and "no such global clock event device" in msg
    assert model.scenario().machine.broadcast == "hpet"
    assert panel.toml.toPlainText() == text
    assert panel.toml.error_line is not None and "broadcast" in text.splitlines()[panel.toml.error_line - 1]


def test_opening_a_file_the_machine_cannot_boot_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(scen.apply_sets(_hpet_box(), [PIT_BROADCAST]).to_toml())
    model = ScenarioModel(_hpet_box())
    with pytest.raises(InputError, match="bad.toml.*no such global clock event device"):
        model.open_file(path)
    assert model.scenario().machine.broadcast == "hpet" and model.path() is None


def test_a_window_on_a_scenario_that_cannot_boot_opens_empty_with_the_reason(qtbot):
    win = MainWindow(scen.apply_sets(_hpet_box(), [PIT_BROADCAST]), engine="reference", persistent=False)
    qtbot.addWidget(win)
    assert win.controller.state() == "error"
    assert win.raster.raster_data() is None
    assert "no such global clock event device" in win.statusBar().currentMessage()
    win.close()


def test_gui_command_line_refuses_a_scenario_that_cannot_boot(capsys, tmp_path):
    from tickscope.gui import app

    png = str(tmp_path / "x.png")
    for argv in (["--preset", "bare-metal-hpet-c3", "--set", PIT_BROADCAST, "--screenshot", png],
                 ["--preset", "bare-metal-hpet-c3", "--compare", "bare-metal-hpet-c3", "--compare-set", PIT_BROADCAST,
                  "--screenshot", png]):
        assert app.main(argv) == 2
        err = capsys.readouterr().err
        assert "no such global clock event device" in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_a_last_session_scenario_that_cannot_boot_is_not_reopened(monkeypatch):
    from tickscope.gui import app
    from tickscope.gui.theme import settings

    settings().setValue("last_scenario", scen.apply_sets(_hpet_box(), [PIT_BROADCAST]).to_toml())
    assert app._last_scenario() is None
    settings().setValue("last_scenario", _hpet_box().to_toml())
    assert app._last_scenario() == (_hpet_box(), _hpet_box().to_toml())
