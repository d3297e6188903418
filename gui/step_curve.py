"""A light step curve (``stepMode="center"``) that thins itself to the view's pixel width.

The interrupt-rate panel draws one step curve per CPU.  pyqtgraph's ``PlotDataItem`` costs ~7 ms of
set-up per curve (256 CPUs: ~1.8 s) where a bare ``PlotCurveItem`` costs ~0.5 ms, and its clipToView and
peak downsampling do not keep step data's one-more-edge-than-values shape (pyqtgraph 0.14 raised
"len(X) must be len(Y)+1" on every redraw of fine bins once the view was zoomed).  :class:`StepCurve`
is a ``PlotCurveItem`` that keeps the whole series and draws only the bins in view, and above
:data:`BINS_PER_PX` bins per pixel a peak envelope of them: the maximum and minimum of each group of
bins as two half-width steps, so no spike narrower than a pixel is lost.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

#: Bins per pixel of the view's width above which the curve draws the peak envelope (two steps a group).
BINS_PER_PX = 2


def peak_envelope(edges: np.ndarray, values: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray]:
    """Step data (``edges``: n + 1, ``values``: n) thinned to the maximum then the minimum of every *group*
    bins, each drawn half the group wide (a last, shorter group likewise; a single bin as it is)."""
    n = values.size
    if group <= 1 or n < 2 * group:
        return edges, values
    m = n // group
    head = values[:m * group].reshape(m, group)
    out_edges = np.empty(2 * m + 1, dtype=edges.dtype)
    out_edges[0::2] = edges[0:m * group + 1:group]
    out_edges[1::2] = edges[group // 2:m * group:group]
    out_values = np.empty(2 * m, dtype=values.dtype)
    out_values[0::2] = head.max(axis=1)
    out_values[1::2] = head.min(axis=1)
    rest = n - m * group
    if rest == 1:
        out_edges, out_values = np.append(out_edges, edges[-1]), np.append(out_values, values[-1])
    elif rest > 1:
        tail = values[m * group:]
        out_edges = np.append(out_edges, [edges[m * group + rest // 2], edges[-1]])
        out_values = np.append(out_values, [tail.max(), tail.min()])
    return out_edges, out_values


class StepCurve(pg.PlotCurveItem):
    """One step series (bin edges and values) drawn with *pen*; *name* puts it in the plot's legend."""

    def __init__(self, edges, values, pen, name: str | None = None):
        super().__init__(pen=pen, name=name)   # stepMode comes with the data (no data is not a step series)
        self._edges = self._values = None
        self._shown = None        # (first bin, end bin, group) of what is drawn now
        self._bounds = None
        self.set_steps(edges, values)

    def set_steps(self, edges, values) -> None:
        """New series: *edges* has one more entry than *values* (as ``stepMode="center"`` wants)."""
        edges, values = np.asarray(edges, dtype=float), np.asarray(values, dtype=float)
        if edges.size != values.size + 1:
            raise ValueError(f"a step curve needs one more edge than values, got {edges.size} and {values.size}")
        self._edges, self._values = edges, values
        finite = values[np.isfinite(values)]
        self._bounds = ((float(edges[0]), float(edges[-1])) if edges.size else (None, None),
                        (float(finite.min()), float(finite.max())) if finite.size else (None, None))
        self._shown = None
        self._thin()

    def getOriginalDataset(self):  # noqa: N802 - the name PlotDataItem uses
        """The whole series, as given (not what the view's width leaves of it)."""
        return self._edges, self._values

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 - pyqtgraph override
        # the whole series: auto-range must not shrink to the bins in view
        return self._bounds[ax]

    def viewRangeChanged(self):  # noqa: N802 - pyqtgraph override
        super().viewRangeChanged()
        self._thin()

    def viewTransformChanged(self):  # noqa: N802 - pyqtgraph override (a resize changes the pixel width)
        super().viewTransformChanged()
        self._thin()

    # the PlotItem's context menu sets these on all its curves: thinning here is always on
    def setDownsampling(self, ds=None, auto=None, method=None):  # noqa: N802 - PlotDataItem's API
        pass

    def setClipToView(self, clip):  # noqa: N802 - PlotDataItem's API
        pass

    def setAlpha(self, alpha, auto):  # noqa: N802 - PlotDataItem's API
        self.setOpacity(alpha)

    def setFftMode(self, state):  # noqa: N802 - PlotDataItem's API: a spectrum of rates has no use here
        pass

    def _thin(self) -> None:
        n = self._values.size
        lo, hi, px = 0, n, 0.0
        vb = self.getViewBox()   # while being added, the GraphicsView (no autoRangeEnabled), or None
        if isinstance(vb, pg.ViewBox) and n:
            px = float(vb.width())
            if not vb.autoRangeEnabled()[0]:
                left, right = vb.viewRange()[0]
                # one bin beyond each side, so that the steps run to the view's edges
                lo = max(0, int(np.searchsorted(self._edges, left, "right")) - 2)
                hi = min(n, int(np.searchsorted(self._edges, right, "left")) + 1)
                hi = max(hi, lo)
        # at most BINS_PER_PX groups a pixel (so at most twice that many values): ceil, not floor
        group = int(-(-(hi - lo) // (BINS_PER_PX * px))) if px >= 1 and hi - lo > BINS_PER_PX * px else 1
        key = (lo, hi, group)
        if key == self._shown:
            return
        self._shown = key
        edges, values = peak_envelope(self._edges[lo:hi + 1], self._values[lo:hi], group)
        self.setData(edges, values, stepMode="center")
