"""Optional parts of the window that install themselves through MainWindow's extension API.

Each module listed here exposes ``install(window)`` and uses only the public
extension API of :class:`tickscope.gui.main_window.MainWindow`:
``add_panel(title, widget, area="bottom", shortcut=None)``,
``add_action(name, text, shortcut, slot, menu="&Tools", checkable=False)``,
``menu(title)``, the ``results_changed(results, summary)`` signal and the
``results`` / ``summary`` / ``raster`` / ``model`` / ``controller`` attributes.
"""
from __future__ import annotations

import importlib

EXTENSION_MODULES = [
    "tickscope.gui.graph_view",       # architecture graph, linked with the raster
    "tickscope.gui.recording_actions",  # File > Save/Open recording
    "tickscope.gui.export_dialog",    # File > Export
    "tickscope.gui.demo_player",      # Demo > play / record
]


def install_all(window) -> list[str]:
    """Install every available extension; returns the names installed."""
    done = []
    for name in EXTENSION_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # not built yet
            raise
        module.install(window)
        done.append(name)
    return done
