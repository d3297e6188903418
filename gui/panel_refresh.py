"""Which analysis panel draws the results when: the ones on screen when a run stops, one per turn while it
runs, and a panel out of sight (a tab behind another, a closed dock) once it is shown.

The main window hands every snapshot to a :class:`PanelRefresh`; the raster redraws at every snapshot,
the docked panels share what is left of the GUI thread's time.
"""
from __future__ import annotations

import time

from tickscope.gui.analysis_panels import DriftPanel, RatePanel, ResidencyPanel
from tickscope.gui.histogram_panel import HistogramPanel

# During a run the raster redraws at every snapshot; one visible panel per 0.25 s, round robin, never
# more often than 10x its last cost.  The panels' aggregates come precomputed from the engine thread
# (sim/aggregates.py), so a turn only draws: measured 1-10 ms per panel at 1e6 records, against 75-110 ms
# when each panel computed its own.
PANEL_UPDATE_EVERY_S = 0.25
PANEL_COST_FACTOR = 10
# Live refreshes only for views that drew within 30 ms last time (the measurement tools sort every tick:
# 40 ms at 1e6 ticks, 190 ms at 5e6); the rest catch up when the run stops.
PANEL_BUDGET_S = 0.030
# panels that draw the engine thread's precomputed aggregates (sim.aggregates.PanelData) when given them
_TAKE_PREPARED = (HistogramPanel, DriftPanel, RatePanel, ResidencyPanel)


class PanelRefresh:
    """Feeds *panels* (widgets with ``set_results``) and *measure* (always fed, never docked) the results.

    Parameters
    ----------
    measure
        The measurement tools' controller: refreshed with the panels, whether or not its readout shows.
    panels : list of QWidget
        The docked views, each with ``set_results(results, summary[, prepared])``.
    """

    def __init__(self, measure, panels: list):
        self.measure = measure
        self.panels = panels
        self._results = self._summary = self._prepared = None
        self._last_update = 0.0
        self._last_cost_s = 0.0
        self._cost_of: dict = {}
        self._stale: set = set()
        self._turn = 0

    def set_results(self, results, summary, prepared=None, running: bool = False) -> None:
        """New results: every panel draws them now, or (*running*) the next panel in turn, if its time has come."""
        self._results, self._summary, self._prepared = results, summary, prepared
        if not running:
            self.refresh_all()
        elif time.monotonic() - self._last_update >= max(PANEL_UPDATE_EVERY_S, PANEL_COST_FACTOR * self._last_cost_s):
            self.refresh_next()

    def refresh_all(self) -> None:
        """Give the panels the current results (when a run stops or new results are shown).

        A panel out of sight in a shown window (a tab behind another, a closed dock) is left stale and draws
        when it is shown (:meth:`on_visibility_changed`): of the bottom docks' tabs one is in view, and
        drawing the others took most of the 100-300 ms a long run's stop kept the window busy.  In a window
        not shown (headless, a screenshot being set up) every panel draws now."""
        self._cost_of.clear()
        self.measure.set_results(self._results, self._summary)
        self._stale.clear()
        for panel in self.panels:
            if panel.window().isVisible() and not self.on_screen(panel):
                self._stale.add(panel)
            else:
                self.feed(panel)

    @staticmethod
    def on_screen(panel) -> bool:
        """Whether *panel* can be seen: shown, and not wholly covered (a tabbed dock behind another)."""
        return panel.isVisible() and not panel.visibleRegion().isEmpty()

    def feed(self, panel) -> None:
        """Hand *panel* the current results (with the precomputed aggregates when it draws them)."""
        if isinstance(panel, _TAKE_PREPARED):
            panel.set_results(self._results, self._summary, prepared=self._prepared)
        else:
            panel.set_results(self._results, self._summary)

    def refresh_next(self) -> None:
        """During a run: refresh one visible panel per turn, round robin, so no turn stalls long."""
        start = time.monotonic()
        self._last_update = start
        shown = [self.measure] + [p for p in self.panels if self.on_screen(p)]
        # a view that took longer than the budget last time waits for the end of the run
        live = [p for p in shown if self._cost_of.get(p, 0.0) <= PANEL_BUDGET_S]
        self._stale.update(p for p in self.panels if p not in live)
        if not live:
            return
        self._turn = (self._turn + 1) % len(live)
        panel = live[self._turn]
        self.feed(panel)
        self._last_cost_s = self._cost_of[panel] = time.monotonic() - start

    def on_visibility_changed(self, panel, visible: bool) -> None:
        """*panel* was shown or hidden: once shown, draw it now if a run went on without it."""
        if visible and panel in self._stale and self._results is not None:
            self._stale.discard(panel)
            self.feed(panel)
