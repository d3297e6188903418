"""Scenario editing: a form generated from the schema, a raw TOML tab, presets, undo/redo, files.

:class:`ScenarioModel` holds the current scenario and file; every edit goes
through a :class:`SetScenarioCommand` on its ``QUndoStack``.  The widgets
subscribe to :attr:`ScenarioModel.scenario_changed` and write back only
through :meth:`ScenarioModel.propose`, which validates with
:mod:`tickscope.sim.scenario` and reports refusals as text (never raises).
"""
from __future__ import annotations

import html
import re
import time
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from tickscope.sim import scenario as scen, unused_settings
from tickscope.sim.boot import check_boots   # the form refuses a scenario the machine cannot boot
from tickscope.sim.errors import InputError

TOML_VALIDATE_DELAY_MS = 250
_LINE_RE = re.compile(r"at line (\d+)(?:, column (\d+))?")


class ScenarioModel(QtCore.QObject):
    """The scenario being edited, its TOML text, its file and its undo history.

    The text is what the TOML tab shows and Save writes: the file's or preset's own text (comments and all),
    edited key by key as the form changes values (``scen.text_of``), or exactly what was typed in the tab."""

    scenario_changed = QtCore.Signal(object)
    text_changed = QtCore.Signal(str)   # the text changed while the scenario stayed the same (a comment typed)
    path_changed = QtCore.Signal(object)

    def __init__(self, scenario: scen.Scenario | None = None, parent=None):
        super().__init__(parent)
        self._scenario = scenario or scen.preset(scen.DEFAULT_PRESET)
        self._text = self._scenario.to_toml()   # adopt_source: the text it came from
        self._path: Path | None = None
        self.undo_stack = QtGui.QUndoStack(self)

    def scenario(self) -> scen.Scenario:
        return self._scenario

    def text(self) -> str:
        """The scenario as TOML text, as the TOML tab shows it and Save writes it."""
        return self._text

    def path(self) -> Path | None:
        return self._path

    def set_scenario(self, sc: scen.Scenario, text: str | None = None) -> None:
        """Replace the scenario (no undo entry; use :meth:`propose` for edits); *text* is its TOML, by default
        the current text edited to match."""
        self._set(sc, text if text is not None else scen.text_of(sc, self._text, self._scenario))

    def _set(self, sc: scen.Scenario, text: str) -> None:
        changed = sc != self._scenario
        if not changed and text == self._text:
            return
        self._scenario, self._text = sc, text
        if changed:
            self.scenario_changed.emit(sc)
        else:
            self.text_changed.emit(text)

    def propose(self, sc: scen.Scenario, label: str, merge_id: int = -1, text: str | None = None) -> None:
        """Make *sc* current as one undoable step named *label*; *text* is its TOML as typed (by default the
        current text edited to match)."""
        if text is None:
            text = scen.text_of(sc, self._text, self._scenario)
        if sc != self._scenario or text != self._text:
            self.undo_stack.push(SetScenarioCommand(self, (self._scenario, self._text), (sc, text), label, merge_id))

    def propose_value(self, section: str, key: str, raw) -> str | None:
        """Set ``section.key`` to *raw* (text or value); returns an error message or None."""
        try:
            if isinstance(raw, str):  # read as a TOML value, else as a string (like --set)
                sc = scen.apply_sets(self._scenario, [f"{section}.{key}={raw.strip()}"], source="form")
            else:
                data = self._scenario.model_dump(by_alias=True)
                data[section][key] = raw
                sc = scen.from_dict(data, "form")
            check_boots(sc)
        except InputError as exc:
            return str(exc)
        self.propose(sc, f"set {section}.{key}")
        return None

    def load_preset(self, name: str) -> None:
        """Make preset *name* the scenario, as one undoable step.  It is not the open file's content: the file is
        let go (Save asks where to save; Ctrl+S had overwritten the file with the preset), and undo takes it back."""
        sc, text = scen.preset_with_text(name)
        if sc != self._scenario or text != self._text or self._path is not None:
            self.undo_stack.push(ReplaceScenarioCommand(self, (self._scenario, self._text), (sc, text),
                                                        f"preset {name}", self._path))

    def open_file(self, path) -> None:
        """Load a scenario file (raises InputError naming the file and key at fault)."""
        sc, text = scen.load_with_text(path)
        check_boots(sc, str(path))
        self.propose(sc, f"open {Path(path).name}", text=text)
        self._set_path(Path(path))
        self.undo_stack.setClean()

    def adopt_source(self, text: str, source: scen.Scenario, path=None) -> None:
        """The current scenario came from *text* (a file's or a preset's, read as *source*, maybe changed since
        by --set): show and save that text, edited to match.  *path*: the file Save writes to."""
        self._set(self._scenario, scen.text_of(self._scenario, text, source))
        if path is not None:
            self._set_path(Path(path))

    def save(self, path=None) -> Path:
        """Save atomically to *path* (default: the current file), as :meth:`text` (comments kept)."""
        path = Path(path) if path is not None else self._path
        if path is None:
            raise InputError("the scenario has no file yet; use Save As")
        scen.save(self._scenario, path, self._text)
        self._set_path(path)
        self.undo_stack.setClean()
        return path

    def _set_path(self, path):
        if path != self._path:
            self._path = path
            self.path_changed.emit(path)


