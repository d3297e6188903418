"""The simulated kernel's /proc files where a run stopped: /proc/timer_list (v0.10 and v0.9) and /proc/interrupts.

The same text ``tickscope timer-list`` and ``tickscope interrupts`` print, read when the run stops or pauses
(the engine's thread renders it with the stop's snapshot), to put beside a real machine's copy.
"""
from __future__ import annotations

import re

from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from tickscope.gui.log_view import kernel_text_view

from tickscope.sim.units import format_ns

NOT_RUN = "no run yet: the files are read where a run stops or pauses (F5 runs the scenario)"
RECORDING = "a recording keeps no kernel state: run its scenario (F5) to read these files"


class ProcFilesView(QWidget):
    """A choice of file, its text (monospace, read-only) and Save as."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._files: dict[str, str] = {}
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
        self.text = kernel_text_view()
        bar = QHBoxLayout()
        bar.addWidget(self.choice)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)
        self.set_files(None)

    def set_files(self, files: dict[str, str] | None, now_ns: int | None = None, recording: bool = False) -> None:
        """Show *files* (title -> text) read at simulated time *now_ns*; None: nothing to show (say why)."""
        current = self.choice.currentText()
        self._files = dict(files or {})
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems(list(self._files))
        if current in self._files:
            self.choice.setCurrentText(current)
        self.choice.blockSignals(False)
        self.choice.setEnabled(bool(self._files))
        self.save_button.setEnabled(bool(self._files))
        if self._files:
            self.status.setText(f"read where the run stopped ({format_ns(int(now_ns))} simulated)" if now_ns is not None
                                else "")
        else:
            self.status.setText(RECORDING if recording else NOT_RUN)
        self._show(self.choice.currentText())

    def files(self) -> dict[str, str]:
        return dict(self._files)

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
        default = re.sub(r"[^0-9A-Za-z.]+", "_", title).strip("_") + ".txt"   # proc_timer_list_v0.10.txt
        path, _ = QFileDialog.getSaveFileName(self, f"Save {title} as", default, "Text (*.txt);;All files (*)")
        if not path:
            return
        try:
            self.save(path)
        except OSError as exc:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(self, "tickscope", f"cannot write {path}: {exc.strerror or exc}")
