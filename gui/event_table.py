"""The event table: a virtual table over the run's numpy columns.

The model never builds per-row Python objects: ``data()`` reads one cell
straight from the arrays, and filtering by CPU/kind keeps an int64 index array
built with numpy masks (or no array at all when nothing is filtered), so ten
million rows cost one mask pass and the rows on screen.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from tickscope.sim import raster
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.units import format_seconds_us

COLUMNS = ("time (s)", "cpu", "kind", "source", "value")
COL_TIME, COL_CPU, COL_KIND, COL_SOURCE, COL_VALUE = range(len(COLUMNS))
# kinds whose source column is a clock event device id
DEVICE_KIND_NAMES = frozenset({"TICK", "IRQ", "PROGRAM_ETIME", "MIN_DELTA", "RETRY"})
KTIME_MAX = 2**63 - 1
#: The kind box's entries for records read together (a CPU's tick stops beside its restarts, a broadcast enter beside
#: the IRQ and the wake-up it brought): one kind at a time split every pair.  Shown when the run holds two of them.
KIND_GROUPS = {
    "tick stop + restart": (Kind.TICK_STOP, Kind.TICK_RESTART),
    "idle + wake": (Kind.IDLE, Kind.WAKE),
    "broadcast: enter, IRQ, wake-up": (Kind.BC_ENTER, Kind.BC_IRQ, Kind.BROADCAST),
    "watchdog + clocksource switch": (Kind.WATCHDOG, Kind.CS_SWITCH),
    "programming: -ETIME, retry, min_delta": (Kind.PROGRAM_ETIME, Kind.RETRY, Kind.MIN_DELTA),
}


def kind_names(meta: dict) -> list[str]:
    """Name of every possible kind byte; kinds this build does not know show as their number."""
    names = [str(k) for k in range(256)]
    for k in Kind:
        names[int(k)] = k.name
    for name, k in (meta.get("kinds") or {}).items():
        if 0 <= int(k) < 256:
            names[int(k)] = str(name)
    return names


class EventTableModel(QAbstractTableModel):
    """Rows of a :class:`~tickscope.sim.results.Results`, optionally filtered by CPU and kind."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._res = None
        self._rows: np.ndarray | None = None  # None = every row, in log order
        self._n = 0
        self._kind_names = kind_names({})
        self._device_names: list[str] = []
        self._tick_device: list[int] = []
        self._broadcast_device = -1
        self._cstate_names: list[str] = raster.cstate_names({})
        self._clocksource_names: list[str] = []
        self._mode_names = {int(m): m.name for m in TickMode}
        self._cpus: frozenset | None = None
        self._kinds: frozenset | None = None

    # -- public API ----------------------------------------------------------
    def set_results(self, results) -> None:
        self.beginResetModel()
        self._res = results
        meta = results.meta if results is not None else {}
        self._kind_names = kind_names(meta)
        self._device_names = [str(d.get("name", i)) for i, d in enumerate(meta.get("devices", []))]
        self._tick_device = list(meta.get("tick_device", []))
        self._broadcast_device = meta.get("broadcast_device", -1)
        # the raster's and run --json's names: a machine with no C-states listed idles in HLT
        self._cstate_names = raster.cstate_names(meta)
        self._clocksource_names = [str(c.get("name", i)) for i, c in enumerate(meta.get("clocksources", []))]
        self._mode_names = {int(m): m.name for m in TickMode}
        self._mode_names.update({int(v): str(k) for k, v in (meta.get("modes") or {}).items()})
        self._apply_filter()
        self.endResetModel()

    def set_filter(self, cpus=None, kinds=None) -> None:
        """Show only rows whose CPU is in *cpus* and kind in *kinds* (None = any)."""
        self.beginResetModel()
        self._cpus = None if cpus is None else frozenset(int(c) for c in cpus)
        self._kinds = None if kinds is None else frozenset(int(k) for k in kinds)
        self._apply_filter()
        self.endResetModel()

    def cpu_filter(self) -> frozenset | None:
        """The CPUs shown (None = every CPU)."""
        return self._cpus

    def kind_filter(self) -> frozenset | None:
        """The kinds shown (None = every kind)."""
        return self._kinds

    def rows_of_logs(self, logs) -> np.ndarray:
        """Table rows of the log indices *logs* that the filter shows."""
        logs = np.asarray(logs, dtype=np.int64)
        if self._rows is None:
            return logs[(logs >= 0) & (logs < self._n)]
        pos = np.searchsorted(self._rows, logs)
        ok = pos < self._rows.size
        ok[ok] = self._rows[pos[ok]] == logs[ok]
        return pos[ok]

    def total_count(self) -> int:
        return 0 if self._res is None else len(self._res)

    def row_of_log(self, row: int) -> int:
        """Index into the results' columns of table row *row*."""
        return int(row if self._rows is None else self._rows[row])

    def record(self, row: int) -> tuple[int, int, int, int, int]:
        """``(time_ns, cpu, kind, source, value)`` of table row *row*."""
        i = self.row_of_log(row)
        r = self._res
        return int(r.time_ns[i]), int(r.cpu[i]), int(r.kind[i]), int(r.source[i]), int(r.value[i])

    def row_at_time(self, t_ns: int) -> int:
        """First table row at or after *t_ns* (the log is in time order); rowCount() if none."""
        if self._res is None or self._n == 0:
            return 0
        i = int(np.searchsorted(self._res.time_ns, t_ns, side="left"))
        return i if self._rows is None else int(np.searchsorted(self._rows, i, side="left"))

    def _apply_filter(self) -> None:
        r = self._res
        if r is None:
            self._rows, self._n = None, 0
            return
        mask = None
        if self._cpus is not None:
            mask = np.isin(r.cpu, np.fromiter(self._cpus, dtype=np.int64, count=len(self._cpus)))
        if self._kinds is not None:
            km = np.isin(r.kind, np.fromiter(self._kinds, dtype=np.int64, count=len(self._kinds)))
            mask = km if mask is None else mask & km
        self._rows = None if mask is None else np.flatnonzero(mask)
        self._n = len(r) if mask is None else int(self._rows.size)

    # -- Qt model interface ----------------------------------------------------
    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or self._res is None:
            return None
        col = index.column()
        if role == Qt.TextAlignmentRole:
            return int((Qt.AlignLeft if col in (COL_KIND, COL_SOURCE, COL_VALUE) else Qt.AlignRight) | Qt.AlignVCenter)
        if role not in (Qt.DisplayRole, Qt.ToolTipRole):
            return None
        t, cpu, kind, src, val = self.record(index.row())
        if role == Qt.ToolTipRole:
            return f"t = {t:,} ns  (log row {self.row_of_log(index.row()):,})"
        if col == COL_TIME:
            return format_seconds_us(t)
        if col == COL_CPU:
            return str(cpu)
        if col == COL_KIND:
            return self._kind_names[kind]
        if col == COL_SOURCE:
            return self.format_source(kind, src, cpu)
        return self.format_value(t, kind, src, val)

    # -- formatting per kind -----------------------------------------------------
    # Keyed by kind *name* so that a kind renumbered or not yet in this build's Kind
    # enum still formats by its meta name, and anything unknown shows raw numbers.
    def _device_name(self, did) -> str:
        return self._device_names[did] if did is not None and 0 <= did < len(self._device_names) else "?"

    def _cstate_name(self, state: int) -> str:
        # a state past the scenario's list is named as the raster's legend names it
        return self._cstate_names[state] if 0 <= state < len(self._cstate_names) else f"state {state}"

    def format_source(self, kind: int, src: int, cpu: int = 0) -> str:
        name = self._kind_names[kind]
        if name in DEVICE_KIND_NAMES:
            # source 0: the CPU's own tick device, 1: the broadcast device (sim/events.py)
            if src == 0:
                did = self._tick_device[cpu] if 0 <= cpu < len(self._tick_device) else None
                return self._device_name(did)
            if src == 1:
                return f"broadcast ({self._device_name(self._broadcast_device)})"
            return str(src)
        if name == "MODE":
            return self._mode_names.get(src, str(src))
        if name == "JIFFIES":
            return f"+{src}"
        if name in ("IDLE", "WAKE"):
            return self._cstate_name(src)
        if name in ("BROADCAST", "BC_IRQ"):
            return ("oneshot", "periodic")[src] if src < 2 else str(src)
        if name == "UTIMER":
            return f"timer {src}"
        if name in ("TICK_STOP", "TICK_RESTART"):
            return ""
        if name == "WATCHDOG":
            names = ("ok", "unstable", "wd_nsec", "cs_nsec", "wd_now", "wd_last", "cs_now", "cs_last", "override given up")
            return names[src] if src < len(names) else str(src)
        if name == "CS_SWITCH":
            return self._clocksource_names[src] if src < len(self._clocksource_names) else str(src)
        if name == "BC_ENTER":
            return ("accepted", "-EBUSY")[src] if src < 2 else str(src)
        return str(src)

    def format_value(self, t: int, kind: int, src: int, val: int) -> str:
        name = self._kind_names[kind]
        if name == "TICK":
            return f"slot {_at(val)}  latency {t - val:,} ns"
        if name == "IRQ":
            return f"ktime {_at(val)}"
        if name == "JIFFIES":
            return f"jiffies {val:,}"
        if name == "PROGRAM_ETIME":
            return f"-ETIME for expiry {_at(val)}"
        if name == "MIN_DELTA":
            return "reprogramming failure, giving up" if val < 0 else f"min_delta_ns {val:,}"
        if name in ("MODE", "TICK_RESTART"):
            return f"first expiry {_at(val)}"
        if name == "RETRY":
            return f"retries {val:,}"
        if name == "IDLE":
            return "predicted sleep: no timer pending" if val >= KTIME_MAX else f"predicted sleep {val:,} ns"
        if name == "WAKE":
            return f"residency {val:,} ns"
        if name == "TICK_STOP":
            return "no timer pending" if val >= KTIME_MAX else f"next expiry {_at(val)}"
        if name == "BROADCAST":
            return f"from CPU {val}"
        if name == "BC_IRQ":
            return f"{self._device_name(self._broadcast_device)} fired for {_at(val)}"
        if name == "UTIMER":
            return f"expiry {_at(val)}"
        if name == "WATCHDOG":
            if src <= 1:
                return f"skew {val:,} ns"
            if 4 <= src <= 7:
                return f"{val & (2**64 - 1):#x}"     # a raw counter read
            if src == 8:
                return self._clocksource_names[val] if 0 <= val < len(self._clocksource_names) else str(val)
            return f"{val:,} ns"
        if name == "CS_SWITCH":
            return f"ktime {_at(val)}"
        if name == "BC_ENTER":
            return f"deep state {self._cstate_name(val)}"
        return str(val)


