"""The main window's actions and menus: every command has a shortcut and is in the command palette.

:func:`build_actions` fills the menu bar and the run toolbar of a
:class:`~tickscope.gui.main_window.MainWindow`; :func:`make_action` is the one
way an action is made (the extension API's ``add_action`` uses it too), so
every action is registered in ``window.actions_by_name``.
"""
from __future__ import annotations

from importlib import resources

from PySide6 import QtCore, QtGui, QtWidgets

from tickscope.sim import scenario as scen


def icon(name: str) -> QtGui.QIcon:
    path = resources.files("tickscope.assets").joinpath("icons", f"{name}.svg")
    return QtGui.QIcon(str(path)) if path.is_file() else QtGui.QIcon()


def make_action(window, name, text, shortcut, slot, icon_name=None, checkable=False, menu=None) -> QtGui.QAction:
    """An action of *window* with its shortcut(s), registered as *name*, optionally added to *menu*."""
    act = QtGui.QAction(text, window)
    act.setObjectName(f"action_{name}")
    shortcuts = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
    act.setShortcuts([QtGui.QKeySequence(s) for s in shortcuts if s])
    act.setShortcutContext(QtCore.Qt.WindowShortcut)
    if icon_name:
        act.setIcon(icon(icon_name))
    act.setCheckable(checkable)
    keys = ", ".join(s for s in shortcuts if s)
    act.setToolTip(f"{text.replace('&', '')} ({keys})" if keys else text.replace("&", ""))
    (act.toggled if checkable else act.triggered).connect(slot)
    window.actions_by_name[name] = act
    window.addAction(act)
    if menu is not None:
        menu.addAction(act)
    return act


class SpaceKeyGuard(QtCore.QObject):
    """Space is Run / pause's second shortcut (F5 the first); a focused control that Space operates keeps it.

    A window shortcut takes Space before the focused widget sees it unless that widget claims the key, which
    line and text edits do and check boxes, buttons and combo boxes do not: Space on the scenario form's
    ``arat`` check box started the run instead of ticking the box.  The guard watches the focus and claims
    Space (the ShortcutOverride event) for such a control of its window, so it toggles, clicks or opens.
    """

    def __init__(self, window: QtWidgets.QWidget):
        super().__init__(window)
        self._window = window
        app = QtWidgets.QApplication.instance()
        app.focusChanged.connect(self._on_focus_changed)
        self._on_focus_changed(None, app.focusWidget())

    @staticmethod
    def wants_space(widget) -> bool:
        if isinstance(widget, QtWidgets.QAbstractButton):
            return True
        return isinstance(widget, QtWidgets.QComboBox) and not widget.isEditable()

    def _on_focus_changed(self, _old, new):
        if new is not None and self.wants_space(new) and self._window.isAncestorOf(new):
            new.installEventFilter(self)   # once: Qt moves a filter installed again to the front

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if (event.type() == QtCore.QEvent.ShortcutOverride and event.key() == QtCore.Qt.Key_Space
                and not event.modifiers() & ~QtCore.Qt.KeypadModifier and self.wants_space(obj)):
            event.accept()   # the control's key: no shortcut; the key press follows to the control
            return True
        return False


