"""What the main window remembers between sessions (QSettings): geometry and dock layout,
theme, recent files, the last scenario and the measurement markers of each scenario."""
from __future__ import annotations

import json

from tickscope.gui.theme import add_recent, settings


class Session:
    """Persistence for one :class:`~tickscope.gui.main_window.MainWindow`; inert when not *persistent*."""

    def __init__(self, window, persistent: bool):
        self.window = window
        self.persistent = persistent
        self.store = settings()

    def value(self, key: str, default=None):
        return self.store.value(key, default) if self.persistent else default

    def set_value(self, key: str, value) -> None:
        if self.persistent:
            self.store.setValue(key, value)

    # -- recent files -----------------------------------------------------
    def recent(self) -> list[str]:
        value = self.store.value("recent_files", []) or []
        return [value] if isinstance(value, str) else list(value)

    def remember(self, path) -> None:
        if self.persistent:
            self.store.setValue("recent_files", add_recent(self.recent(), path))
            self.fill_recent()

    def fill_recent(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        for path in self.recent():
            menu.addAction(path, lambda p=path: self.window.open_path(p))
        menu.setEnabled(bool(menu.actions()))

    # -- markers ----------------------------------------------------------
    @staticmethod
    def _markers_key(scenario_name: str) -> str:
        return "markers/" + (scenario_name or "unnamed").replace("/", "_")

    def save_markers(self, scenario_name: str) -> None:
        """Store the measurement markers under the scenario's name."""
        if self.persistent:
            self.store.setValue(self._markers_key(scenario_name), json.dumps(self.window.measure.markers()))

    def restore_markers(self, scenario_name: str) -> None:
        """Put back the markers saved for this scenario (none if there are none or they are unreadable)."""
        if not self.persistent:
            return
        text = self.store.value(self._markers_key(scenario_name))
        try:
            markers = json.loads(str(text)) if text else []
            self.window.measure.set_markers(markers)
        except (ValueError, TypeError) as exc:
            self.window.statusBar().showMessage(f"saved markers of {scenario_name!r} ignored: {exc}", 10000)

    # -- window -----------------------------------------------------------
    def restore_window(self) -> None:
        w = self.window
        geom = self.store.value("geometry")
        state = self.store.value("window_state")
        if geom is not None:
            w.restoreGeometry(geom)
        if state is not None:
            w.restoreState(state)
        self.restore_markers(w.model.scenario().name)

    def save_window(self) -> None:
        if not self.persistent:
            return
        w = self.window
        self.store.setValue("geometry", w.saveGeometry())
        self.store.setValue("window_state", w.saveState())
        self.store.setValue("theme", w.theme.choice())
        self.save_markers(w.model.scenario().name)
        self.store.sync()
