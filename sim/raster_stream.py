"""Live raster frames: :class:`RasterStream` classifies only the records appended since the last frame.

Each update equals what :func:`tickscope.sim.raster.build` draws for the log up to its last jiffies
update (tests/sim/test_raster_stream.py holds them equal on every preset), so a run can be drawn at
20+ frames per second without re-analysing the whole log every frame.
"""
from __future__ import annotations

import numpy as np

from tickscope.sim import analysis, tick_grid
from tickscope.sim.npsets import member_of
from tickscope.sim.events import Kind
from tickscope.sim.growing_columns import GrowingColumns, SortedKeys
from tickscope.sim.raster import (
    BG_IDLE, BG_STEAL, MARK_BROADCAST, MARK_DUPLICATE, MARK_HW_ETIME, MARK_HW_FIRE, MARK_LATE, MARK_LOST,
    MARK_OFF_GRID, MARK_ON_TIME, MARK_STEAL, N_MARKS, RasterData, _device_of, _empty_pair, _in_spans, _sorted_pair,
    _span_state_names, cpu_lane_name, device_lane_names,
)
from tickscope.sim.results import Results


# drift samples per update once the log has over 4000 (where analysis thins too): kernel_time walks them in
# Python, ~50 us each; 256 cost 13 ms per live frame, 64 cost ~3 ms (measured on bare-metal-lapic 3600 s)
_DRIFT_CTX_SAMPLES = 64
_GRID = np.array(tick_grid._GRID_MODES, dtype=np.int64)


def _first_of_runs(keys: np.ndarray) -> np.ndarray:
    """True at the first occurrence of each key (in array order)."""
    order = np.argsort(keys, kind="stable")
    first = np.ones(keys.size, dtype=bool)
    s = keys[order]
    first[order[1:]] = s[1:] != s[:-1]
    return first


#: At most this many rows reserved per buffer (32 Mi rows x 2 int64 columns = 512 MiB of address space).
_RESERVE_MAX = 1 << 25


