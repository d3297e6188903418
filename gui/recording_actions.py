"""File > Save recording… / Open recording…: ``.tickrec`` files in the app.

Opening shows the stored results at once (no re-simulation) and restores the
markers saved with them; a damaged or hostile file is refused with an error
dialog naming the problem (:func:`tickscope.sim.record.load_recording` checks
everything before decoding anything).
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from tickscope.sim import record
from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError

FILTER = "tickscope recordings (*.tickrec)"
MARKERS_ACTION = "markers"
"""The action saved with a recording that restores the measure markers: ``args = {"markers": [...]}``."""


def session_actions(window) -> list[dict]:
    """Actions stored with a recording: the markers placed in the window."""
    markers = window.measure.markers() if getattr(window, "measure", None) is not None else []
    if not markers:
        return []
    return [{"t": 0.0, "action": MARKERS_ACTION, "args": {"markers": markers}}]


def markers_from_actions(actions) -> list[dict]:
    """The markers of the last ``markers`` action (validated; bad entries are skipped)."""
    out = []
    for a in actions:
        if a.get("action") == MARKERS_ACTION and isinstance(a.get("args", {}).get("markers"), list):
            out = []
            for m in a["args"]["markers"]:
                if isinstance(m, dict) and isinstance(m.get("time_ns"), int) and not isinstance(m["time_ns"], bool):
                    out.append({"time_ns": m["time_ns"], "name": str(m.get("name", "")), "note": str(m.get("note", ""))})
    return out


def save_recording_to(window, path) -> bool:
    """Save the window's results as *path*; errors go to ``window.show_error``.  True on success."""
    res = window.results
    # before a run the results hold the boot's log lines at time 0 (saved, that was a 0 ns recording that
    # `tickscope run REC` then reported as differing from its replay)
    if res is None or len(res) == 0 or int(res.meta.get("now_ns") or 0) <= 0:
        window.show_error("nothing to save yet: run the scenario first")
        return False
    try:
        sc = scen.loads(res.meta["scenario"], "results") if res.meta.get("scenario") else window.model.scenario()
        record.save_recording(path, sc, res, session_actions(window))
    except (InputError, ValueError, OSError) as exc:
        window.show_error(f"could not save {path}: {exc}")
        return False
    window.session.remember(str(path))   # Open recent lists it, as it lists saved scenarios
    return True


def open_recording_from(window, path) -> bool:
    """Show a recording's stored results; a refused file gives an error naming the problem.  True on success."""
    try:
        rec = record.load_recording(path)
    except InputError as exc:
        window.show_error(f"cannot open recording: {exc}")
        return False
    except OSError as exc:
        window.show_error(f"cannot open recording {path}: {exc}")
        return False
    window.show_recording(rec)   # with its markers
    window.session.remember(str(path))
    return True


def install(window) -> None:
    """File > Save recording… (Ctrl+Alt+S) and File > Open recording… (Ctrl+Alt+O)."""
    def save(*_):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(window, "Save recording",
                                                        f"{window.model.scenario().name}.tickrec", FILTER)
        if path:
            if not path.endswith(".tickrec"):
                path += ".tickrec"
            save_recording_to(window, path)

    def open_(*_):
        path, _ = QtWidgets.QFileDialog.getOpenFileName(window, "Open recording", "", FILTER)
        if path:
            open_recording_from(window, Path(path))

    window.add_action("save_recording", "Save &recording…", "Ctrl+Alt+S", save, menu="&File")
    window.add_action("open_recording", "Open re&cording…", "Ctrl+Alt+O", open_, menu="&File")
