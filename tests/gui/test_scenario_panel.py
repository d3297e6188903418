"""Scenario panel: model -> form, form/TOML -> model, inline errors, undo/redo, files."""
from tickscope.gui.scenario_panel import ScenarioModel, ScenarioPanel
from tickscope.sim import scenario as scen


def _panel(qtbot):
    model = ScenarioModel(scen.preset("bare-metal-lapic"))
    panel = ScenarioPanel(model)
    qtbot.addWidget(panel)
    return model, panel


def test_changing_the_model_updates_the_form_and_toml(qtbot):
    model, panel = _panel(qtbot)
    model.set_scenario(scen.apply_sets(model.scenario(), ["machine.cpus=8", "run.until=\"250ms\""]))
    assert panel.editor("machine", "cpus").widget.text() == "8"
    assert panel.editor("run", "until").widget.text() == "250ms"
    assert "cpus = 8" in panel.toml.toPlainText()


def test_out_of_range_form_value_is_shown_inline_and_not_applied(qtbot):
    model, panel = _panel(qtbot)
    ed = panel.editor("machine", "cpus")
    ed.widget.setText("3000")
    ed.widget.editingFinished.emit()
    assert model.scenario().machine.cpus == 4
    assert "out of range (allowed 1..1024)" in ed.error.text()
    ed.widget.setText("2")
    ed.widget.editingFinished.emit()
    assert model.scenario().machine.cpus == 2 and ed.error.isHidden()


def test_undo_redo(qtbot):
    model, panel = _panel(qtbot)
    panel.editor("kernel", "highres").widget.setChecked(False)
    assert model.scenario().kernel.highres is False
    model.undo_stack.undo()
    assert model.scenario().kernel.highres is True
    assert panel.editor("kernel", "highres").widget.isChecked()
    model.undo_stack.redo()
    assert model.scenario().kernel.highres is False


def test_toml_errors_point_at_the_line_and_never_raise(qtbot):
    model, panel = _panel(qtbot)
    panel.toml.setPlainText("schema = 1\nname = \n")
    msg = panel.validate_toml()
    assert "line 2" in msg and panel.toml.error_line == 2
    text = model.scenario().to_toml().replace("cpus = 4", "cpus = 3000")
    panel.toml.setPlainText(text)
    assert "out of range" in panel.validate_toml()
    assert panel.toml.error_line == text.splitlines().index("cpus = 3000") + 1
    panel.toml.setPlainText(text.replace("cpus = 3000", "cpus = 6"))
    assert panel.validate_toml() is None and model.scenario().machine.cpus == 6


def test_presets_and_atomic_save_and_open(qtbot, tmp_path):
    model, panel = _panel(qtbot)
    model.load_preset("pit-only")
    assert model.scenario().name == "pit-only"
    path = model.save(tmp_path / "a.toml")
    assert scen.load(path) == model.scenario() and model.undo_stack.isClean()
    model.load_preset("bare-metal-lapic")
    model.open_file(path)
    assert model.scenario().name == "pit-only" and model.path() == path


def test_an_optional_key_shows_empty_when_not_given_and_clearing_it_unsets_it(qtbot):
    model, panel = _panel(qtbot)
    ed = panel.editor("workload", "busy_fraction")
    assert model.scenario().workload.busy_fraction is None
    assert ed.widget.text() == "" and ed.widget.placeholderText().startswith("not set")
    assert panel.notes.isHidden()
    # the default scenario is busy: a busy share is taken, and the form says that no CPU reads it
    ed.widget.setText("0.25")
    ed.widget.editingFinished.emit()
    assert model.scenario().workload.busy_fraction == 0.25 and ed.error.isHidden()
    assert not panel.notes.isHidden()
    assert panel.notes.text() == ('No effect: workload.busy_fraction: read by mixed CPUs only, and no CPU is mixed '
                                  '(workload.kind = "busy")')
    assert model.propose_value("workload", "kind", "mixed") is None
    assert panel.notes.isHidden()
    ed.widget.setText("")
    ed.widget.editingFinished.emit()
    ed.widget.setText("0.25")
    ed.widget.editingFinished.emit()
    assert model.scenario().workload.busy_fraction == 0.25 and ed.widget.text() == "0.25"
    ed.widget.setText("")
    ed.widget.editingFinished.emit()
    assert model.scenario().workload.busy_fraction is None and ed.error.isHidden()
    model.undo_stack.undo()
    assert model.scenario().workload.busy_fraction == 0.25