def _reserve_hint(meta: dict) -> int:
    """Rows to reserve for the per-tick buffers of a run with this meta (0 = no hint)."""
    until, hz, n = meta.get("run_until_ns"), meta.get("hz"), meta.get("ncpus")
    if not (until and hz and n):
        return 0
    return int(min(_RESERVE_MAX, int(until) * int(hz) * int(n) // 10**9 * 9 // 8 + 4096))


class RasterStream:
    """Raster data of a streaming run, updated from the records appended since the last update.

    :func:`build` classifies the whole log (O(records)); a live view calls
    :meth:`update` with each new snapshot and pays only for the new records
    (plus O(CPUs + steal periods)).  Decided on arrival, as :func:`build` decides
    them: duplicated, via broadcast, slot in steal, every hardware mark, idle
    and steal periods.  Expected slots are counted per tick segment from where
    the last update stopped; a slot is judged lost once it falls
    ``late_threshold_ns`` behind the run's end, and unmarked if its tick comes
    later.  Late versus on time and the kernel-time grid's cut-off use the
    kernel's drift interpolated from the jiffies updates of the new records
    (:func:`build` thins them over the whole log), so a tick within a few ns of
    ``late_threshold_ns`` may be judged differently until the final
    :func:`build` replaces the live data.

    Parameters
    ----------
    late_threshold_ns : int
        Latency above which a tick counts as late (as in :mod:`analysis`).
    """

    def __init__(self, late_threshold_ns: int = analysis.LATE_THRESHOLD_NS):
        self.late_threshold_ns = int(late_threshold_ns)
        self.rows = 0
        self.end_ns = 0
        self.meta: dict = {}
        self.ncpus = 0
        self._marks = {code: GrowingColumns(2) for code in range(1, N_MARKS)}
        self._ghost = GrowingColumns(2)
        self._closed = {}                        # background code -> GrowingColumns(3) of closed periods
        self._delivered = SortedKeys()          # cpu + ncpus * expiry of every TICK so far
        self._pending = (np.zeros(0, np.int64), np.zeros(0, np.int64))   # expected slots not judged yet
        self._history = np.zeros(0, dtype=np.int64)      # CS_SWITCH / MIGRATE rows and the JIFFIES row before each switch
        self._last_jiffies = -1
        self._njiffies = 0
        self._last_mode = None                  # per CPU: row of its last MODE record (-1 none)
        self._last_idle = self._last_wake = None
        self._seg = None                        # per CPU: open segment (mode, start, first, slots emitted)

    def _begin(self, res: Results) -> None:
        self.meta = res.meta
        n = int(res.meta.get("ncpus", int(res.cpu.max()) + 1 if len(res) else 1))
        self.ncpus = n
        self._last_mode = np.full(n, -1, dtype=np.int64)
        self._last_idle = np.full(n, -1, dtype=np.int64)
        self._last_wake = np.full(n, -1, dtype=np.int64)
        self._idle_start = np.zeros(n, dtype=np.int64)
        self._idle_code = np.zeros(n, dtype=np.int64)
        self._latest = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)   # per CPU: its last expected slot emitted
        self._seg = {"mode": np.full(n, int(analysis.TickMode.NONE), dtype=np.int64), "start": np.zeros(n, np.int64),
                     "first": np.zeros(n, np.int64), "emitted": np.zeros(n, np.int64), "open": np.zeros(n, bool)}
        self._grid_ok = "tick_nsec" in res.meta and "tick_device" in res.meta and "devices" in res.meta
        # a run's ticks, expected slots and device interrupts number about CPUs x HZ x seconds: reserve that
        hint = _reserve_hint(res.meta)
        if hint:
            for buf in (self._marks[MARK_ON_TIME], self._marks[MARK_HW_FIRE], self._ghost, self._delivered):
                buf.reserve(hint)

    def update(self, res: Results, final: bool = False) -> None:
        """Take in the records of *res* after the ones already seen.

        The stream moves up to the run's last jiffies update (the newest point where the
        kernel's drift, hence every tick's lateness and the kernel-time grid, is known), or
        up to ``meta["now_ns"]`` when *final* or when the machine has no clocksources: after
        each update, :meth:`data` equals :func:`build` of the log up to there.

        Parameters
        ----------
        res : Results
            The whole log so far (a later snapshot of the same run), time-ordered.
        final : bool
            The run stopped here: judge everything up to ``meta["now_ns"]``.

        Raises
        ------
        ValueError
            If *res* has fewer records than already taken in (a different run: make a new stream).
        """
        if len(res) < self.rows:
            raise ValueError(f"results have {len(res)} records, the stream has taken in {self.rows}: not the same run")
        if not self.meta:
            self._begin(res)
        self.meta = res.meta
        now = int(res.meta.get("now_ns", int(res.time_ns[-1]) if len(res) else 0))
        lo = self.rows
        if final or not res.meta.get("clocksources"):
            end = now
        else:
            jif = lo + np.flatnonzero(res.kind[lo:] == Kind.JIFFIES)
            end = int(res.time_ns[jif[-1]]) if jif.size else self.end_ns
        end = max(end, self.end_ns)
        hi = max(lo, int(np.searchsorted(res.time_ns, end, "right")))
        kind = res.kind[lo:hi]
        rows = {k: lo + np.flatnonzero(kind == k) for k in (Kind.TICK, Kind.IRQ, Kind.PROGRAM_ETIME, Kind.MODE,
                                                             Kind.TICK_STOP, Kind.TICK_RESTART, Kind.JIFFIES,
                                                             Kind.CS_SWITCH, Kind.MIGRATE, Kind.IDLE, Kind.WAKE,
                                                             Kind.STEAL, Kind.BC_IRQ)}
        ctx = self._context(res, rows)
        self._spans(res, rows)
        self._ticks(res, rows, ctx)
        if self._grid_ok:
            self._expected(res, rows, ctx, end)
            pending = analysis.pending_slots(res, 0)
            if pending.size:  # as build: a re-injection backlog still on its way is not lost
                self._unmark_lost(pending * np.int64(self.ncpus))
        self._hardware(res, rows)
        self._last_mode_update(res, rows[Kind.MODE])
        if rows[Kind.JIFFIES].size:
            self._last_jiffies = int(rows[Kind.JIFFIES][-1])
            self._njiffies += int(rows[Kind.JIFFIES].size)
        if final and res.meta.get("settled_ns") is not None:
            end = min(end, max(self.end_ns, int(res.meta["until_ns"])))  # as build: the view ends at until
            if self._grid_ok and end >= int(res.meta["until_ns"]):
                self._settled_grid(res, end)
        if final and self._grid_ok:
            self._off_grid(res)
        self.rows, self.end_ns = hi, end

    # -- pieces of update ------------------------------------------------------------------------
    def _context(self, res, rows) -> tuple[Results, np.ndarray]:
        """A small Results holding what the kernel clock and the tick modes need for the new records.

        Rows (in log order): clocksource switches and migrations so far, each CPU's last MODE
        record, the jiffies updates around the new records (thinned to a few hundred), and the
        new MODE and TICK records.  Returns it with the positions of the new TICK rows in it.
        """
        jif = rows[Kind.JIFFIES]
        sw = rows[Kind.CS_SWITCH]
        if sw.size:  # kernel_time reads the jiffies value in force at each switch
            allj = np.concatenate([[self._last_jiffies], jif]) if self._last_jiffies >= 0 else jif
            before = np.searchsorted(allj, sw) - 1
            self._history = np.concatenate([self._history, allj[before[before >= 0]]])
        if sw.size or rows[Kind.MIGRATE].size:
            self._history = np.sort(np.concatenate([self._history, sw, rows[Kind.MIGRATE]]), kind="stable")
        # analysis thins the drift samples to 4000 over the whole log: below that, use every one (exact)
        if self._njiffies + jif.size > 4000 and jif.size > _DRIFT_CTX_SAMPLES:
            jif = jif[np.linspace(0, jif.size - 1, _DRIFT_CTX_SAMPLES).astype(np.int64)]
        prev = [np.array([self._last_jiffies], dtype=np.int64)] if self._last_jiffies >= 0 else []
        modes = self._last_mode[self._last_mode >= 0]
        take = np.concatenate(prev + [self._history, modes, jif, rows[Kind.MODE], rows[Kind.TICK]]).astype(np.int64)
        take = np.sort(take, kind="stable")   # sorted runs: timsort merges them (npsets)
        if take.size > 1:
            take = take[np.concatenate([[True], take[1:] != take[:-1]])]
        ctx = Results(*(col[take] for col in res.columns().values()), meta=res.meta)
        return ctx, np.searchsorted(take, rows[Kind.TICK])

    def _last_mode_update(self, res, mode_rows):
        if mode_rows.size:
            self._last_mode[res.cpu[mode_rows].astype(np.int64)] = mode_rows   # the last row per CPU wins

    def _spans(self, res, rows):
        w = rows[Kind.WAKE]
        if w.size:
            t, v = res.time_ns[w], res.value[w]
            code = np.minimum(BG_IDLE + res.source[w].astype(np.int64), BG_STEAL - 1)
            cpu = res.cpu[w].astype(np.int64)
            for c in np.flatnonzero(np.bincount(code)).tolist():
                m = code == c
                self._closed.setdefault(c, GrowingColumns(3)).append(t[m] - v[m], t[m], cpu[m])
            self._last_wake[cpu] = w
        i = rows[Kind.IDLE]
        if i.size:
            cpu = res.cpu[i].astype(np.int64)
            self._last_idle[cpu] = i                     # fancy assignment keeps the last row per CPU
            self._idle_start[cpu] = res.time_ns[i]
            self._idle_code[cpu] = np.minimum(BG_IDLE + res.source[i].astype(np.int64), BG_STEAL - 1)
        s = rows[Kind.STEAL]
        if s.size:
            t = res.time_ns[s]
            self._closed.setdefault(BG_STEAL, GrowingColumns(3)).append(t - res.value[s], t, res.cpu[s].astype(np.int64))

    def _ticks(self, res, rows, ctx_and_pos):
        idx = rows[Kind.TICK]
        if not idx.size:
            return
        ctx, pos = ctx_and_pos
        cpu = res.cpu[idx].astype(np.int64)
        t, exp = res.time_ns[idx], res.value[idx]
        lat = analysis.tick_latency(ctx, pos)
        keys = exp * np.int64(self.ncpus) + cpu
        dup = self._delivered.contains(keys) | ~_first_of_runs(keys)
        self._delivered.add(keys)
        self._unmark_lost(keys)
        code = np.where(dup, MARK_DUPLICATE, np.where(lat > self.late_threshold_ns, MARK_LATE, MARK_ON_TIME))
        code = code.astype(np.uint8)
        steal = self._closed.get(BG_STEAL)
        if steal is not None and steal.n:
            plain = (code == MARK_ON_TIME) | (code == MARK_LATE)
            code[plain & _in_spans(exp, cpu, steal.views())] = MARK_STEAL
        code[(code == MARK_ON_TIME) & (res.source[idx] == 1)] = MARK_BROADCAST
        for c in (MARK_ON_TIME, MARK_BROADCAST, MARK_STEAL, MARK_LATE, MARK_DUPLICATE):
            m = code == c
            if m.any():
                self._marks[c].append_sorted(t[m], cpu[m])

    def _unmark_lost(self, keys):
        lost = self._marks[MARK_LOST]
        if not lost.n:
            return
        lt, ll = lost.views()
        gone = member_of(lt * np.int64(self.ncpus) + ll, keys)
        if gone.any():  # a tick came after its slot was judged lost: the slot was only late
            lost.replace(lt[~gone], ll[~gone])

    def _expected(self, res, rows, ctx_and_pos, end):
        """Emit every CPU's expected slots counted up to *end*; judge the ones behind the horizon."""
        ctx, _ = ctx_and_pos
        seg = self._seg
        b = np.sort(np.concatenate([rows[Kind.MODE], rows[Kind.TICK_STOP], rows[Kind.TICK_RESTART]]), kind="stable")
        # the segments to count: each CPU's open one, then every one the new boundary records start
        bcpu = res.cpu[b].astype(np.int64)
        order = np.argsort(bcpu, kind="stable")
        b, bcpu = b[order], bcpu[order]
        bkind = res.kind[b]
        # mode in force at each boundary: the CPU's last MODE record up to it, else the one before the chunk
        new_cpu = np.ones(b.size, dtype=bool)
        new_cpu[1:] = bcpu[1:] != bcpu[:-1]
        at = np.arange(b.size)
        group_start = np.maximum.accumulate(np.where(new_cpu, at, 0)) if b.size else at
        pos = np.maximum.accumulate(np.where(bkind == Kind.MODE, at, -1)) if b.size else at
        pos[pos < group_start] = -1
        carried = np.where(self._last_mode[bcpu] >= 0, res.source[np.maximum(self._last_mode[bcpu], 0)],
                           analysis.TickMode.NONE).astype(np.int64)
        mode_now = np.where(pos >= 0, res.source[b[np.maximum(pos, 0)]].astype(np.int64), carried)
        bmode = np.where(bkind == Kind.TICK_STOP, int(analysis.TickMode.NONE), mode_now)
        open_cpu = np.flatnonzero(seg["open"])
        cpus = np.concatenate([open_cpu, bcpu])
        modes = np.concatenate([seg["mode"][open_cpu], bmode])
        starts = np.concatenate([seg["start"][open_cpu], res.time_ns[b]])
        firsts = np.concatenate([seg["first"][open_cpu], res.value[b]])
        emitted = np.concatenate([seg["emitted"][open_cpu], np.zeros(b.size, np.int64)])
        order = np.lexsort((starts, np.concatenate([np.zeros(open_cpu.size), np.ones(b.size)]), cpus))
        knd = np.concatenate([np.full(open_cpu.size, -1, dtype=np.int64), bkind.astype(np.int64)])[order]
        cpus, modes, starts, firsts, emitted = (a[order] for a in (cpus, modes, starts, firsts, emitted))
        last = np.ones(cpus.size, dtype=bool)
        last[:-1] = cpus[1:] != cpus[:-1]
        by_stop = ~last & np.append(knd[1:] == Kind.TICK_STOP, False)
        ends = np.where(last, end, np.append(starts[1:], end))
        counts = tick_grid._grid_counts(ctx, modes, firsts, ends, end)
        for i in np.flatnonzero(np.isin(modes, [analysis.TickMode.PERIODIC, analysis.TickMode.PERIODIC_BC])).tolist():
            dev = tick_grid._periodic_device(ctx, int(cpus[i]), int(modes[i]))
            if dev is not None:
                counts[i] = tick_grid._periodic_count_until(dev, int(starts[i]), int(min(ends[i], end)))
        new = np.maximum(counts - emitted, 0)
        slots, lanes = [], []
        grid = np.isin(modes, _GRID) & (new > 0)
        if grid.any():
            n = new[grid]
            k = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n) + np.repeat(emitted[grid], n)
            slots.append(np.repeat(firsts[grid], n) + k * np.int64(self.meta["tick_nsec"]))
            lanes.append(np.repeat(cpus[grid], n))
        for i in np.flatnonzero(~np.isin(modes, _GRID) & (new > 0)).tolist():
            dev = tick_grid._periodic_device(ctx, int(cpus[i]), int(modes[i]))
            k = np.arange(emitted[i] + 1, counts[i] + 1, dtype=np.int64)
            slots.append(tick_grid._periodic_slots(dev, int(starts[i]), k))
            lanes.append(np.full(k.size, cpus[i], dtype=np.int64))
        emitted = np.maximum(counts, emitted)
        # the last segment of each CPU stays open
        seg["open"][cpus[last]] = True
        for name, values in (("mode", modes), ("start", starts), ("first", firsts), ("emitted", emitted)):
            seg[name][cpus[last]] = values[last]
        # the last slot before a tick stop, if never handled, was skipped by the stop, not expected
        # (tick_grid.expected_slots): drop it if new, take it back if emitted while the segment was open
        stopped = by_stop & np.isin(modes, _GRID) & (counts > 0)
        last_slot = firsts[stopped] + (counts[stopped] - 1) * np.int64(self.meta["tick_nsec"])
        at_stop = last_slot * np.int64(self.ncpus) + cpus[stopped]
        if at_stop.size:
            self._retract(at_stop)
            if slots:
                st, sl = np.concatenate(slots), np.concatenate(lanes)
                keep = ~self._skipped(st, sl, at_stop)
                slots, lanes = [st[keep]], [sl[keep]]
        if slots:
            st, sl = self._once(*_sorted_pair(np.concatenate(slots), np.concatenate(lanes)))
            self._ghost.append_sorted(st, sl)
            np.maximum.at(self._latest, sl, st)
            self._pending = (np.concatenate([self._pending[0], st]), np.concatenate([self._pending[1], sl]))
        self._judge(end - self.late_threshold_ns)

    def _once(self, times, lanes):
        """New slots less the ones already emitted: a segment may start on the slot the one before it ended
        with (a mode switch run by the tick for a slot while the kernel's clock still read before it), which
        is one slot, as tick_grid.expected_slots counts it."""
        n = np.int64(self.ncpus)
        keys = times * n + lanes
        keep = np.ones(keys.size, dtype=bool)
        if keys.size > 1:
            _, first = np.unique(keys, return_index=True)
            if first.size < keys.size:
                keep[:] = False
                keep[first] = True
        again = keep & (times <= self._latest[lanes])   # at or before the lane's last slot emitted so far
        if again.any():
            gt, gl = self._ghost.views()
            keep[again] = ~member_of(keys[again], np.asarray(gt, dtype=np.int64) * n + gl)
        return (times, lanes) if keep.all() else (times[keep], lanes[keep])

    def _skipped(self, times, lanes, at_stop):
        """Mask of the slots (times, lanes) whose key (time * ncpus + lane) is in *at_stop* and never handled."""
        keys = np.asarray(times, dtype=np.int64) * np.int64(self.ncpus) + lanes
        out = member_of(keys, at_stop)
        if out.any():
            out[out] = ~self._delivered.contains(keys[out])
        return out

    def _retract(self, at_stop):
        """Take back emitted slots that a tick stop skipped (not judged yet if the stop is within
        late_threshold of the last update's end; a judged one is unmarked as lost)."""
        pt, pl = self._pending
        gone = self._skipped(pt, pl, at_stop)
        if gone.any():
            self._pending = (pt[~gone], pl[~gone])
        lost = self._marks[MARK_LOST]
        was_lost = np.zeros(0, dtype=bool)
        if lost.n:
            lt, ll = lost.views()
            was_lost = self._skipped(lt, ll, at_stop)
            if was_lost.any():
                lost.replace(lt[~was_lost], ll[~was_lost])
        if gone.any() or was_lost.any():
            gt, gl = self._ghost.views()
            keep = ~self._skipped(gt, gl, at_stop)
            self._ghost.replace(gt[keep], gl[keep])

    def _settled_grid(self, res, end):
        """As build at the run's end: the slots the end delivered just past ``until`` (a kernel clock a few ns
        behind) are expected, a re-injection backlog still on its way is not."""
        gt, gl = self._ghost.views()
        latest = np.full(self.ncpus, np.iinfo(np.int64).min, dtype=np.int64)   # each CPU's last emitted slot
        np.maximum.at(latest, gl.astype(np.int64), gt)
        add_t, add_l = [], []
        for cpu in range(self.ncpus):
            tail = tick_grid.settled_tail(res, cpu, end)
            tail = tail[self._delivered.contains(tail * np.int64(self.ncpus) + cpu)] if tail.size else tail
            tail = tail[tail > latest[cpu]]
            if tail.size:
                add_t.append(tail)
                add_l.append(np.full(tail.size, cpu, dtype=np.int64))
        pending = analysis.pending_slots(res, 0)
        gone = (gl == 0) & member_of(gt, pending) if pending.size else np.zeros(gt.size, dtype=bool)
        if add_t or gone.any():
            t = np.concatenate([gt[~gone]] + add_t)
            lane = np.concatenate([gl[~gone].astype(np.int64)] + add_l)
            self._ghost.replace(*_sorted_pair(t, lane))

    def _off_grid(self, res):
        """As build: the tick-handler runs for no slot of the grid (NO_HZ) are marked off the grid, not on time
        or late (live frames mark them like the rest; the grid they are judged against ends with the run).

        The grid is the ghost the stream has built (equal to build's: tests/sim/test_raster_stream.py), so
        this is one pass over the log's TICK records, not analysis.tick_outcomes' grid per CPU again."""
        n = np.int64(self.ncpus)
        rows = np.flatnonzero(res.kind == Kind.TICK)
        cpu = res.cpu[rows].astype(np.int64)
        gt, gl = self._ghost.views()
        off = ~member_of(res.value[rows].astype(np.int64) * n + cpu, gt * n + gl)
        if not off.any():
            return
        times, cpus = res.time_ns[rows][off].astype(np.int64), cpu[off]
        keys = times * n + cpus
        for code in (MARK_ON_TIME, MARK_BROADCAST, MARK_STEAL, MARK_LATE, MARK_DUPLICATE):
            marks = self._marks[code]
            if marks.n:
                mt, ml = marks.views()
                gone = member_of(mt * np.int64(self.ncpus) + ml, keys)
                if gone.any():
                    marks.replace(mt[~gone], ml[~gone])
        self._marks[MARK_OFF_GRID].replace(*_sorted_pair(times, cpus))

    def _judge(self, horizon):
        pt, pl = self._pending
        due = pt <= horizon
        if not due.any():
            return
        jt, jl = pt[due], pl[due]
        self._pending = (pt[~due], pl[~due])
        lost = ~self._delivered.contains(jt * np.int64(self.ncpus) + jl)
        if lost.any():
            self._marks[MARK_LOST].append_sorted(*_sorted_pair(jt[lost], jl[lost]))

    def _hardware(self, res, rows):
        names = device_lane_names(self.meta)
        for code_hw, kinds in ((MARK_HW_FIRE, (Kind.TICK, Kind.IRQ, Kind.BC_IRQ)), (MARK_HW_ETIME, (Kind.PROGRAM_ETIME,))):
            r = np.sort(np.concatenate([rows[k] for k in kinds]), kind="stable")
            if not r.size:
                continue
            dev = _device_of(res, r, self.meta)
            ok = (dev >= 0) & (dev < len(names))
            if ok.any():
                self._marks[code_hw].append_sorted(res.time_ns[r[ok]], self.ncpus + dev[ok])

    # -- output ----------------------------------------------------------------------------------
    def data(self, hardware: bool = False) -> RasterData:
        """What the raster draws now: a :class:`RasterData` sharing the stream's arrays (never written again)."""
        lane_names = [cpu_lane_name(c) for c in range(self.ncpus)]
        marks = {c: a.views() for c, a in self._marks.items()}
        growth = {c: a.token() for c, a in self._marks.items()}
        if hardware:
            lane_names += device_lane_names(self.meta)
        else:
            marks[MARK_HW_FIRE] = marks[MARK_HW_ETIME] = _empty_pair()
            growth[MARK_HW_FIRE] = growth[MARK_HW_ETIME] = (0, 0)
        spans = {c: a.views() for c, a in self._closed.items() if a.n}
        growth.update({("span", c): a.token() for c, a in self._closed.items() if a.n})
        if self._last_idle is not None:
            # an idle period with no WAKE after it yet is open until the run's end
            open_cpu = np.flatnonzero((self._last_idle >= 0) & (self._last_idle > self._last_wake))
            start, code = self._idle_start[open_cpu], self._idle_code[open_cpu]
            for c in np.flatnonzero(np.bincount(code)).tolist() if open_cpu.size else ():
                m = code == c
                parts = (start[m], np.maximum(start[m], np.int64(self.end_ns)), open_cpu[m])
                old = spans.get(c)
                spans[c] = parts if old is None else tuple(np.concatenate([a, b]) for a, b in zip(old, parts))
                growth.setdefault(("span", c), (0, 0))   # open periods only: nothing closed to keep
        counts = {c: int(v[0].size) for c, v in marks.items()}
        ghost = self._ghost.views()
        growth["ghost"] = self._ghost.token()
        counts["expected"] = int(ghost[0].size)
        return RasterData(lane_names, self.ncpus, marks, ghost, self.end_ns, counts, hardware, spans,
                          _span_state_names(self.meta, spans), growth=growth)
