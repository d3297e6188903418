"""Markers over the app's time plots at the moments :func:`tickscope.sim.clock_events.clock_events` finds: the
watchdog marking a clocksource unstable, the switch to another clocksource, a live migration."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from tickscope.sim.clock_events import MARKER_RGB


def marker_lines(events, labelled: bool = True, position: float = 0.97, step: float = 0.07) -> list[pg.InfiniteLine]:
    """Dotted vertical lines at *events* (:func:`clock_events`), x in seconds, labelled at *position* along the
    line (0 bottom .. 1 top of the view; in a view with y inverted, 0 is its top), each next label *step* further
    (three rows, then again): kvm-migration's migration and watchdog labels, 0.5 s apart, covered each other."""
    lines = []
    for i, (t_ns, label, tip) in enumerate(events):
        line = pg.InfiniteLine(pos=t_ns / 1e9, angle=90, movable=False,
                               pen=pg.mkPen(MARKER_RGB, width=2, style=Qt.DotLine),
                               label=label if labelled else None,
                               labelOpts={"position": position + step * (i % 3), "color": MARKER_RGB, "fill": (255, 255, 255, 200),
                                          "anchors": [(0, 0), (1, 0)]})
        line.setToolTip(tip)
        line.setZValue(5)
        if labelled:
            line.label.setToolTip(tip)
        lines.append(line)
    return lines