def test_a_refused_form_value_stays_on_show_while_other_keys_change(qtbot):
    # cpus = 4000 was refused; changing hz put "4" back in the field and dropped the error: the typed value was lost
    model, panel = _panel(qtbot)
    cpus = panel.editor("machine", "cpus")
    cpus.widget.setText("4000")
    cpus.widget.editingFinished.emit()
    assert model.scenario().machine.cpus == 4 and cpus.has_error()
    hz = panel.editor("kernel", "hz")
    hz.widget.setCurrentIndex(hz.widget.findData(1000))
    hz.widget.activated.emit(hz.widget.currentIndex())
    assert model.scenario().kernel.hz == 1000
    assert cpus.widget.text() == "4000" and cpus.has_error() and "out of range" in cpus.error.text()
    model.load_preset("many-cores")           # the key itself changes underneath: the scenario's value is shown
    assert cpus.widget.text() == "256" and not cpus.has_error()


def test_refused_toml_text_is_kept_when_the_form_changes_and_revert_drops_it(qtbot):
    model, panel = _panel(qtbot)
    text = panel.toml.toPlainText().replace("[machine]", "[machine]\nbogus_key = 1  # my note")
    panel.toml.setPlainText(text)
    assert panel.validate_toml() is not None and not panel.toml_revert.isHidden()
    panel.editor("kernel", "highres").widget.setChecked(False)   # a form edit while the TOML text is refused
    assert model.scenario().kernel.highres is False
    assert panel.toml.toPlainText() == text                       # the user's text, comment and all, is still there
    assert "not applied" in panel.toml_status.text()
    panel.toml_revert.click()
    assert "bogus_key" not in panel.toml.toPlainText() and "highres = false" in panel.toml.toPlainText()
    assert panel.toml_status.text() == "valid" and panel.toml_revert.isHidden()


def test_a_duration_row_names_the_units_it_takes_not_an_example_magnitude(qtbot):
    # "(e.g. 250ms)" stood beside irq_latency = 1us and tsc_skew = 0ns
    from PySide6 import QtWidgets

    _model, panel = _panel(qtbot)
    row = panel.editor("machine", "irq_latency").widget.parentWidget()
    hints = [w.text() for w in row.findChildren(QtWidgets.QLabel)]
    assert hints == ["s / ms / us / ns"]


COMMENTED = '''# notes for the design review
schema = 1
name = "desk"

[machine]
cpus = 4  # four cores
irq_latency = "1000us"

[kernel]
hz = 250
'''


def test_a_file_edited_in_the_form_and_saved_keeps_its_comments_and_undo_restores_the_text(qtbot, tmp_path):
    path = tmp_path / "desk.toml"
    path.write_text(COMMENTED)
    model, panel = _panel(qtbot)
    model.open_file(path)
    assert panel.toml.toPlainText() == COMMENTED   # the file as written, not a rendering of its data
    ed = panel.editor("machine", "cpus")
    ed.widget.setText("8")
    ed.widget.editingFinished.emit()
    model.save()
    saved = path.read_text()
    assert "# notes for the design review" in saved and "cpus = 8  # four cores" in saved
    assert 'irq_latency = "1000us"' in saved and scen.load(path).machine.cpus == 8
    assert panel.toml.toPlainText() == saved
    model.undo_stack.undo()
    assert panel.toml.toPlainText() == COMMENTED and model.scenario().machine.cpus == 4


def test_a_comment_typed_in_the_toml_tab_is_saved_and_undoable(qtbot, tmp_path):
    model, panel = _panel(qtbot)
    before = panel.toml.toPlainText()
    panel.toml.setPlainText("# why this machine\n" + before)
    assert panel.validate_toml() is None
    path = model.save(tmp_path / "a.toml")
    assert path.read_text().startswith("# why this machine\n")
    model.undo_stack.undo()
    assert panel.toml.toPlainText() == before


def test_a_preset_shows_its_shipped_text(qtbot):
    model, panel = _panel(qtbot)
    model.load_preset("laptop-deep-idle")
    assert panel.toml.toPlainText() == scen.preset_text("laptop-deep-idle")