def _group_of(kinds) -> str | None:
    """The kind box's group entry that shows exactly *kinds*, if any."""
    if kinds is None or len(kinds) < 2:
        return None
    wanted = {int(k) for k in kinds}
    return next((name for name, members in KIND_GROUPS.items() if {int(k) for k in members} == wanted), None)


def _same_record(a, b, i: int) -> bool:
    """Whether log row *i* is the same record in results *a* and *b* (the same run's log, grown)."""
    return all(int(getattr(a, col)[i]) == int(getattr(b, col)[i]) for col in ("time_ns", "cpu", "kind", "source", "value"))


def _at(t_ns: int) -> str:
    """An absolute time in the value column: printk's s.us with its unit (the column mixes s and ns)."""
    return f"{format_seconds_us(t_ns)} s"


class _Table(QTableView):
    enter_pressed = Signal(QModelIndex)

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentIndex().isValid():
            self.enter_pressed.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class EventTableView(QWidget):
    """The event log as a filterable table; clicking a row (or Enter) asks the raster to jump there."""

    jump_requested = Signal(object, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = EventTableModel(self)
        self.cpu_box = QComboBox()
        self.kind_box = QComboBox()
        self.cpu_box.setToolTip("Show only this CPU's records")
        self.kind_box.setToolTip("Show only records of this kind, or of kinds read together (tick stop + restart, "
                                 "idle + wake, broadcast, watchdog)")
        for box in (self.cpu_box, self.kind_box):
            # as wide as the longest entry ("TICK_RESTART (951)"): sized when first shown, with only "all"
            # in them, the kind box cut its entries to "WATCHDC"
            box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.count_label = QLabel()
        self.table = _Table()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        vh = self.table.verticalHeader()
        vh.hide()
        # Fixed row height: Qt then never measures rows, which keeps 1e7 rows instant.
        vh.setSectionResizeMode(QHeaderView.Fixed)
        vh.setDefaultSectionSize(self.table.fontMetrics().height() + 4)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.Interactive)
        hh.setStretchLastSection(True)
        em = self.table.fontMetrics().horizontalAdvance("0")
        for col, chars in ((COL_TIME, 14), (COL_CPU, 5), (COL_KIND, 15), (COL_SOURCE, 22)):
            self.table.setColumnWidth(col, em * chars)
        self.table.clicked.connect(self._emit_jump)
        self.table.enter_pressed.connect(self._emit_jump)
        self.cpu_box.currentIndexChanged.connect(self._filter_from_boxes)
        self.kind_box.currentIndexChanged.connect(self._filter_from_boxes)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("CPU"))
        bar.addWidget(self.cpu_box)
        bar.addWidget(QLabel("kind"))
        bar.addWidget(self.kind_box)
        bar.addWidget(self.count_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self._update_count()

    def set_results(self, results, summary=None) -> None:
        """Show *results*, keeping the user's CPU/kind filter and, while the log it was in goes on, the
        selected record (the panel is fed every snapshot of a run: both went back to "all" and the top)."""
        old_res, cpus, kinds = self.model._res, self.model.cpu_filter(), self.model.kind_filter()
        current = self.table.currentIndex()
        picked = self.model.row_of_log(current.row()) if current.isValid() else None
        self.model.set_results(results)
        meta = results.meta if results is not None else {}
        for box in (self.cpu_box, self.kind_box):
            box.blockSignals(True)
            box.clear()
        self.cpu_box.addItem("all", None)
        for c in range(int(meta.get("ncpus", 0))):
            self.cpu_box.addItem(str(c), c)
        self.kind_box.addItem("all", None)
        if results is not None and len(results):
            # bincount, not np.unique: one pass, no sort of 1e7 bytes
            counts = np.bincount(results.kind, minlength=256)
            names = kind_names(meta)
            for group, members in KIND_GROUPS.items():
                if np.count_nonzero(counts[list(members)]) >= 2:
                    self.kind_box.addItem(f"{group} ({int(counts[list(members)].sum()):,})", group)
                    self.kind_box.setItemData(self.kind_box.count() - 1, " + ".join(names[k] for k in members),
                                              Qt.ToolTipRole)
            if self.kind_box.count() > 1:
                self.kind_box.insertSeparator(self.kind_box.count())
            for k in np.flatnonzero(counts):
                self.kind_box.addItem(f"{names[k]} ({counts[k]:,})", int(k))
        if cpus is not None:   # the CPUs of the filter this machine still has
            cpus = sorted(c for c in cpus if c < int(meta.get("ncpus", 0))) or None
        if kinds is not None and len(kinds) == 1 and self.kind_box.findData(next(iter(kinds))) < 0:
            k = next(iter(kinds))   # not in these results (yet): the user's choice stays, with its count
            self.kind_box.addItem(f"{kind_names(meta)[k]} (0)", k)
        group = _group_of(kinds)
        if group is not None and self.kind_box.findData(group) < 0:   # a group this run holds one kind of (yet)
            n = 0 if results is None else int(np.count_nonzero(np.isin(results.kind, list(KIND_GROUPS[group]))))
            self.kind_box.addItem(f"{group} ({n:,})", group)
        for box in (self.cpu_box, self.kind_box):
            box.blockSignals(False)
        self.set_filter(cpus, kinds)
        if picked is not None and old_res is not None and results is not None and picked < min(len(old_res), len(results)) \
                and _same_record(old_res, results, picked):
            rows = self.model.rows_of_logs([picked])
            if rows.size:
                self.table.setCurrentIndex(self.model.index(int(rows[0]), 0))
                self.table.scrollTo(self.table.currentIndex(), QAbstractItemView.EnsureVisible)

    def set_filter(self, cpus=None, kinds=None) -> None:
        """Filter rows by CPU numbers and kind numbers (None = any); the combo boxes follow when they can."""
        self.model.set_filter(cpus, kinds)
        for box, sel in ((self.cpu_box, cpus), (self.kind_box, kinds)):
            sel = None if sel is None else list(sel)
            group = _group_of(sel) if box is self.kind_box else None
            if sel is None or len(sel) == 1 or group is not None:  # another multi-selection has no combo entry
                box.blockSignals(True)
                box.setCurrentIndex(max(0, box.findData(group or (None if sel is None else int(sel[0])))))
                box.blockSignals(False)
        self._update_count()

    def scroll_to_time(self, t_ns: int) -> int:
        """Select and show the first visible row at or after *t_ns*; returns that row."""
        row = min(self.model.row_at_time(t_ns), max(0, self.model.rowCount() - 1))
        if self.model.rowCount():
            idx = self.model.index(row, 0)
            self.table.setCurrentIndex(idx)
            self.table.scrollTo(idx, QAbstractItemView.PositionAtCenter)
        return row

    def _filter_from_boxes(self, _=None) -> None:
        c, k = self.cpu_box.currentData(), self.kind_box.currentData()
        kinds = None if k is None else KIND_GROUPS[k] if isinstance(k, str) else [k]
        self.model.set_filter(None if c is None else [c], kinds)
        self._update_count()

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.model.rowCount():,} of {self.model.total_count():,} log records")

    def _emit_jump(self, index) -> None:
        if index.isValid():
            t, cpu, *_ = self.model.record(index.row())
            self.jump_requested.emit(t, cpu)