#: TOML keystrokes on one line merge into one undo step while they come less than this far apart (seconds)
MERGE_WINDOW_S = 2.0


class SetScenarioCommand(QtGui.QUndoCommand):
    """One edit: (old scenario, text) -> (new scenario, text).  Consecutive TOML keystrokes on one line merge
    (the same *merge_id*, less than MERGE_WINDOW_S apart): every edit merged into one step before, so one Ctrl+Z
    undid the hz typed a moment ago and the cpus typed before it."""

    def __init__(self, model: ScenarioModel, old: tuple, new: tuple, label: str, merge_id: int = -1):
        super().__init__(label)
        self.model, self.old, self.new, self._id = model, old, new, merge_id
        self._at = time.monotonic()

    def id(self) -> int:  # noqa: A003 - Qt override
        return self._id

    def mergeWith(self, other) -> bool:  # noqa: N802 - Qt override
        if other.id() != self._id or self._id < 0 or other._at - self._at > MERGE_WINDOW_S:
            return False
        self.new = other.new
        self._at = other._at
        return True

    def redo(self):
        self.model._set(*self.new)

    def undo(self):
        self.model._set(*self.old)


class ReplaceScenarioCommand(SetScenarioCommand):
    """A preset in place of the scenario: it leaves the open file (none is the save target), undo returns to it."""

    def __init__(self, model: ScenarioModel, old: tuple, new: tuple, label: str, old_path):
        super().__init__(model, old, new, label)
        self.old_path = old_path

    def redo(self):
        super().redo()
        self.model._set_path(None)

    def undo(self):
        super().undo()
        self.model._set_path(self.old_path)


