"""Join a simulated run to the architecture graph: which edges explain which ticks.

The simulation binds a backend to a model component (``sim_backend`` in
``assets/arch``) and, for a run with core changes, records in
``meta["effect_evidence"]`` every reachout edge a change hit (computed from
the model by :mod:`tickscope.sim.boot`, never written per scenario).  This
module answers the two questions the graph view asks of a run:

* which record rows belong to a backend component (its CPUs' TICK and timer
  IRQ records, when the run's backend is bound to that component), and
* which reachout edges caused the lost or duplicated ticks, and which ticks an
  edge caused.

An effect explains one outcome: ``hook-bypassed`` loses ticks,
``duplicate-do-timer`` duplicates jiffies updates.  The other effects (no
NO_HZ, no high-res, no broadcast) change the tick mode, not individual ticks,
so clicking a tick never selects them.  A self-contained backend has no
reachout edges, so no change ever names it and none of its edges light up.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickscope.sim import analysis
from tickscope.sim.boot import PV_MODEL
from tickscope.sim.events import Kind

#: Outcome of a tick (as the raster names it) -> the core-change effects that produce it.
OUTCOME_EFFECTS = {"lost": ("hook-bypassed",), "duplicated": ("duplicate-do-timer",)}
OUTCOMES = tuple(OUTCOME_EFFECTS)

#: What a run without a hypervisor reports as its backend, and the component binding it uses.
_BARE_METAL = {"none": "bare-metal", "": "bare-metal"}


def model_for_backend(backend: str) -> str:
    """The shipped model of a backend's era (``vmi-2007`` -> ``linux-2.6.21``, ...).

    The same table the simulation uses to find a core change's effect, so the
    view shows the model the run was judged against.  Unknown backends get
    ``linux-6.x``.
    """
    return PV_MODEL.get(backend or "none", "linux-6.x")


def run_backend(results) -> str:
    """The ``sim_backend`` name a run binds to (``bare-metal`` when there is no hypervisor)."""
    backend = str(results.meta.get("backend") or "none")
    return _BARE_METAL.get(backend, backend)


def bound_component(graph, backend: str) -> str | None:
    """The component of *graph* whose ``sim_backend`` is *backend* (``None`` if unbound)."""
    backend = _BARE_METAL.get(backend, backend)
    for name, attrs in sorted(graph.components.items()):
        if attrs.get("sim_backend") == backend:
            return name
    return None


def component_rows(results, graph, component: str) -> np.ndarray:
    """Rows of *results* that are *component*'s events.

    Parameters
    ----------
    results : Results
    graph : ArchGraph
    component : str

    Returns
    -------
    numpy.ndarray of bool
        One entry per record: the TICK and timer IRQ records of every CPU when
        the run's backend is bound to *component*; all false otherwise (a
        component the run did not use has no events in it).
    """
    mask = np.zeros(len(results), dtype=bool)
    if graph.components.get(component, {}).get("sim_backend") != run_backend(results):
        return mask
    return (results.kind == Kind.TICK) | (results.kind == Kind.IRQ)


# -- faults: lost slots and duplicated rows --------------------------------------

@dataclass
class TickFaults:
    """The run's lost tick slots and duplicated rows.

    Attributes
    ----------
    lost_time_ns, lost_cpu : numpy.ndarray
        Expiry (ns) and CPU of every lost slot (no record exists for them).
    duplicated : numpy.ndarray of bool
        Per record: a TICK handled twice for the same slot, or a JIFFIES update
        that pushed jiffies ahead of time (another CPU already did it).
    irq : numpy.ndarray of bool
        Per record: timer interrupts that handled no tick, the rows that show
        where a lost tick's interrupt went.
    """

    lost_time_ns: np.ndarray
    lost_cpu: np.ndarray
    duplicated: np.ndarray
    irq: np.ndarray

    def count(self, outcome: str) -> int:
        return int(self.lost_time_ns.size if outcome == "lost" else np.count_nonzero(self.duplicated))


def duplicated_rows(results) -> np.ndarray:
    """Per record: a duplicated tick, or a jiffies update for periods already accounted.

    jiffies count tick periods since boot.  Walking the JIFFIES records in time
    order, a record may account the periods elapsed (``time_ns // tick_nsec``,
    one period of slack for kernel-time offsets) that no earlier record
    accounted; what it adds beyond that repeats another CPU's update (the
    duplicate-do-timer effect).  A catch-up of several periods at once is never
    a duplicate.
    """
    out = np.zeros(len(results), dtype=bool)
    if not len(results):
        return out
    ticks = analysis.tick_outcomes(results)
    out[ticks["index"][ticks["outcome"] == analysis.OUTCOME_DUPLICATE]] = True
    tick_nsec = int(results.meta.get("tick_nsec", 0) or 0)
    j = np.flatnonzero(results.kind == Kind.JIFFIES)
    if tick_nsec > 0 and j.size:
        added = results.source[j].astype(np.int64)
        elapsed = results.time_ns[j] // tick_nsec + 1
        total = np.cumsum(added)
        # accounted_i = min(accounted_{i-1} + added_i, elapsed_i), in closed form (no Python loop per record)
        accounted = total + np.minimum(0, np.minimum.accumulate(elapsed - total))
        step = np.diff(accounted, prepend=0)
        out[j[step < added]] = True
    return out


def tick_faults(results) -> TickFaults:
    """Lost slots of every CPU and the duplicated rows of *results* (see :class:`TickFaults`)."""
    times, cpus = [], []
    if len(results) and "until_ns" in results.meta:
        for cpu in range(int(results.meta.get("ncpus", int(results.cpu.max()) + 1))):
            lost = analysis.lost_slots(results, cpu)
            times.append(lost.astype(np.int64))
            cpus.append(np.full(lost.size, cpu, dtype=np.int64))
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))
    return TickFaults(cat(times), cat(cpus), duplicated_rows(results), results.kind == Kind.IRQ)


def fault_at(results, faults: TickFaults, time_ns: int, cpu: int, tolerance_ns: int) -> str | None:
    """Is there a lost or duplicated tick on *cpu* within *tolerance_ns* of *time_ns*?

    Returns
    -------
    str or None
        ``"lost"``, ``"duplicated"`` or ``None``; the nearer one wins.
    """
    best, best_d = None, tolerance_ns + 1
    on_cpu = faults.lost_cpu == cpu
    if np.any(on_cpu):
        d = int(np.min(np.abs(faults.lost_time_ns[on_cpu] - int(time_ns))))
        if d < best_d:
            best, best_d = "lost", d
    rows = faults.duplicated & (results.cpu == cpu)
    if np.any(rows):
        d = int(np.min(np.abs(results.time_ns[rows] - int(time_ns))))
        if d < best_d:
            best, best_d = "duplicated", d
    return best


# -- edges ------------------------------------------------------------------------

def _evidence_keys(items) -> set:
    return {(e["file"], int(e["line"])) for e in items}


def cause_edges(results, graph, outcome: str | None = None) -> list[tuple[str, str, str]]:
    """The reachout edges of *graph* that ``meta["effect_evidence"]`` blames.

    Parameters
    ----------
    results : Results
    graph : ArchGraph
        Usually the run's model (:func:`model_for_backend`); in another model
        the same edges are found when they exist there with the same evidence.
    outcome : {"lost", "duplicated"}, optional
        Only the edges whose effect produces this outcome.

    Returns
    -------
    list of (source, target, "reachout")
        Sorted; empty for a run without core changes or whose backend has no
        reachout into them.

    Raises
    ------
    ValueError
        For an outcome other than ``lost`` or ``duplicated``.
    """
    if outcome is not None and outcome not in OUTCOME_EFFECTS:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    effects = OUTCOME_EFFECTS.get(outcome) if outcome else None
    component = bound_component(graph, run_backend(results))
    if component is None:
        return []
    found = set()
    for hit in results.meta.get("effect_evidence") or []:
        if effects is not None and hit.get("effect") not in effects:
            continue
        where = _evidence_keys(hit.get("evidence", []))
        for s, t, d in graph.edges("reachout"):
            if graph.component_of(s) != component or graph.symbol_name(t) != hit.get("symbol"):
                continue
            if not where or where & {(e.file, e.line) for e in d["evidence"]}:
                found.add((s, t, "reachout"))
    return sorted(found)


def edge_effects(results, graph, edge) -> list[dict]:
    """The ``effect_evidence`` entries that blame *edge* (``(source, target, class)``)."""
    s, t, cls = edge
    if cls != "reachout" or not graph.g.has_edge(s, t, key=cls):
        return []
    if graph.component_of(s) != bound_component(graph, run_backend(results)):
        return []
    mine = {(e.file, e.line) for e in graph.g.edges[s, t, cls]["evidence"]}
    out = []
    for hit in results.meta.get("effect_evidence") or []:
        if hit.get("symbol") != graph.symbol_name(t):
            continue
        where = _evidence_keys(hit.get("evidence", []))
        if not where or where & mine:
            out.append(hit)
    return out


def edge_outcomes(results, graph, edge) -> list[str]:
    """Which outcomes (``lost``, ``duplicated``) *edge* caused in this run."""
    effects = {h["effect"] for h in edge_effects(results, graph, edge)}
    return [o for o, effs in OUTCOME_EFFECTS.items() if effects & set(effs)]


def edge_rows(results, graph, edge, faults: TickFaults | None = None) -> np.ndarray:
    """Rows to highlight for the ticks *edge* caused.

    Duplicated rows for a duplicating edge; for an edge that loses ticks, the
    timer interrupts that arrived and handled no tick (a lost slot itself has
    no record).  All false for an edge that caused nothing in this run.
    """
    faults = faults or tick_faults(results)
    mask = np.zeros(len(results), dtype=bool)
    outcomes = edge_outcomes(results, graph, edge)
    if "duplicated" in outcomes:
        mask |= faults.duplicated
    if "lost" in outcomes and faults.lost_time_ns.size:
        mask |= faults.irq & np.isin(results.cpu, np.unique(faults.lost_cpu))
    return mask


def edge_lost_slots(results, graph, edge, faults: TickFaults | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(time_ns, cpu)`` of the lost slots *edge* caused (empty if it lost none)."""
    faults = faults or tick_faults(results)
    if "lost" not in edge_outcomes(results, graph, edge):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return faults.lost_time_ns, faults.lost_cpu