def build_run_bar(window) -> QtWidgets.QToolBar:
    """The Run toolbar's widgets: seed, run-until, engine and speed readout."""
    ctl = window.controller
    bar = QtWidgets.QToolBar("Run")
    bar.setObjectName("toolbar_run")
    bar.setIconSize(QtCore.QSize(20, 20))
    window.addToolBar(bar)
    window.seed_label = QtWidgets.QLabel(" seed ")
    # a text field: run.seed takes 0..2^63-1, a QSpinBox stops at 2^31-1 (it showed 2147483647 for a larger
    # seed, and leaving it set that seed)
    window.seed_box = QtWidgets.QLineEdit(str(ctl.seed()))
    window.seed_box.setValidator(QtGui.QRegularExpressionValidator(QtCore.QRegularExpression(r"[0-9]{1,19}")))
    window.seed_box.setMaximumWidth(160)
    window.seed_box.setToolTip("Random seed for this run (same scenario + seed = identical event log); "
                               f"0..{scen.SEED_MAX}, Enter applies")
    window.seed_box.editingFinished.connect(lambda: apply_seed(window))
    window.until_edit = QtWidgets.QLineEdit(scen.format_duration(ctl.until_ns()))
    window.until_edit.setMaximumWidth(90)
    window.until_edit.setToolTip("Run until this simulated time (e.g. 500ms, 10s); Enter runs")
    window.until_edit.returnPressed.connect(window._run_until_from_edit)
    window.engine_box = QtWidgets.QComboBox()
    window.engine_box.addItems(["auto", "cython", "reference"])
    window.engine_box.setCurrentText(ctl._engine)
    window.engine_box.setToolTip("Simulation engine: cython (fast), reference (pure Python, slow, the\n"
                                 "obviously-correct one for cross-checks); auto takes cython when it is built")
    window.engine_box.activated.connect(lambda _i: window.set_engine(window.engine_box.currentText()))
    window.speed_label = QtWidgets.QLabel("")
    window.speed_label.setMinimumWidth(120)
    window.speed_label.setToolTip("Engine speed: simulated events processed per second of wall-clock time")
    return bar


def apply_seed(window) -> None:
    """The seed typed in the run bar, if it is another one (focus leaving the field unchanged reset the run)."""
    ctl, text = window.controller, window.seed_box.text().strip()
    seed = int(text) if text.isdigit() else -1
    if not 0 <= seed <= scen.SEED_MAX:
        window.show_error(f"seed: {text!r} is not a seed (allowed 0..{scen.SEED_MAX})")
        window.seed_box.setText(str(ctl.seed()))
    elif seed != ctl.seed():
        window.set_seed(seed)


def format_event_rate(events_per_s: float) -> str:
    """Engine speed with a unit that suits it: ``"850 events/s"``, ``"12.4 k events/s"``, ``"2.29 M events/s"``.

    A fixed "M" read "0.01 M events/s" for the short runs most presets are.
    """
    value, prefix = float(events_per_s), ""
    for scale, name in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale * 0.9995:   # 999,960/s rounds to "1.00 M", not "1000 k"
            value, prefix = value / scale, f"{name} "
            break
    else:
        return f"{value:.0f} events/s"
    digits = 2 if value < 9.995 else 1 if value < 99.95 else 0
    return f"{value:.{digits}f} {prefix}events/s"


