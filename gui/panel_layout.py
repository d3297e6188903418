"""The analysis panels' shared layout: a bar of controls over a plot that takes the rest."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget


def bar_over_plot(panel: QWidget, controls: list[QWidget], plot: QWidget) -> QVBoxLayout:
    """Lay *controls* in one row (the last one stretches) above *plot* in *panel*."""
    bar = QHBoxLayout()
    for w in controls[:-1]:
        bar.addWidget(w)
    bar.addWidget(controls[-1], 1)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.addLayout(bar)
    layout.addWidget(plot, 1)
    return layout
