"""The simulated kernel's /proc files: /proc/timer_list (v0.10 and v0.9) and /proc/interrupts.

The same text ``tickscope timer-list`` and ``tickscope interrupts`` print, read when the run stops or pauses
(the engine's thread renders it with the stop's snapshot), to put beside a real machine's copy.  "Read at"
reads them at an earlier instant of the run, as ``--at T`` does: the run controller simulates the run again to
there in the background (:meth:`tickscope.gui.run_controller.RunController.read_proc_files_at`); the header
names the instant the text on show is for.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from tickscope.gui.log_view import kernel_text_view
from tickscope.sim.units import format_duration, format_ns, parse_duration

NOT_RUN = "no run yet: the files are read where a run stops or pauses (F5 runs the scenario)"
RECORDING = "a recording keeps no kernel state: run its scenario (F5) to read these files"
RECORDING_READABLE = ("a recording keeps no kernel state: Read at simulates its scenario again to an instant "
                      "(F5 runs it)")
AT_BOOT = "read at boot (0 ns simulated): no run yet (F5 runs the scenario)"
ERROR_COLOR = "#d22"   # the Scenario form's inline errors'


def exact_instant(ns: int) -> str:
    """*ns* as format_ns writes it, with the decimals it needs to be exact: ``1.500 s``, ``1.5000004 s``."""
    ns = int(ns)
    text = format_ns(ns)
    for digits in range(4, 10):
        if parse_duration(text.replace(" ", "")) == ns:
            break
        text = format_ns(ns, digits)
    return text


def read_instant(text: str, end_ns: int) -> int:
    """The instant typed in "Read at" (``1.5s``, ``250ms``), in ns.

    Raises
    ------
    ValueError
        Naming the bad text and what is allowed: not a duration, at or before boot, or past *end_ns* (where
        the run stopped: the files of later instants are not the run's yet).
    """
    text = text.strip()
    allowed = f"allowed 1ns..{format_duration(end_ns)} (where the run stopped)"
    if not text:
        raise ValueError(f"give a time, e.g. 1.5s or 250ms; {allowed}")
    if text.startswith("-"):
        raise ValueError(f"{text} is before boot: {allowed}")
    ns = parse_duration(text)
    if ns <= 0:
        raise ValueError(f"{text} is boot itself: {allowed}")
    if ns > end_ns:
        end = format_duration(end_ns)
        raise ValueError(f"{text} is past where the run stopped ({end}): allowed 1ns..{end}; to read later, run "
                         "further first (Run until)")
    return ns


class ProcFilesView(QWidget):
    """A choice of file, its text (monospace, read-only), Save as, and "Read at" an instant of the run.

    ``read_requested(at_ns)`` asks for the files at an instant (validated here), ``end_requested()`` for the run's
    end again; the reading comes back through :meth:`show_reading` (progress: :meth:`show_read_progress`).
    """

    read_requested = Signal(object)
    end_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._files: dict[str, str] = {}      # what is on show: the end's files or a reading's
        self._end_files: dict[str, str] = {}  # where the run stopped
        self._end_ns: int | None = None       # ... and when; None: no run (a recording, a scenario that does not boot)
        self._run = None                      # set_files' run: another one drops the reading
        self._recording = False               # a recording on show, read by simulating its scenario again
        self._at_ns: int | None = None        # the reading on show (None: the end)
        self._reading_ns: int | None = None   # the reading on its way
        self._cursor_ns: int | None = None    # cursor A
        self._missing = NOT_RUN               # why there are no files, when there are none
        self._dropped: int | None = None      # a reading of the run before, dropped by this run's files
        self._stale = False   # the text waits for the panel to be shown
        self._on_screen = True   # set_on_screen: False while its dock is behind another tab
        self.choice = QComboBox()
        self.choice.setToolTip("Which /proc file of the simulated kernel to show")
        self.choice.currentTextChanged.connect(self._show)
        self.status = QLabel(NOT_RUN)
        self.status.setWordWrap(True)
        self.save_button = QPushButton("Save as…")
        self.save_button.setToolTip("Write this file's text, e.g. to diff it against the real machine's")
        self.save_button.clicked.connect(self._save_dialog)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMinimumWidth(230)   # "reading at 1.500 s… 40%" on one line
        self.progress.setMaximumWidth(300)
        self.progress.hide()
        self.text = kernel_text_view()
        bar = QHBoxLayout()
        bar.addWidget(self.choice)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.progress)
        bar.addWidget(self.save_button)
        self.at_edit = QLineEdit()
        self.at_edit.setObjectName("proc_read_at")
        self.at_edit.setMaximumWidth(130)
        self.at_edit.setClearButtonEnabled(True)
        self.at_edit.setToolTip("Read the files at this instant of the run (e.g. 1.5s, 250ms; up to where the run "
                                "stopped): the scenario is simulated again to there with the same seed, as "
                                "`tickscope timer-list --at` and `interrupts --at` do; Enter reads")
        self.at_edit.returnPressed.connect(self.read_typed)
        self.at_edit.textEdited.connect(lambda _t: self._show_error(None))
        self.read_button = QPushButton("Read")
        self.read_button.setToolTip("Read the files at the instant typed (Enter in the field)")
        self.read_button.clicked.connect(self.read_typed)
        self.cursor_button = QPushButton("At cursor A")
        self.cursor_button.setToolTip("Read the files where cursor A of the Measure panel stands")
        self.cursor_button.clicked.connect(self.read_at_cursor)
        self.end_button = QPushButton("At the end")
        self.end_button.setToolTip("Show the files where the run stopped again (the default)")
        self.end_button.clicked.connect(self.show_end)
        self.error = QLabel()
        self.error.setObjectName("proc_read_error")
        self.error.setStyleSheet(f"color: {ERROR_COLOR};")
        self.error.setWordWrap(True)
        self.error.hide()
        read_bar = QHBoxLayout()
        at_label = QLabel("Read at")
        at_label.setBuddy(self.at_edit)
        read_bar.addWidget(at_label)
        read_bar.addWidget(self.at_edit)
        read_bar.addWidget(self.read_button)
        read_bar.addWidget(self.cursor_button)
        read_bar.addWidget(self.end_button)
        read_bar.addWidget(self.error, 1)
        read_bar.addStretch(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addLayout(read_bar)
        layout.addWidget(self.text, 1)
        self.set_files(None)

    def set_files(self, files: dict[str, str] | None, now_ns: int | None = None, recording: bool = False,
                  run=None) -> None:
        """Show *files* (title -> text) read where *run* stopped, at simulated time *now_ns*; None: nothing to show
        (say why).  A reading at an earlier instant stays on show while *run* is the same run (a token compared
        with ``==``); another run's files drop it."""
        same_run = files is not None and run is not None and run == self._run
        self._end_files = dict(files or {})
        self._end_ns = int(now_ns) if files is not None and now_ns is not None else None
        self._run = run if files is not None else None
        self._missing = RECORDING if recording else NOT_RUN
        self._recording = False
        if not same_run:
            # another run (or none): a reading of the one before is not this one's
            self._dropped = self._at_ns if self._at_ns is not None else self._reading_ns
            self._at_ns = self._reading_ns = None
            self._end_progress()
            self._show_error(None)
            self._show_files(self._end_files)
        elif self._at_ns is None:
            self._show_files(self._end_files)
        else:
            self._update_status()   # the reading stays; the run stopped later
        self._update_read_controls()

    def _show_files(self, files: dict[str, str]) -> None:
        """Put *files* on show, keeping the file chosen, with the header naming their instant."""
        current = self.choice.currentText()
        self._files = dict(files)
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems(list(self._files))
        if current in self._files:
            self.choice.setCurrentText(current)
        self.choice.blockSignals(False)
        self.choice.setEnabled(bool(self._files))
        self.save_button.setEnabled(bool(self._files))
        self._update_status()
        self._show(self.choice.currentText())

    def _update_status(self) -> None:
        """The header: the instant the files on show are for."""
        if not self._files:
            text = self._missing
        elif self._at_ns is not None:
            what, end = (("the recording's scenario", "it was recorded to") if self._recording else
                         ("the run", "it stopped at"))
            text = (f"read at {exact_instant(self._at_ns)} simulated ({what} simulated again to there; {end} "
                    f"{format_ns(self._end_ns)})")
        else:
            end = self._end_ns
            text = AT_BOOT if end == 0 else f"read where the run stopped ({format_ns(end)} simulated)" if end else ""
            if self._dropped is not None:
                text += f"; the reading at {exact_instant(self._dropped)} was of the run before"
        self.status.setText(text)

    def files(self) -> dict[str, str]:
        """The files on show, by title: where the run stopped, or at the instant read (:meth:`shown_at`)."""
        return dict(self._files)

    def shown_at(self) -> int | None:
        """The instant of the run the files on show are for, in ns (None when there are none)."""
        return self._at_ns if self._at_ns is not None else self._end_ns if self._files else None

    def reading_at(self) -> int | None:
        """The instant of the reading on its way, else None."""
        return self._reading_ns

    # -- reading at an instant ---------------------------------------------------------
    def set_cursor_ns(self, t_ns: int | None) -> None:
        """Where cursor A stands (None: not placed), for "At cursor A"."""
        self._cursor_ns = None if t_ns is None else int(t_ns)
        self._update_read_controls()

    def read_typed(self) -> bool:
        """Read at the instant typed (Read, Enter); a bad one is said beside the field.  True when asked for."""
        if self._readable_end() == 0:
            self._show_error("read at: " + (RECORDING if self._missing == RECORDING and not self._files
                                            else "no run to read yet: run the scenario (F5) first"))
            return False
        try:
            at_ns = read_instant(self.at_edit.text(), self._readable_end())
        except ValueError as exc:
            self._show_error(f"read at: {exc}")
            return False
        return self.read_at(at_ns)

    def read_at_cursor(self) -> bool:
        """Read where cursor A stands (its time shown in the field)."""
        if self._cursor_ns is None:
            self._show_error("read at: cursor A is not placed (Measure panel, or drag it on the Ticks view)")
            return False
        self.at_edit.setText(format_duration(self._cursor_ns))
        return self.read_typed()

    def read_at(self, at_ns: int) -> bool:
        """Ask for the files at *at_ns* of the run (1 ns .. where it stopped); True when asked for."""
        at_ns = int(at_ns)
        end = self._readable_end()
        if not 0 < at_ns <= end:
            self._show_error(f"read at: {format_duration(at_ns)} is out of range (allowed 1ns..{format_duration(end)}, "
                             "where the run stopped)")
            return False
        self._show_error(None)
        if at_ns == self._at_ns and self._reading_ns is None:
            return True   # on show already
        self._reading_ns = at_ns
        self.progress.setValue(0)
        self.progress.setFormat(f"reading at {exact_instant(at_ns)}… %p%")
        self.progress.setToolTip(f"simulating the run again from boot to {exact_instant(at_ns)}")
        self.progress.show()
        self._update_read_controls()
        self.read_requested.emit(at_ns)
        return True

    def show_end(self) -> None:
        """Back to the files where the run stopped (dropping a reading on its way)."""
        if self._reading_ns is not None:
            self.end_requested.emit()
        self._at_ns = self._reading_ns = self._dropped = None
        self._end_progress()
        self._show_error(None)
        self.at_edit.clear()
        self._show_files(self._end_files)
        self._update_read_controls()

    def show_read_progress(self, now_ns, at_ns) -> None:
        """The reading at *at_ns* has simulated to *now_ns*."""
        if at_ns == self._reading_ns:
            self.progress.setValue(int(1000 * min(int(now_ns), int(at_ns)) / max(1, int(at_ns))))

    def show_reading(self, at_ns, files: dict[str, str]) -> None:
        """The files read at *at_ns* (ignored unless that reading is the one awaited)."""
        if at_ns != self._reading_ns:
            return
        self._reading_ns = self._dropped = None
        self._at_ns = int(at_ns)
        self._end_progress()
        self._show_files(files)
        self._update_read_controls()

    def show_read_failure(self, at_ns, message: str) -> None:
        """The reading at *at_ns* failed: said beside the field, the text on show stays."""
        if at_ns != self._reading_ns:
            return
        self._reading_ns = None
        self._end_progress()
        self._show_error(f"read at {exact_instant(at_ns)}: {message}")
        self._update_read_controls()

    def allow_reading(self, end_ns: int, run) -> None:
        """A recording on show (no files of its own, :meth:`set_files` with ``recording=True``) whose scenario can
        be simulated again, the same model: Read at takes instants up to *end_ns*, where it was recorded to.
        *run* is the token a later :meth:`set_files` compares (another run drops a reading of this one)."""
        self._end_ns, self._run = int(end_ns), run
        self._missing = RECORDING_READABLE
        self._recording = True
        self._update_status()
        self._update_read_controls()

    def _readable_end(self) -> int:
        return self._end_ns if self._end_ns is not None and self._run is not None else 0

    def _end_progress(self) -> None:
        self.progress.hide()
        self.progress.setValue(0)

    def _show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self.at_edit.setStyleSheet(f"border: 1px solid {ERROR_COLOR};" if message else "")

    def _update_read_controls(self) -> None:
        end = self._readable_end()
        self.at_edit.setEnabled(end > 0)
        self.read_button.setEnabled(end > 0)
        self.at_edit.setPlaceholderText(f"up to {format_duration(end)}" if end > 0 else "run first (F5)")
        cursor = self._cursor_ns
        self.cursor_button.setEnabled(cursor is not None and 0 < cursor <= end)
        self.cursor_button.setToolTip(
            "Read the files where cursor A of the Measure panel stands" + (
                "" if cursor is None else f" ({exact_instant(cursor)})" + ("" if 0 < cursor <= end else
                                                                           ": outside the run")))
        self.end_button.setEnabled(self._at_ns is not None or self._reading_ns is not None)

    def shown(self) -> str:
        """The text of the file chosen ("" when there is none), as the panel shows it once visible."""
        return self.text.toPlainText() if not self._stale else self._files.get(self.choice.currentText(), "")

    def _show(self, title: str) -> None:
        if not self._on_screen and self._files:
            # 256 CPUs: ~0.6 MB of timer_list, ~20 ms to lay out at every stop; a panel behind another tab waits
            self._stale = True
            return
        self._stale = False
        self.text.setPlainText(self._files.get(title, ""))

    def set_on_screen(self, on: bool) -> None:
        """Whether the panel can be seen (its dock's visibilityChanged: a tabbed dock behind another stays
        'visible' to Qt); the text waiting for it is laid out when it can."""
        self._on_screen = bool(on)
        if on and self._stale:
            self._show(self.choice.currentText())

    def save(self, path) -> None:
        """Write the file on show to *path*, atomically (OSError when it cannot be written)."""
        from tickscope.sim.atomic import write_text

        write_text(path, self._files.get(self.choice.currentText(), ""))

    def _save_dialog(self) -> None:
        title = self.choice.currentText()
        if not title:
            return
        at = f" at {format_duration(self._at_ns)}" if self._at_ns is not None else ""
        default = re.sub(r"[^0-9A-Za-z.]+", "_", title + at).strip("_") + ".txt"   # proc_interrupts_at_1500ms.txt
        path, _ = QFileDialog.getSaveFileName(self, f"Save {title} as", default, "Text (*.txt);;All files (*)")
        if not path:
            return
        try:
            self.save(path)
        except OSError as exc:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(self, "tickscope", f"cannot write {path}: {exc.strerror or exc}")