def test_the_app_started_on_a_file_saves_back_to_it_with_its_comments(qtbot, tmp_path):
    from tickscope.gui import app
    from tickscope.gui.main_window import MainWindow

    path = tmp_path / "desk.toml"
    path.write_text(COMMENTED)
    args = app.build_parser().parse_args([str(path)])
    win = MainWindow(scen.load(path), persistent=False)
    qtbot.addWidget(win)
    win.model.adopt_source(*app._source_of(args))
    assert win.model.path() == path and win.model.text() == COMMENTED
    win.model.propose_value("kernel", "hz", "1000")
    assert win.save() and "# four cores" in path.read_text() and scen.load(path).kernel.hz == 1000
    # with --set the scenario is no longer the file's: the text is kept, edited, but Save asks where
    args = app.build_parser().parse_args([str(path), "--set", "machine.cpus=2"])
    text, src, save_to = app._source_of(args)
    assert save_to is None and src == scen.load(path)


def test_ctrl_z_in_a_form_field_or_the_toml_tab_undoes_the_scenario_edit(qtbot):
    # the field and the TOML editor claimed Ctrl+Z for their own text history, which showing a value clears:
    # Ctrl+Z right after editing a field (focus still in it) did nothing
    from PySide6 import QtCore

    from tickscope.gui.main_window import MainWindow

    win = MainWindow(scen.preset("bare-metal-lapic"), engine="reference", persistent=False)
    qtbot.addWidget(win)
    with qtbot.waitActive(win):   # window shortcuts need the active window
        win.show()
        win.activateWindow()
    model, panel = win.model, win.scenario_panel
    field = panel.editor("machine", "cpus").widget
    field.setFocus()
    qtbot.waitUntil(lambda: win.focusWidget() is field)
    field.selectAll()
    qtbot.keyClicks(field, "8")
    qtbot.keyClick(field, QtCore.Qt.Key_Return)
    assert model.scenario().machine.cpus == 8
    qtbot.keyClick(field, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert model.scenario().machine.cpus == 4 and field.text() == "4"
    qtbot.keyClick(field, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier | QtCore.Qt.ShiftModifier)
    assert model.scenario().machine.cpus == 8
    qtbot.keyClicks(field, "0")   # typing not yet applied: Ctrl+Z is the field's own
    qtbot.keyClick(field, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert field.text() == "8" and model.scenario().machine.cpus == 8
    panel.tabs.setCurrentIndex(1)
    panel.toml.setFocus()
    qtbot.waitUntil(lambda: win.focusWidget() is panel.toml)
    qtbot.keyClick(panel.toml, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert model.scenario().machine.cpus == 4 and "cpus = 4" in panel.toml.toPlainText()
    win.close()


def test_a_preset_lets_the_open_file_go_and_undo_takes_it_back(qtbot, tmp_path):
    # Ctrl+S after loading a preset over an open file wrote the preset into the file (its comments gone)
    model, _panel_ = _panel(qtbot)
    path = tmp_path / "mine.toml"
    path.write_text("# my box\n" + scen.preset("kvm").to_toml())
    model.open_file(path)
    model.load_preset("pit-only")
    assert model.scenario().name == "pit-only" and model.path() is None
    model.undo_stack.undo()
    assert model.scenario().name == "kvm" and model.path() == path and model.undo_stack.isClean()
    model.undo_stack.redo()
    assert model.path() is None
    model.undo_stack.undo()
    model.load_preset("kvm")              # the same scenario as the file's: still a step that lets the file go
    assert model.path() is None and path.read_text().startswith("# my box\n")


def test_toml_keystrokes_on_one_line_are_one_undo_step_and_another_line_is_another(qtbot, monkeypatch):
    # every TOML edit merged into one step: a single Ctrl+Z undid the hz and the cpus typed before it
    model, panel = _panel(qtbot)
    base = model.text()
    assert "hz = 250" in base and "cpus = 4" in base
    steps = model.undo_stack.count()
    for typed in ("hz = 2", "hz = 25", "hz = 100"):            # typing a value: one step
        panel.toml.setPlainText(base.replace("hz = 250", typed))
        panel.validate_toml()
    edited = model.text()
    panel.toml.setPlainText(edited.replace("cpus = 4", "cpus = 8"))   # another line: another step
    panel.validate_toml()
    assert model.undo_stack.count() == steps + 2
    model.undo_stack.undo()
    assert model.scenario().machine.cpus == 4 and model.scenario().kernel.hz == 100
    model.undo_stack.undo()
    assert model.scenario().kernel.hz == 250
    # the same line again after a pause is a step of its own
    from tickscope.gui import scenario_panel as sp

    clock = [1000.0]
    monkeypatch.setattr(sp.time, "monotonic", lambda: clock[0])
    panel.toml.setPlainText(base.replace("hz = 250", "hz = 300"))
    panel.validate_toml()
    clock[0] += sp.MERGE_WINDOW_S + 1
    panel.toml.setPlainText(base.replace("hz = 250", "hz = 1000"))
    panel.validate_toml()
    model.undo_stack.undo()
    assert model.scenario().kernel.hz == 300


def test_a_top_level_key_or_table_in_error_is_marked_on_its_line(qtbot):
    # "schema = 2" and an unknown "[kernl]" table were refused with no line marked (only section.key was found)
    model, panel = _panel(qtbot)
    base = model.text()
    for good, bad in (("schema = 1", "schema = 2"), ("[kernel]", "[kernl]"), ('name = "bare-metal-lapic"', 'nme = "x"')):
        assert good in base
        text = base.replace(good, bad, 1)
        panel.toml.setPlainText(text)
        assert panel.validate_toml() is not None
        assert panel.toml.error_line == text.splitlines().index(bad) + 1, bad


def test_a_timer_or_period_field_shows_only_the_keys_its_kind_reads(qtbot):
    # bare-metal-hpet-c3's 25 ms periodic timer showed as { kind = "periodic", period = "25ms", rate_hz = 100, ... }
    # (does it fire at 40 Hz or 100 Hz?) and its exponential busy period with min = "1ms", max = "10ms", which do
    # not bound it; editing the timer in the form wrote that rate_hz into the user's file
    sc, text = scen.preset_with_text("bare-metal-hpet-c3")
    model = ScenarioModel(sc)
    model.adopt_source(text, sc)
    panel = ScenarioPanel(model)
    qtbot.addWidget(panel)
    timers = panel.editor("workload", "timers").widget
    assert timers.text() == '[{ kind = "periodic", period = "25ms", cpus = [], slack = "0ns" }]'
    assert timers.cursorPosition() == 0   # in a narrow dock the field shows its start, which names the timer
    assert panel.editor("workload", "busy_period").widget.text() == '{ dist = "exponential", mean = "3ms" }'
    timers.setText(timers.text().replace("25ms", "20ms"))
    timers.editingFinished.emit()
    assert model.scenario().workload.timers[0].period == 20_000_000
    assert 'timers = [{kind = "periodic", period = "20ms", cpus = [], slack = "0ns"}]' in model.text()
    assert "rate_hz" not in model.text()
    # a random timer leaves out the period it does not read; a uniform period its mean
    model.set_scenario(scen.apply_sets(sc, ['workload.timers=[{kind="random", rate_hz=50}]',
                                            'workload.busy_period={dist="uniform", min="2ms", max="4ms"}']))
    assert timers.text() == '[{ kind = "random", rate_hz = 50, cpus = [], slack = "0ns" }]'
    assert panel.editor("workload", "busy_period").widget.text() == '{ dist = "uniform", min = "2ms", max = "4ms" }'


def test_form_tooltips_give_defaults_and_ranges_as_a_user_writes_them(qtbot):
    # "default: PydanticUndefined" (every list or table key), "default: 20000" beside timer_work = 20us,
    # "allowed 1..100000000000000 ns" for run.until, and "(tickscope.sim.scenario_workload.Period | None)"
    _model, panel = _panel(qtbot)
    tips = {key: panel.editor(sec, key).widget.toolTip() for sec, key in panel._editors}
    assert not [k for k, tip in tips.items() if "Pydantic" in tip or "tickscope." in tip or "Literal" in tip]
    assert "default: 20us" in tips["timer_work"] and "allowed 0ns..1s" in tips["timer_work"]
    assert "allowed 1ns..100000s" in tips["until"]
    assert "(table, optional)" in tips["idle_period"]
    assert "default: []" in tips["timers"]
    assert 'each table: kind = &quot;periodic&quot;, period = &quot;10ms&quot;, rate_hz = 100' in tips["timers"]
    assert "(one of 100, 250, 300, 1000)" in tips["hz"]
    assert panel.editor("run", "until").widget.placeholderText() == "allowed 1ns..100000s"
