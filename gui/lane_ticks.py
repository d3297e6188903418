"""Lane labels that stay legible: with more lanes than fit, label every 2nd, 4th, 8th... lane.

A label needs about ``PX_PER_LABEL`` pixels of axis height; 256 CPUs on a 400 px raster would otherwise
print a label every 1.6 px, an unreadable smear.
"""
from __future__ import annotations

import math

from PySide6 import QtGui

PX_PER_LABEL = 16


def label_step(n: int, height_px: float, px_per_label: int = PX_PER_LABEL) -> int:
    """Label every *step*-th of *n* lanes (a power of two) so that labels are at least *px_per_label* apart."""
    if n <= 1 or height_px <= 0:
        return 1
    need = n * px_per_label / height_px
    return 1 if need <= 1 else 1 << math.ceil(math.log2(need))


def lane_ticks(labels: list[str], height_px: float, offset: float = 0.0) -> list[list[tuple[float, str]]]:
    """pyqtgraph ``setTicks`` levels for *labels* at ``i + offset``: the labelled lanes only."""
    step = label_step(len(labels), height_px)
    return [[(i + offset, labels[i]) for i in range(0, len(labels), step)], []]


def half_label_height(axis) -> int:
    """Pixels a tick label centred on the end of *axis* (a pyqtgraph AxisItem) sticks out past it.

    Half its line height, rounded up: a plot whose top lane is labelled leaves this much room above it.
    """
    font = axis.style["tickFont"] or axis.font()
    return (QtGui.QFontMetrics(font).height() + 1) // 2 + 1
