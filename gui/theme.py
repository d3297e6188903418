"""Light and dark themes that follow the system, and the app's persistent settings.

Settings (window layout, theme, recent files, last scenario) live in one
QSettings INI file; ``TICKSCOPE_CONFIG_DIR`` moves it (tests point it at a
temporary folder so they never touch the user's settings).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from tickscope.sim import raster

THEMES = ("system", "light", "dark")
#: The plots' (and the graph canvas') background, light and dark theme.
PLOT_BACKGROUND = {False: "#ffffff", True: "#1e1e20"}
MAX_RECENT = 10


def settings() -> QtCore.QSettings:
    """The app's settings file."""
    folder = os.environ.get("TICKSCOPE_CONFIG_DIR")
    if folder:
        return QtCore.QSettings(str(Path(folder) / "tickscope.ini"), QtCore.QSettings.IniFormat)
    return QtCore.QSettings(QtCore.QSettings.IniFormat, QtCore.QSettings.UserScope, "tickscope", "tickscope")


def system_is_dark(palette: QtGui.QPalette | None = None) -> bool:
    """True if the desktop asks for a dark colour scheme (or its *palette* is dark)."""
    hints = QtGui.QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", lambda: QtCore.Qt.ColorScheme.Unknown)()
    if scheme == QtCore.Qt.ColorScheme.Dark:
        return True
    if scheme == QtCore.Qt.ColorScheme.Light:
        return False
    palette = palette or QtGui.QGuiApplication.palette()
    return palette.color(QtGui.QPalette.Window).lightness() < 128


def _dark_palette() -> QtGui.QPalette:
    p = QtGui.QPalette()
    base, window, text = QtGui.QColor(30, 30, 32), QtGui.QColor(45, 45, 48), QtGui.QColor(220, 220, 220)
    for role, color in ((QtGui.QPalette.Window, window), (QtGui.QPalette.WindowText, text),
                        (QtGui.QPalette.Base, base), (QtGui.QPalette.AlternateBase, window),
                        (QtGui.QPalette.ToolTipBase, window), (QtGui.QPalette.ToolTipText, text),
                        (QtGui.QPalette.Text, text), (QtGui.QPalette.Button, window),
                        (QtGui.QPalette.ButtonText, text), (QtGui.QPalette.BrightText, QtGui.QColor(255, 80, 80)),
                        (QtGui.QPalette.Highlight, QtGui.QColor(42, 130, 218)),
                        (QtGui.QPalette.HighlightedText, QtGui.QColor(255, 255, 255)),
                        (QtGui.QPalette.PlaceholderText, QtGui.QColor(140, 140, 140))):
        p.setColor(role, color)
    p.setColor(QtGui.QPalette.Disabled, QtGui.QPalette.Text, QtGui.QColor(120, 120, 120))
    p.setColor(QtGui.QPalette.Disabled, QtGui.QPalette.ButtonText, QtGui.QColor(120, 120, 120))
    return p


class Theme(QtCore.QObject):
    """The current theme; emits :attr:`changed` (is_dark) when the effective colours change."""

    changed = QtCore.Signal(bool)

    def __init__(self, choice: str = "system", parent=None):
        super().__init__(parent)
        self._choice = "system"
        self._dark = None
        self._light_palette = QtWidgets.QApplication.palette()
        hints = QtGui.QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda *_: self._apply())
        self.set_choice(choice)

    def choice(self) -> str:
        return self._choice

    def is_dark(self) -> bool:
        return bool(self._dark)

    def set_choice(self, choice: str) -> None:
        """``"system"``, ``"light"`` or ``"dark"``."""
        if choice not in THEMES:
            raise ValueError(f"theme {choice!r} is not one of {', '.join(THEMES)}")
        self._choice = choice
        self._apply()

    def cycle(self) -> str:
        self.set_choice(THEMES[(THEMES.index(self._choice) + 1) % len(THEMES)])
        return self._choice

    def _apply(self):
        dark = system_is_dark(self._light_palette) if self._choice == "system" else self._choice == "dark"
        app = QtWidgets.QApplication.instance()
        if self._choice != "system" or dark:
            app.setStyle("Fusion")
        app.setPalette(_dark_palette() if dark else self._light_palette)
        if dark != self._dark:
            self._dark = dark
            self.changed.emit(dark)

    # colours for plots
    def raster_colors(self) -> dict:
        return raster.DARK_COLORS if self._dark else raster.LIGHT_COLORS

    def plot_background(self) -> str:
        return PLOT_BACKGROUND[bool(self._dark)]

    def plot_foreground(self) -> str:
        return "#dcdcdc" if self._dark else "#303030"


def add_recent(files: list[str], path: str) -> list[str]:
    """*files* with *path* moved to the front, at most MAX_RECENT long."""
    path = str(Path(path).resolve())
    return ([path] + [f for f in files if f != path])[:MAX_RECENT]