def toml_literal(value) -> str:
    """A list or table as the inline TOML a user would type into the field."""
    import tomli_w

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_literal(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return tomli_w.dumps({"v": value})[4:].strip()


def _type_text(field: dict) -> str:
    """A field's kind as a user reads it: "table, optional", not "tickscope.sim.scenario_workload.Period | None"."""
    if field["choices"]:
        return "one of " + ", ".join(html.escape(toml_literal(c)) for c in field["choices"])
    name, optional = field["type"], False
    if name.endswith(" | None"):
        name, optional = name.removesuffix(" | None"), True
    name = name.rsplit(".", 1)[-1]
    name = {"Period": "table", "str": "text", "float": "number", "int": "integer", "bool": "true/false"}.get(name, name)
    return f"{name}, optional" if optional else name


def _bound(field: dict, which: str) -> str:
    """One end of a field's allowed range; a duration's with its unit (10ms, not 10000000)."""
    value = field[which]
    if value is None:
        return ""
    return scen.format_duration(int(value)) if field["type"] == "duration" else f"{value:,}" if isinstance(value, int) \
        else str(value)


class _FieldEditor:
    """One form row: the widget for a schema field plus its inline error."""

    def __init__(self, field: dict, on_commit):
        self.field = field
        self.on_commit = on_commit
        doc = field["doc"]
        rng = ""
        if field["min"] is not None or field["max"] is not None:
            rng = f"allowed {_bound(field, 'min')}..{_bound(field, 'max')}"
            rng += f" {field['unit']}" if field["unit"] and field["type"] != "duration" else ""
        tip = f"<b>{field['section']}.{field['key']}</b> ({_type_text(field)})<br>{doc}" + (f"<br>{rng}" if rng else "")
        default = field.get("default_data", field["default"])
        if isinstance(default, dict) and default == dict(field.get("table_keys") or ()):
            default = None   # a table whose keys' defaults are its default: said once, below
        if default is not None:
            # as the field shows it: "1us", not the 1000 (ns) that read as a value in the field's s/ms/us/ns
            tip += f"<br>default: {default if field['type'] == 'duration' else html.escape(toml_literal(default))}"
        if field.get("table_keys"):
            # the field shows a table's kind and the keys that differ from the defaults: name the others
            keys = ", ".join(key if value is None else f"{key} = {toml_literal(value)}" for key, value in field["table_keys"])
            tip += (f"<br>{'each table' if field['type'] == 'list' else 'keys'}: {html.escape(keys)}"
                    "<br>(a key left out takes the default shown)")
        if field["type"] == "bool":
            self.widget = QtWidgets.QCheckBox()
            self.widget.toggled.connect(lambda on: self.on_commit(self, on))
        elif field["choices"]:
            self.widget = QtWidgets.QComboBox()
            for c in field["choices"]:
                self.widget.addItem(str(c), c)
            self.widget.activated.connect(lambda i: self.on_commit(self, self.widget.itemData(i)))
        else:
            self.widget = QtWidgets.QLineEdit()
            # an optional key (default None) shows empty when not given; clearing it unsets it
            self.widget.setPlaceholderText(("not set" + (f"; {rng}" if rng else "")) if field["default"] is None
                                           else (rng or _type_text(field)))
            self.widget.editingFinished.connect(lambda: self.on_commit(self, self.widget.text()))
        self.widget.setToolTip(tip)
        self.widget.setObjectName(f"field_{field['section']}_{field['key']}")
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet("color: #d22;")
        self.error.setWordWrap(True)
        self.error.hide()

    def show_value(self, value):
        w = self.widget
        w.blockSignals(True)
        try:
            if isinstance(w, QtWidgets.QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QtWidgets.QComboBox):
                w.setCurrentIndex(max(0, w.findData(value)))
            else:
                if self.field["type"] == "duration" and isinstance(value, int):
                    value = scen.format_duration(value)
                w.setText("" if value is None else str(value))
                # a value longer than the field shows from its start ({ kind = "periodic", period = "25ms", ...),
                # not from its end (..., slack = "0ns" }]), which named no timer
                w.setCursorPosition(0)
        finally:
            w.blockSignals(False)

    def has_error(self) -> bool:
        """The row holds a value that was refused (shown with its error, not applied)."""
        return bool(self.error.text())

    def show_error(self, message: str | None):
        self.error.setVisible(bool(message))
        self.error.setText(message or "")
        self.widget.setStyleSheet("border: 1px solid #d22;" if message else "")


class TomlEditor(QtWidgets.QPlainTextEdit):
    """Raw TOML text; :meth:`mark_error_line` underlines the line an error points at."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setLineWrapMode(QtWidgets.QPlainTextEdit.NoWrap)
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
        self.setFont(font)
        self.error_line: int | None = None

    def mark_error_line(self, line: int | None) -> None:
        self.error_line = line
        selections = []
        if line is not None and 1 <= line <= self.blockCount():
            sel = QtWidgets.QTextEdit.ExtraSelection()
            sel.format.setBackground(QtGui.QColor(255, 80, 80, 70))
            sel.format.setProperty(QtGui.QTextFormat.FullWidthSelection, True)
            sel.cursor = QtGui.QTextCursor(self.document().findBlockByNumber(line - 1))
            selections.append(sel)
        self.setExtraSelections(selections)


class _UndoFallThrough(QtCore.QObject):
    """Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) in a form field or the TOML tab with nothing of its own to undo or redo go to
    the scenario's undo stack.

    A line or text edit claims those keys for its own text history, which showing a value clears: Ctrl+Z in
    the field just edited (or in the TOML tab after a form edit) did nothing at all.
    """

    @staticmethod
    def _available(widget, redo: bool) -> bool:
        if isinstance(widget, QtWidgets.QLineEdit):
            return widget.isRedoAvailable() if redo else widget.isUndoAvailable()
        doc = widget.document()
        return doc.isRedoAvailable() if redo else doc.isUndoAvailable()

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if event.type() == QtCore.QEvent.ShortcutOverride:
            undo = event.matches(QtGui.QKeySequence.Undo)
            redo = event.matches(QtGui.QKeySequence.Redo) or (
                event.key() == QtCore.Qt.Key_Y and event.modifiers() == QtCore.Qt.ControlModifier)
            if (undo or redo) and not self._available(obj, redo):
                event.ignore()   # not the widget's: the window's Undo / Redo shortcut takes it
                return True
        return False


def _changed_line(old: str, new: str) -> int:
    """The first line (from 0) where *new* differs from *old*."""
    a, b = old.splitlines(), new.splitlines()
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


class ScenarioPanel(QtWidgets.QWidget):
    """Form + TOML editor + presets for a :class:`ScenarioModel`."""

    TOML_MERGE_ID = 1   # + the line edited: keystrokes on one line merge into one undo step

    def __init__(self, model: ScenarioModel, parent=None):
        super().__init__(parent)
        self.model = model
        #: ``may_replace(what)``: whether *what* (a preset) may take the place of the open file's scenario (the
        #: window asks to save unsaved changes first); None: always
        self.may_replace = None
        self._editors: dict[tuple[str, str], _FieldEditor] = {}
        self._applying_toml = False
        self._shown: dict | None = None     # the scenario the form last showed (model_dump)
        self._toml_error: str | None = None  # the TOML tab holds text that was refused (not applied)

        self.presets = QtWidgets.QComboBox()
        self.presets.setObjectName("preset_combo")
        self.presets.addItem("Preset…", None)
        for name in scen.presets():
            self.presets.addItem(name, name)
        self.presets.activated.connect(self._on_preset)
        self.presets.setToolTip("Load a shipped scenario (undoable)")

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self._build_form(), "Form")
        self.toml = TomlEditor()
        self.toml.setObjectName("toml_editor")
        self.toml_status = QtWidgets.QLabel()
        self.toml_status.setWordWrap(True)
        self.toml_status.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.toml_revert = QtWidgets.QPushButton("Revert")
        self.toml_revert.setObjectName("toml_revert")
        self.toml_revert.setToolTip("Drop the text that was not applied and show the scenario as it is")
        self.toml_revert.clicked.connect(self.revert_toml)
        self.toml_revert.hide()
        toml_page = QtWidgets.QWidget()
        tl = QtWidgets.QVBoxLayout(toml_page)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.toml, 1)
        status = QtWidgets.QHBoxLayout()
        status.addWidget(self.toml_status, 1)
        status.addWidget(self.toml_revert)
        tl.addLayout(status)
        self.tabs.addTab(toml_page, "TOML")

        # settings the run never reads (a busy share with no mixed CPU, an HPET rate with no HPET): what the CLI
        # prints as notes on stderr
        self.notes = QtWidgets.QLabel()
        self.notes.setObjectName("scenario_notes")
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.notes.setStyleSheet("color: #b26b00;")
        self.notes.setToolTip("Settings this scenario gives that change nothing in its run: not errors, but "
                              "worth knowing")
        self.notes.hide()

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.presets)
        layout.addWidget(self.notes)
        layout.addWidget(self.tabs, 1)

        self._validate_timer = QtCore.QTimer(self, singleShot=True, interval=TOML_VALIDATE_DELAY_MS)
        self._validate_timer.timeout.connect(self.validate_toml)
        self.toml.textChanged.connect(self._validate_timer.start)
        model.scenario_changed.connect(self._show_scenario)
        model.text_changed.connect(lambda _t: self._show_scenario(model.scenario()))
        self._show_scenario(model.scenario())
        self._undo_fall_through = _UndoFallThrough(self)
        for widget in [ed.widget for ed in self._editors.values() if isinstance(ed.widget, QtWidgets.QLineEdit)] \
                + [self.toml]:
            widget.installEventFilter(self._undo_fall_through)

    def _build_form(self) -> QtWidgets.QWidget:
        inner = QtWidgets.QWidget()
        outer = QtWidgets.QVBoxLayout(inner)
        top = QtWidgets.QFormLayout()
        for key, doc in (("name", "Short name."), ("description", "One line saying what the scenario shows.")):
            field = {"section": "", "key": key, "type": "str", "default": None, "min": None, "max": None,
                     "unit": "", "choices": None, "doc": doc}
            ed = _FieldEditor(field, self._commit)
            self._editors[("", key)] = ed
            top.addRow(key, ed.widget)
            top.addRow("", ed.error)
        outer.addLayout(top)
        sections: dict[str, QtWidgets.QFormLayout] = {}
        for field in scen.schema_fields():
            sec = field["section"]
            if sec not in sections:
                box = QtWidgets.QGroupBox(sec)
                sections[sec] = QtWidgets.QFormLayout(box)
                outer.addWidget(box)
            ed = _FieldEditor(field, self._commit)
            self._editors[(sec, field["key"])] = ed
            row = QtWidgets.QWidget()
            rl = QtWidgets.QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            rl.addWidget(ed.widget, 1)
            if field["unit"]:
                # a duration takes any unit: "(e.g. 250ms)" beside irq_latency = 1us suggested a magnitude
                rl.addWidget(QtWidgets.QLabel(field["unit"] if field["type"] != "duration" else "s / ms / us / ns"))
            label = QtWidgets.QLabel(field["key"])
            label.setToolTip(ed.widget.toolTip())
            label.setBuddy(ed.widget)
            sections[sec].addRow(label, row)
            sections[sec].addRow("", ed.error)
        outer.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        return scroll

    def editor(self, section: str, key: str) -> _FieldEditor:
        """The form row of ``section.key`` (section "" for name/description)."""
        return self._editors[(section, key)]

    def _commit(self, editor: _FieldEditor, raw):
        f = editor.field
        if f["section"] == "":
            data = self.model.scenario().model_dump(by_alias=True)
            data[f["key"]] = raw
            try:
                sc = scen.from_dict(data, "form")
            except InputError as exc:
                editor.show_error(str(exc).removeprefix("form: "))
                return
            editor.show_error(None)
            self.model.propose(sc, f"set {f['key']}")
            return
        if isinstance(raw, str) and not raw.strip() and f["default"] is None:
            raw = None   # a cleared optional key: not given
        error = self.model.propose_value(f["section"], f["key"], raw)
        editor.show_error(error.removeprefix("form: ") if error else None)

    def _on_preset(self, index: int):
        name = self.presets.itemData(index)
        self.presets.setCurrentIndex(0)
        if name and (self.may_replace is None or self.may_replace(f"preset {name}")):
            self.model.load_preset(name)

    def _show_scenario(self, sc: scen.Scenario):
        data = sc.model_dump(by_alias=True)
        # TOML-ready: durations as "4ms", built-in C-states by name; a table in a list (a timer, a period) as a user
        # writes it, with its kind and what differs from the defaults (a periodic timer showed rate_hz = 100)
        plain = sc.to_dict(compact=True)
        before = self._shown
        self._shown = data
        for (sec, key), ed in self._editors.items():
            value = data[key] if sec == "" else data[sec][key]
            if ed.has_error() and before is not None and (before[key] if sec == "" else before[sec][key]) == value:
                continue   # a refused value stays on show with its error while other keys change (nothing lost)
            if isinstance(value, (list, dict)):
                value = toml_literal(plain.get(key) if sec == "" else plain.get(sec, {}).get(key, value))
            ed.show_value(value)
            ed.show_error(None)
        notes = unused_settings.notes(sc)
        self.notes.setText("\n".join(f"No effect: {n}" for n in notes))
        self.notes.setVisible(bool(notes))
        if self._applying_toml:
            return
        if self._toml_error is not None:
            # the TOML tab holds the user's refused text: keep it, and say that the scenario moved on without it
            self.toml_status.setText(f'<span style="color:#d22">{self._toml_error}</span><br>not applied: the '
                                     "scenario has changed since (form, undo or preset); this text is kept until "
                                     "it is valid and applied, or replaced by Revert")
            self.toml_revert.show()
            return
        self._set_toml_text()

    def _set_toml_text(self) -> None:
        self.toml.blockSignals(True)
        self.toml.setPlainText(self.model.text())
        self.toml.blockSignals(False)
        self.toml.mark_error_line(None)
        self.toml_status.setText("valid")
        self.toml_revert.hide()

    def revert_toml(self) -> None:
        """Drop the TOML tab's refused text: show the scenario as it is."""
        self._validate_timer.stop()
        self._toml_error = None
        self._set_toml_text()

    def validate_toml(self) -> str | None:
        """Check the TOML tab; apply it when valid.  Returns the error message or None."""
        self._validate_timer.stop()
        text = self.toml.toPlainText()
        try:
            sc = scen.loads(text, "TOML")
            try:
                check_boots(sc)
            except InputError as exc:
                raise InputError(f"TOML: {exc}") from None
        except InputError as exc:
            msg = str(exc)
            m = _LINE_RE.search(msg)
            line = int(m.group(1)) if m else self._line_of_key(text, msg)
            self.toml.mark_error_line(line)
            self._toml_error = msg + (f" (line {line})" if line and not m else "")
            self.toml_status.setText(f'<span style="color:#d22">{self._toml_error}</span>')
            self.toml_revert.show()
            return msg
        self._toml_error = None
        self.toml.mark_error_line(None)
        self.toml_status.setText("valid")
        self.toml_revert.hide()
        self._applying_toml = True
        try:
            line = _changed_line(self.model.text(), text)
            self.model.propose(sc, "edit TOML", merge_id=self.TOML_MERGE_ID + line, text=text)
        finally:
            self._applying_toml = False
        return None

    def unapplied(self) -> str | None:
        """Why the TOML tab's text is not the scenario's (it was refused: the error), or None.  Text typed in the
        last moments is checked (and applied when valid) first."""
        if self._validate_timer.isActive():
            self.validate_toml()
        return self._toml_error

    @staticmethod
    def _line_of_key(text: str, msg: str) -> int | None:
        """The line of the key a validation message names first: ``section.key`` (its line in the section), or a
        top-level key or table (``schema: 2 is not supported``, ``kernl: unknown key``: its line or header)."""
        m = re.search(r": ([a-z_]+)\.([a-z_]+):", msg)
        top = None if m else re.match(r"(?:[^:]*: )?([A-Za-z0-9_-]+): ", msg)
        if not (m or top):
            return None
        section, key = m.groups() if m else ("", top.group(1))
        current = ""
        for i, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if s.startswith("["):
                current = s.strip("[] ")
                if not m and current == key:
                    return i
            elif current == section and re.match(rf"{re.escape(key)}\s*=", s):
                return i
        return None
