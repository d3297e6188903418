"""The main window: tick raster in the centre, everything else in dockable panels.

Data flow: :class:`ScenarioModel` (edits, undo) -> :class:`RunController`
(engine thread) -> snapshots -> every view's ``set_results(results, summary)``.
Views that can point at a moment emit ``jump_requested(time_ns, cpu)``, which
moves the raster.  Every action has a shortcut and is listed in the command
palette (Ctrl+Shift+P).
"""
from __future__ import annotations

import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from tickscope.gui.actions import build_actions, build_run_bar, format_event_rate, icon, make_action, menu_actions
from tickscope.gui.analysis_panels import DriftPanel, RatePanel, ResidencyPanel
from tickscope.gui.compare import CompareView
from tickscope.gui.event_table import EventTableView
from tickscope.gui.histogram_panel import HistogramPanel
from tickscope.gui.log_view import KernelLogView
from tickscope.gui.proc_view import ProcFilesView
from tickscope.gui.measure import MeasureController
from tickscope.gui.palette import CommandPalette
from tickscope.gui.panel_refresh import PanelRefresh
from tickscope.gui.plot_legend import set_legend_color
from tickscope.gui.recording_actions import markers_from_actions
from tickscope.gui.run_controller import RunController
from tickscope.gui.scenario_panel import ScenarioModel, ScenarioPanel, toml_literal
from tickscope.gui.session import Session
from tickscope.gui.theme import Theme
from tickscope.gui.tick_raster import TickRasterView
from tickscope.sim import analysis
from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError
from tickscope.sim.reference import SEMANTICS

SCENARIO_FILTER = "Scenarios (*.toml);;Recordings (*.tickrec);;All files (*)"


def _differences(a: scen.Scenario, b: scen.Scenario, most: int = 2) -> str:
    """``section.key=value`` of *a*'s settings that differ from *b*'s (at most *most* of them), values as TOML
    (``machine.arat=false``, ``run.until="2s"``), as a user would type them after ``--set``."""
    da, db = a.to_dict(), b.to_dict()
    out = [f"{sec}.{key}={toml_literal(value)}" for sec, part in da.items() if isinstance(part, dict) and sec != "imported"
           for key, value in part.items() if value != db.get(sec, {}).get(key)]
    return ", ".join(out[:most]) + (", …" if len(out) > most else "")