def build_actions(window) -> None:
    """File, Edit, Run, View, Measure and Help menus of *window*."""
    w = window
    act = lambda *a, **k: make_action(w, *a, **k)  # noqa: E731 - local shorthand
    mb = w.menuBar()
    m = mb.addMenu("&File")
    act("open", "&Open scenario or recording…", "Ctrl+O", w.open_dialog, menu=m)
    act("save", "&Save scenario", "Ctrl+S", w.save, menu=m)
    act("save_as", "Save scenario &as…", "Ctrl+Shift+S", w.save_as_dialog, menu=m)
    w.recent_menu = m.addMenu("Open &recent")
    w.session.fill_recent()
    m.addSeparator()
    act("quit", "&Quit", "Ctrl+Q", w.close, menu=m)

    m = mb.addMenu("&Edit")
    undo = w.model.undo_stack.createUndoAction(w, "&Undo")
    undo.setShortcut(QtGui.QKeySequence("Ctrl+Z"))
    redo = w.model.undo_stack.createRedoAction(w, "&Redo")
    redo.setShortcuts([QtGui.QKeySequence("Ctrl+Shift+Z"), QtGui.QKeySequence("Ctrl+Y")])
    for name, a in (("undo", undo), ("redo", redo)):
        w.actions_by_name[name] = a
        w.addAction(a)
        m.addAction(a)
    pm = m.addMenu("&Presets")
    for i, name in enumerate(scen.presets()):
        act(f"preset_{name}", f"Load preset {name}", f"Alt+Shift+{i + 1}" if i < 9 else f"Ctrl+K, {i - 8}",
            lambda _=False, n=name: w.model.load_preset(n), menu=pm)
    act("edit_toml", "Edit scenario as TOML", "Ctrl+T", w._focus_toml, menu=m)

    m = mb.addMenu("&Run")
    bar = w.run_bar
    w.space_guard = SpaceKeyGuard(w)   # Space on a focused check box, button or combo box is theirs
    for a in (act("run", "&Run / pause", ["F5", "Space"], w.toggle_run, "run", menu=m),
              act("step", "&Step one slice", "F10", w.step_runs, "step", menu=m),
              act("reset", "Rese&t", "Ctrl+R", w.reset_runs, "reset", menu=m)):
        bar.addAction(a)
    act("run_until", "Run &until…", "Ctrl+U", w._focus_until, "run-until", menu=m)
    bar.addWidget(w.until_edit)
    bar.addAction(w.actions_by_name["run_until"])
    act("seed", "Set s&eed…", "Ctrl+E", lambda: w.seed_box.setFocus() or w.seed_box.selectAll(), menu=m)
    bar.addWidget(w.seed_label)
    bar.addWidget(w.seed_box)
    bar.addWidget(w.engine_box)
    bar.addWidget(w.speed_label)

    m = mb.addMenu("&View")
    r = w.raster
    act("zoom_in", "Zoom in", ["Ctrl+=", "Ctrl++"], lambda: r.zoom(1.5), menu=m)
    act("zoom_out", "Zoom out", "Ctrl+-", lambda: r.zoom(1 / 1.5), menu=m)
    act("fit", "Fit whole run", ["Ctrl+0", "Home"], r.fit, menu=m)
    act("pan_left", "Pan earlier", "Alt+Left", lambda: r.pan(-0.25), menu=m)
    act("pan_right", "Pan later", "Alt+Right", lambda: r.pan(0.25), menu=m)
    act("hardware", "Show hardware lanes", "Ctrl+H", w.set_hardware_lanes, checkable=True, menu=m)
    act("focus_raster", "Focus tick raster", "Ctrl+Shift+R", lambda: w._show_tab(w.raster), menu=m)
    act("compare_tab", "Show compare view", "Ctrl+Shift+C", lambda: w._show_tab(w.compare_view), menu=m)
    act("next_panel", "Focus next panel", "F6", lambda: w.cycle_focus(1), menu=m)
    act("previous_panel", "Focus previous panel", "Shift+F6", lambda: w.cycle_focus(-1), menu=m)
    act("theme", "Cycle theme (system/light/dark)", "Ctrl+Shift+T", w._cycle_theme, menu=m)
    act("enlarge_panels", "Enlarge the bottom panels", "Ctrl+Shift+M", w.set_panels_enlarged, checkable=True, menu=m)
    dm = m.addMenu("&Panels")
    for title in w.docks:
        dm.addAction(w.actions_by_name[f"dock_{title}"])

    m = mb.addMenu("&Measure")
    act("cursors", "Place cursors A/B in view", "Ctrl+Shift+A", w.measure.place_cursors_in_view, menu=m)
    act("marker", "Add marker at view centre", "Ctrl+M", lambda: w.measure.add_marker(), menu=m)
    act("proc_read_at", "Read /proc files at…", "Ctrl+Alt+K", w.focus_proc_read_at, menu=m)

    m = mb.addMenu("&Help")
    act("palette", "Command palette…", "Ctrl+Shift+P", lambda: w.palette_dialog.open_palette(), menu=m)


def menu_actions(menu_bar: QtWidgets.QMenuBar, skip=()) -> list[QtGui.QAction]:
    """Every command action reachable from *menu_bar* (submenus walked; menus in *skip* left out)."""
    out = []

    def walk(actions):
        for a in actions:
            sub = a.menu()
            if sub is not None:
                if sub not in skip:
                    walk(sub.actions())
            elif not a.isSeparator():
                out.append(a)

    walk(menu_bar.actions())
    return out