class MainWindow(QtWidgets.QMainWindow):
    """tickscope's window.

    Parameters
    ----------
    scenario : Scenario
        What to show first.
    engine : str
        Engine for runs ("auto", "cython", "reference").
    compare : Scenario, optional
        Scenario B for compare mode (run side by side with A).
    persistent : bool
        Restore and save layout/theme/recent files (off for headless screenshots).
    theme : str, optional
        "system", "light" or "dark" for this window instead of the saved choice: set before any widget is built,
        as the style it may switch to re-lays out the docks (a theme set afterwards shrank the bottom panels).
    """

    #: New results were shown (results, summary): extensions subscribe to this.
    results_changed = QtCore.Signal(object, object)

    def __init__(self, scenario: scen.Scenario, engine: str = "auto", compare: scen.Scenario | None = None,
                 persistent: bool = True, theme: str | None = None):
        super().__init__()
        self.setWindowTitle("tickscope")
        self.setWindowIcon(icon("tickscope"))
        self.setDockNestingEnabled(True)
        self.persistent = persistent
        self._asked_to_close = False   # close_without_asking: no unsaved-changes question
        self._panels_height = 260      # the bottom panels' height before set_panels_enlarged
        #: False while the window first shows (its docks report themselves visible then); True once it is on
        #: screen, so that a dock becoming visible afterwards was raised by the user or by an action
        self.layout_settled = False
        self.actions_by_name: dict[str, QtGui.QAction] = {}
        self._results = None
        self._recording_source = None   # (scenario, engine, seed) of the recording on show, to read its /proc files
        self._summary = None
        self.session = Session(self, persistent)
        self._markers_of = scenario.name

        self.theme = Theme(theme or self.session.value("theme", "system"), self)
        self.model = ScenarioModel(scenario, self)
        self.controller = RunController(scenario, engine, self)
        self.compare_controller = RunController(compare, engine, self) if compare is not None else None

        # central: raster (and compare view when asked)
        self.raster = TickRasterView()
        self.compare_view = CompareView()
        self.central_tabs = QtWidgets.QTabWidget()
        self.central_tabs.setDocumentMode(True)
        self.central_tabs.addTab(self.raster, "Ticks")
        self.central_tabs.addTab(self.compare_view, "Compare A/B")
        self.setCentralWidget(self.central_tabs)
        self.measure = MeasureController(self.raster, self)

        self.scenario_panel = ScenarioPanel(self.model)
        self.scenario_panel.may_replace = self._may_replace_file
        self.histogram = HistogramPanel()
        self.drift = DriftPanel()
        self.rates = RatePanel()
        self.residency = ResidencyPanel()
        self.event_table = EventTableView()
        self.log_view = KernelLogView()
        self.proc_view = ProcFilesView()
        self.panels = [self.histogram, self.drift, self.rates, self.residency, self.event_table, self.log_view]
        self.panel_refresh = PanelRefresh(self.measure, self.panels)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._dock("Scenario", self.scenario_panel, QtCore.Qt.LeftDockWidgetArea, "Ctrl+1")
        self._dock("Measure", self.measure.readout, QtCore.Qt.LeftDockWidgetArea, "Ctrl+2")
        bottom = [("Histograms", self.histogram, "Ctrl+3"), ("Drift", self.drift, "Ctrl+4"),
                  ("Interrupt rate", self.rates, "Ctrl+5"), ("Idle residency", self.residency, "Ctrl+6"),
                  ("Events", self.event_table, "Ctrl+7"), ("Kernel log", self.log_view, "Ctrl+8"),
                  ("Proc files", self.proc_view, "Ctrl+Shift+K")]
        for title, widget, key in bottom:
            self._dock(title, widget, QtCore.Qt.BottomDockWidgetArea, key)
        for title, *_ in bottom[1:]:
            self.tabifyDockWidget(self.docks["Histograms"], self.docks[title])
        self.docks["Histograms"].raise_()
        self.docks["Proc files"].visibilityChanged.connect(self.proc_view.set_on_screen)
        self.proc_view.set_on_screen(False)   # behind the Histograms tab
        self._connect_proc_reading()
        self.tabifyDockWidget(self.docks["Scenario"], self.docks["Measure"])
        self.docks["Scenario"].raise_()
        self.resizeDocks([self.docks["Scenario"]], [330], QtCore.Qt.Horizontal)
        self.resizeDocks([self.docks["Histograms"]], [260], QtCore.Qt.Vertical)

        self.run_bar = build_run_bar(self)
        build_actions(self)
        self._build_status_bar()
        self.palette_dialog = CommandPalette(self.all_actions, self)

        for panel in self.panels:
            panel.jump_requested.connect(self.jump_to)
        self.model.scenario_changed.connect(self._on_scenario_changed)
        self.raster.set_planned_span(scenario.run.until)
        self.model.path_changed.connect(lambda _p: self._update_title())
        self.model.undo_stack.cleanChanged.connect(lambda _c: self._update_title())
        self.controller.results_ready.connect(self._on_results)
        self.controller.raster_ready.connect(self._on_raster)
        self.controller.state_changed.connect(self._on_state)
        self.controller.progress.connect(self._on_progress)
        self.controller.speed.connect(lambda eps: self.speed_label.setText(format_event_rate(eps)))
        self.controller.error.connect(self.show_error)
        if self.compare_controller is not None:
            self.compare_controller.error.connect(lambda message: self.show_error(f"run B: {message}"))
            for ctl in (self.controller, self.compare_controller):
                ctl.state_changed.connect(lambda _s: self._update_compare())
            self.central_tabs.setCurrentWidget(self.compare_view)
            self._name_run_a_views()
        self.theme.changed.connect(self._apply_theme)
        self._apply_theme(self.theme.is_dark())
        self.resize(1600, 1000)
        from tickscope.gui import extensions

        self.extensions = extensions.install_all(self)
        # extension panels join the bottom tabs: the histograms stay in front (in compare mode the
        # kernel log of A, next to the compare view's metric table)
        self.docks["Kernel log" if compare is not None else "Histograms"].raise_()
        if persistent:
            self.session.restore_window()
        self._update_title()
        snap = self.controller.last_snapshot
        self._on_results(snap["results"] if snap else None, snap["summary"] if snap else None)
        if self.controller.last_error:  # the scenario could not boot (raised before the signal was connected)
            self.show_error(self.controller.last_error)
        self.raster.setFocus()

    # -- construction ---------------------------------------------------------
    def _connect_proc_reading(self) -> None:
        """The Proc files panel's "Read at": run A's controller reads the files at an instant in the background;
        "At cursor A" follows the Measure panel's cursor A."""
        view, ctl = self.proc_view, self.controller
        view.read_requested.connect(self._read_proc_files_at)
        view.end_requested.connect(ctl.cancel_proc_read)
        ctl.proc_read_progress.connect(view.show_read_progress)
        ctl.proc_read_done.connect(view.show_reading)
        ctl.proc_read_failed.connect(view.show_read_failure)
        self.measure.cursors_changed.connect(lambda: view.set_cursor_ns(self.measure.cursor_ns("A")))

    def _read_proc_files_at(self, at_ns) -> None:
        if not self.controller.read_proc_files_at(at_ns, self._recording_source):
            self.proc_view.show_read_failure(at_ns, self.controller.last_error or "the scenario does not boot")

    def _dock(self, title, widget, area, shortcut):
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        dock.visibilityChanged.connect(lambda on, w=widget: self.panel_refresh.on_visibility_changed(w, on))
        # not the dock's toggleViewAction: for a panel in a tab behind another (the Drift tab behind the
        # Histograms) that closed the panel, where "Show Drift panel" (Ctrl+4) means bring it to the front
        act = QtGui.QAction(f"Show {title} panel", self)
        act.setObjectName(f"action_dock_{title.lower().replace(' ', '_')}")
        act.setCheckable(True)
        act.setChecked(not dock.isHidden())
        act.setShortcut(QtGui.QKeySequence(shortcut))
        dock.toggleViewAction().toggled.connect(act.setChecked)   # shown or closed otherwise (its close button)
        act.triggered.connect(lambda on, d=dock, a=act: self._show_or_close_dock(d, a, on))
        self.actions_by_name[f"dock_{title}"] = act
        self.addAction(act)

    #: the panels that show one run's data, in compare mode run A's (the Graph shows the architecture model)
    RUN_PANELS = ("Scenario", "Measure", "Histograms", "Drift", "Interrupt rate", "Idle residency", "Events",
                  "Kernel log", "Proc files")

    def _name_run_a_views(self) -> None:
        """Compare mode: the Ticks tab and the panels say that they show run A (the compare view's "A = ..."). Beside
        B's lanes, "Idle residency: C3 69.5 %" read as either run's, and the Scenario form edits A alone."""
        self.central_tabs.setTabText(self.central_tabs.indexOf(self.raster), "Ticks (A)")
        self.central_tabs.setTabToolTip(self.central_tabs.indexOf(self.raster), "Run A's tick raster; run B's lanes "
                                        "are in Compare A/B")
        for title in self.RUN_PANELS:
            self.docks[title].setWindowTitle(f"{title} (A)")

    def _show_or_close_dock(self, dock, act, on) -> None:
        """A panel's Show action: bring a closed panel, or one in a tab behind another, to the front; close a
        panel that is in front."""
        if on or not dock.isVisible() or dock.visibleRegion().isEmpty():   # a tab behind another is "visible"
            dock.show()
            dock.raise_()
            act.setChecked(True)
        else:
            dock.close()

    def _act(self, name, text, shortcut, slot, icon_name=None, checkable=False, menu=None):
        return make_action(self, name, text, shortcut, slot, icon_name, checkable, menu)

    def _build_status_bar(self):
        sb = self.statusBar()
        self.state_label = QtWidgets.QLabel("idle")
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(260)
        self.progress_bar.setFormat("%p%")
        self.time_label = QtWidgets.QLabel("")
        self.stall_label = QtWidgets.QLabel("")
        self.stall_label.setToolTip("Event-loop stall p99 during the last run (target < 50 ms)")
        for w in (self.state_label, self.time_label):
            sb.addWidget(w)
        sb.addPermanentWidget(self.stall_label)
        sb.addPermanentWidget(self.progress_bar)

    def all_actions(self) -> list[QtGui.QAction]:
        """Every command of the window: registered actions, then any other menu entry (the palette lists these).

        The recent-files entries are left out: they are file names, not commands.
        """
        out = list(self.actions_by_name.values())
        seen = set(out)
        for a in menu_actions(self.menuBar(), skip=(self.recent_menu,)):
            if a not in seen and a.text():
                seen.add(a)
                out.append(a)
        return out

    def focus_targets(self) -> list[QtWidgets.QWidget]:
        """What F6 / Shift+F6 cycle through: the central view, then each shown dock's widget."""
        out = [self.central_tabs.currentWidget()]
        for dock in self.docks.values():  # insertion order: findChildren's order changes as docks are raised
            if dock.isVisible() or (not dock.isHidden() and self.tabifiedDockWidgets(dock)):
                out.append(dock.widget())
        return out

    def cycle_focus(self, step: int = 1) -> QtWidgets.QWidget:
        """Move the keyboard focus to the next (*step* 1) or previous (-1) panel; returns it."""
        targets = self.focus_targets()
        focus = self.focusWidget()  # the window's focus child, also while another window is active
        inside = [i for i, w in enumerate(targets) if focus is not None and (w is focus or w.isAncestorOf(focus))]
        current = inside[0] if inside else (-1 if step > 0 else 0)
        target = targets[(current + step) % len(targets)]
        dock = target.parentWidget()
        if isinstance(dock, QtWidgets.QDockWidget):
            dock.show()
            dock.raise_()
        focusable = [target] + target.findChildren(QtWidgets.QWidget)
        first = next((w for w in focusable if w.focusPolicy() & QtCore.Qt.TabFocus and w.isEnabled()
                      and w.isVisibleTo(self)), target)
        first.setFocus(QtCore.Qt.TabFocusReason)
        return target

    # -- results --------------------------------------------------------------
    # -- extension API (see gui/extensions.py) ----------------------------------
    @property
    def results(self):
        return self._results

    @property
    def summary(self):
        return self._summary

    def add_panel(self, title: str, widget, area: str = "bottom", shortcut: str | None = None):
        """Dock *widget* as a panel; bottom panels join the analysis tabs. Returns the QDockWidget."""
        areas = {"bottom": QtCore.Qt.BottomDockWidgetArea, "left": QtCore.Qt.LeftDockWidgetArea,
                 "right": QtCore.Qt.RightDockWidgetArea}
        key = shortcut or ""
        self._dock(title, widget, areas[area], key)
        if area == "bottom" and "Histograms" in self.docks:
            self.tabifyDockWidget(self.docks["Histograms"], self.docks[title])
        return self.docks[title]

    def menu(self, title: str) -> QtWidgets.QMenu:
        """The menu-bar menu called *title* (created if missing)."""
        for act in self.menuBar().actions():
            if act.menu() is not None and act.text().replace("&", "") == title.replace("&", ""):
                return act.menu()
        return self.menuBar().addMenu(title)

    def add_action(self, name: str, text: str, shortcut, slot, menu: str = "&Tools", checkable: bool = False):
        """An action with a shortcut, listed in the command palette and in *menu*."""
        return self._act(name, text, shortcut, slot, checkable=checkable, menu=self.menu(menu))

    def _on_raster(self, data):
        """Every live frame of a run (and the full rebuild when it stops): only the raster redraws."""
        self.raster.show_data(data)
        self.controller.set_live_widths(self.raster.live_widths())

    def _on_results(self, results, summary):
        self._results, self._summary = results, summary
        self.results_changed.emit(results, summary)
        snap = self.controller.last_snapshot
        same = bool(snap) and snap["results"] is results
        if not same:  # a recording: nothing built it yet
            self.raster.set_results(results, summary)
        else:  # the raster's data came with raster_ready (live frames, or the stop's full build)
            data = snap["raster"] if snap.get("raster") is not None else self.raster.raster_data()
            self.raster.set_results(results, summary, data=data)
        self.panel_refresh.set_results(results, summary, snap.get("panels") if same else None,
                                       running=self.controller.state() == "running")
        if same and "procfs" in snap:   # a stop's snapshot (the ones published during a run carry none)
            # read where the run was judged: a pause's instant, or the end (the in-flight interrupts the end
            # delivered a little later count, but the kernel's clock reads the end, as timer_list's "now at" says)
            # (a run not yet started has read them at boot: its until_ns is 1 ns, the least a run may ask for)
            self.proc_view.set_files(snap["procfs"], min(int(results.meta["until_ns"]), int(results.meta["now_ns"])),
                                     run=snap.get("tag"))
        elif not same:
            self.proc_view.set_files(None, recording=results is not None)
        self._recording_source = None   # a recording's, set again by show_recording once this has shown it

    def _allow_reading_recording(self, sc, res) -> None:
        """The Proc files panel may read a recording at an instant by simulating its scenario again, with the seed
        and engine it was recorded with, when this model is the one that recorded it (engine semantics): another
        version would not replay it as recorded."""
        meta = res.meta
        if int(meta.get("engine_semantics", -1)) != SEMANTICS or "seed" not in meta or not len(res):
            return
        end = min(int(meta.get("until_ns", 0)), int(meta.get("now_ns", meta.get("until_ns", 0))))
        if end <= 0:
            return
        self._recording_source = (sc, str(meta.get("engine", "auto")), int(meta["seed"]))
        self.proc_view.allow_reading(end, ("recording", id(res)))

    def show_recording(self, rec) -> None:
        """Show a loaded recording's stored results (no re-simulation).  The scenario shown is the one recorded
        with its run's seed and length (Run until, or a pause), so that F5 runs what the recording holds."""
        run_scenario = getattr(rec, "run_scenario", None)   # a demo's scene shows its results the same way
        try:
            sc = run_scenario() if run_scenario is not None else rec.scenario
        except InputError:   # a seed or length out of today's range: the stored results still show
            sc = rec.scenario
        self.model.set_scenario(sc, sc.to_toml())
        res = rec.results
        summary = analysis.summarize(res)
        self.controller.last_snapshot = None
        self._on_results(res, summary)
        self._allow_reading_recording(sc, res)
        self.panel_refresh.refresh_all()
        # a finished run, shown from the file: say so, with its length (the run state is the live engine's)
        until = int(res.meta.get("until_ns") or rec.scenario.run.until)
        self._on_progress(until, until)
        self.state_label.setText("recording")
        # its markers, whichever way it was opened (File > Open and `tickscope gui REC` left them out)
        try:
            self.measure.set_markers(markers_from_actions(rec.actions))
        except ValueError:
            pass

    def _on_state(self, state: str):
        self.state_label.setText(state)
        self.actions_by_name["run"].setIcon(icon("pause" if state == "running" else "run"))
        if state != "running":
            self.panel_refresh.refresh_all()
            p99 = self.controller.probe.p99_ms()
            if self.controller.probe.samples:
                self.stall_label.setText(f"UI stall p99 {p99:.1f} ms")

    def _on_progress(self, now_ns, until_ns):
        now_ns = min(now_ns, until_ns)  # an ended run's clock stands a little past until (what its end delivered)
        self.progress_bar.setValue(int(1000 * now_ns / max(1, until_ns)))
        now = scen.format_duration(int(now_ns)) if now_ns % 1000 == 0 else f"{now_ns / 1e6:.3f} ms"
        self.time_label.setText(f"{now} of {scen.format_duration(int(until_ns))}")

    def _update_compare(self):
        a, b = self.controller.last_snapshot, self.compare_controller.last_snapshot
        if a and b:
            sa, sb = self.controller._scenario, self.compare_controller._scenario
            na, nb = sa.name, sb.name
            if na == nb:  # one scenario with and without a change: name each by the settings that differ
                da, db = _differences(sa, sb), _differences(sb, sa)
                na, nb = f"{na} [{da}]" if da else na, f"{nb} [{db}]" if db else nb
            self.compare_view.set_results_pair(a["results"], a["summary"], b["results"], b["summary"], na, nb)

    # -- run commands: run A, and run B beside it in compare mode ---------------------
    def run_controllers(self) -> list[RunController]:
        """The controllers the run commands drive: A's, and B's in compare mode (Run, Step, Reset, Run until,
        the seed and the engine drove A alone: B never ran outside --screenshot, and its empty run was compared)."""
        return [ctl for ctl in (self.controller, self.compare_controller) if ctl is not None]

    def toggle_run(self) -> None:
        """Run / pause (F5): pause every running run, else run (or resume) them all."""
        ctls = self.run_controllers()
        if any(ctl.state() == "running" for ctl in ctls):
            for ctl in ctls:
                ctl.pause()
        else:
            for ctl in ctls:
                ctl.run()

    def step_runs(self) -> None:
        for ctl in self.run_controllers():
            ctl.step()

    def reset_runs(self) -> None:
        for ctl in self.run_controllers():
            ctl.reset()

    def set_seed(self, seed: int) -> None:
        for ctl in self.run_controllers():
            ctl.set_seed(seed)

    def set_engine(self, engine: str) -> None:
        for ctl in self.run_controllers():
            ctl.set_engine(engine)

    def run_to_end(self, until_ns: int | None = None, timeout_s: float = 600.0) -> None:
        """Run A (and B in compare mode) to *until_ns* or the scenario's end and wait (headless mode)."""
        for ctl in self.run_controllers():
            if until_ns is not None:
                self.until_edit.setText(scen.format_duration(int(until_ns)))
                ctl.run_until(until_ns)
            else:
                ctl.run()
        for ctl in self.run_controllers():
            ctl.wait(timeout_s)
        QtWidgets.QApplication.processEvents()
        self.panel_refresh.refresh_all()
        if self.compare_controller is not None:
            self._update_compare()
        self.raster.fit()
        self.raster.render_now()

    def jump_to(self, time_ns, cpu=-1) -> None:
        self._show_tab(self.raster)
        self.raster.center_on(int(time_ns), int(cpu) if cpu is not None and cpu >= 0 else None)

    def set_panels_enlarged(self, on: bool) -> None:
        """Give the bottom panels (the Graph, histograms, the event table) three quarters of the window's height,
        or give the tick view its room back: the Graph's labels need the room the 260 px dock does not have."""
        docked = [d for d in self.docks.values() if self.dockWidgetArea(d) == QtCore.Qt.BottomDockWidgetArea
                  and not d.isFloating() and d.isVisible()]
        if docked:   # the bottom panels share one area: resizing one resizes it
            if on:
                self._panels_height = docked[0].height()
            # resizeDocks sizes the area without the tab bar of tabbed docks (the main window's own QTabBar)
            tabs = max([t.height() for t in self.findChildren(QtWidgets.QTabBar) if t.parent() is self and t.isVisible()]
                       + [0])
            self.resizeDocks(docked[:1], [int(self.height() * 0.75) if on else self._panels_height + tabs],
                             QtCore.Qt.Vertical)
        act = self.actions_by_name.get("enlarge_panels")
        if act is not None and act.isChecked() != on:
            act.blockSignals(True)
            act.setChecked(on)
            act.blockSignals(False)

    def panels_enlarged(self) -> bool:
        """Whether the bottom panels have most of the window (set_panels_enlarged)."""
        act = self.actions_by_name.get("enlarge_panels")
        return act is not None and act.isChecked()

    def set_hardware_lanes(self, on: bool) -> None:
        shown = self.raster.results()
        data = self.controller.set_hardware(on)
        snap = self.controller.last_snapshot
        # the run's rebuilt lanes when the raster shows that run (not a recording)
        self.raster.set_show_hardware(on, data if data is not None and snap and snap["results"] is shown else None)

    # -- scenario / files -----------------------------------------------------
    def _on_scenario_changed(self, sc):
        self.controller.set_scenario(sc)
        self.seed_box.setText(str(self.controller.seed()))   # the seed runs use: a typed one outlives the scenario
        # the length runs use (the run bar's Run until outlives an edit that leaves run.until as it was): the
        # field showed run.until while F5 ran to the earlier Run until
        self.until_edit.setText(scen.format_duration(self.controller.until_ns()))
        self.raster.set_planned_span(self.controller.until_ns())
        self.session.set_value("last_scenario", self.model.text())
        if sc.name != self._markers_of:  # markers belong to a scenario: swap them with it
            self.session.save_markers(self._markers_of)
            if self.persistent:
                self.measure.set_markers([])
            self.session.restore_markers(sc.name)
            self._markers_of = sc.name
        self._update_title()

    def _run_until_from_edit(self):
        try:
            t = scen.parse_duration(self.until_edit.text())
            if t <= 0:
                raise ValueError("must be positive")
        except ValueError as exc:
            self.show_error(f"run until: {exc}")
            return
        for ctl in self.run_controllers():
            ctl.run_until(t)

    def run_until(self, until_ns: int) -> None:
        """Run to *until_ns* of simulated time (shown in the run bar); B too in compare mode."""
        self.until_edit.setText(scen.format_duration(int(until_ns)))
        for ctl in self.run_controllers():
            ctl.run_until(int(until_ns))

    def _focus_until(self):
        self.until_edit.setFocus()
        self.until_edit.selectAll()

    def focus_proc_read_at(self):
        """The Proc files panel in front, its "Read at" field focused (Ctrl+Alt+K)."""
        dock = self.docks["Proc files"]
        dock.show()
        dock.raise_()
        self.proc_view.at_edit.setFocus()
        self.proc_view.at_edit.selectAll()

    def _focus_toml(self):
        self.docks["Scenario"].show()
        self.scenario_panel.tabs.setCurrentIndex(1)
        self.scenario_panel.toml.setFocus()

    def bring_to_front(self, name: str) -> str | None:
        """Bring the panel or tab *name* to the front (``tickscope gui --show``): a dock's title in any case, with
        ``-`` or ``_`` for spaces (``idle-residency``, ``Proc files``), or ``ticks`` / ``compare`` for the tabs.
        Returns what is wrong with *name* (None when it was brought up)."""
        want = " ".join(str(name).replace("-", " ").replace("_", " ").lower().split())
        # the Compare A/B tab is there without a run B too (it says how to start one)
        tabs = {"ticks": self.raster, "compare": self.compare_view, "compare a/b": self.compare_view}
        if want in tabs:
            self._show_tab(tabs[want])
            return None
        docks = {title.lower(): dock for title, dock in self.docks.items()}
        if want in docks:
            docks[want].show()
            docks[want].raise_()
            return None
        names = [t.lower().replace(" ", "-") for t in self.docks] + list(tabs)[:2]
        return f"{name!r} is no panel or tab here (one of: {', '.join(names)})"

    def _show_tab(self, widget):
        self.central_tabs.setCurrentWidget(widget)
        widget.setFocus()

    def open_path(self, path) -> bool:
        """Open a scenario (.toml) or recording (.tickrec); errors go to a dialog."""
        try:
            if str(path).endswith(".tickrec"):
                from tickscope.sim.record import load_recording
                self.show_recording(load_recording(path))
            else:
                self.model.open_file(path)
        except InputError as exc:
            self.show_error(str(exc))
            return False
        except OSError as exc:   # a recent file since removed, a folder without read permission
            self.show_error(f"cannot open {path}: {exc.strerror or exc}")
            return False
        self.session.remember(path)
        return True

    def open_dialog(self):
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open", "", SCENARIO_FILTER)
        if path:
            self.open_path(path)

    def _refuse_unapplied_text(self) -> bool:
        """Save would write the scenario without the TOML tab's refused text (and report success, the title
        clean, so closing did not ask): say so instead.  True when the save must not go ahead."""
        error = self.scenario_panel.unapplied()
        if error is None:
            return False
        self.show_error(f"not saved: the TOML tab holds text that is not applied ({error}); correct it, "
                        "or press Revert there to drop it")
        return True

    def save(self) -> bool:
        if self._refuse_unapplied_text():
            return False
        if self.model.path() is None:
            return self.save_as_dialog()
        try:
            self.model.save()
        except (InputError, OSError) as exc:
            self.show_error(str(exc))
            return False
        return True

    def save_as_dialog(self) -> bool:
        if self._refuse_unapplied_text():
            return False
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save scenario as", f"{self.model.scenario().name}.toml",
                                                        "Scenarios (*.toml)")
        if not path:
            return False
        try:
            self.model.save(path)
        except (InputError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self.session.remember(path)
        return True

    def _update_title(self):
        if not (shiboken6.isValid(self) and shiboken6.isValid(self.model.undo_stack)):
            return  # the window is being destroyed: its undo stack signals on the way out
        path = self.model.path()
        name = path.name if path else self.model.scenario().name
        dirty = "" if self.model.undo_stack.isClean() else " *"
        self.setWindowTitle(f"{name}{dirty} — tickscope")

    def show_error(self, message: str) -> None:
        """Bad input: one dialog (a status-bar message when the window is not shown)."""
        self.statusBar().showMessage(message, 10000)
        if self.isVisible() and QtWidgets.QApplication.platformName() != "offscreen":
            QtWidgets.QMessageBox.warning(self, "tickscope", message)

    # -- theme and persistence ------------------------------------------------
    def _cycle_theme(self):
        choice = self.theme.cycle()
        self.statusBar().showMessage(f"theme: {choice}", 3000)
        self.session.set_value("theme", choice)

    def _apply_theme(self, dark: bool):
        bg, fg = self.theme.plot_background(), self.theme.plot_foreground()
        self.raster.set_colors(self.theme.raster_colors(), bg, fg)
        for plot in self.findChildren(pg.PlotWidget):
            if plot not in (self.raster.plot_widget, self.raster.overview_widget):
                plot.setBackground(bg)
                for name in ("left", "bottom"):
                    axis = plot.getPlotItem().getAxis(name)
                    axis.setPen(fg)
                    axis.setTextPen(fg)
                set_legend_color(plot, fg)
        self.histogram.set_text_color(fg)
        self.residency.set_theme(dark, bg)
        self.compare_view.set_theme(dark, bg)

    def close_without_asking(self) -> None:
        """Close even with unsaved changes (Ctrl+C in the terminal: the session still keeps the scenario's text)."""
        self._asked_to_close = True
        self.close()

    def _may_close(self) -> bool:
        """Unsaved edits of a scenario file: Save / Discard / Cancel.  True when the window may close."""
        return self._asked_to_close or self._may_leave_file("closing")

    def _may_replace_file(self, what: str) -> bool:
        """*what* (a preset) takes the open file's place: its unsaved edits are saved, discarded or kept (Cancel)."""
        return self._may_leave_file(f"loading {what}")

    def _may_leave_file(self, doing: str) -> bool:
        """Save / Discard / Cancel for a scenario file with unsaved edits before *doing*; True to go ahead."""
        if not self.persistent or self.model.path() is None \
                or (self.model.undo_stack.isClean() and self.scenario_panel.unapplied() is None):
            return True
        buttons = QtWidgets.QMessageBox.Save | QtWidgets.QMessageBox.Discard | QtWidgets.QMessageBox.Cancel
        answer = QtWidgets.QMessageBox.question(self, "tickscope", f"{self.model.path().name} has unsaved changes. "
                                                f"Save them before {doing}?", buttons, QtWidgets.QMessageBox.Save)
        if answer == QtWidgets.QMessageBox.Save:
            return self.save()
        return answer == QtWidgets.QMessageBox.Discard

    def showEvent(self, event):  # noqa: N802 - Qt override
        super().showEvent(event)
        QtCore.QTimer.singleShot(0, self._settle_layout)

    def _settle_layout(self):
        if shiboken6.isValid(self):
            self.layout_settled = True

    def closeEvent(self, event):  # noqa: N802 - Qt override
        if not self._may_close():
            event.ignore()
            return
        self.session.save_window()
        self.controller.shutdown()
        if self.compare_controller is not None:
            self.compare_controller.shutdown()
        super().closeEvent(event)
