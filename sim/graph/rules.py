"""The rules from the 2007 debate, applied to an :class:`ArchGraph`.

``reachout``
    a backend uses a symbol defined outside its component that no interface
    offers ("self contained and not reaching out into core kernel code").
``duplicate-math``
    a backend carries its own copy of a shared-library function ("common code
    like the 128 bit math is in a shared library").
``shareable``
    backends with the same time model (structurally equal time records, or the
    same declared ``time_model`` in a model) that share no implementation
    ("shareable between hypervisors which have the same time model").
``layering``
    the core calling a backend other than through an ops table (or, for a
    Python package, an import that a declared contract forbids).
``cycles``
    a dependency cycle between components.

Every violation names where (file, line), the symbol, the chain of nodes that
shows it and a fix hint.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import networkx as nx

from tickscope.sim.graph.model import DEPENDENCY_CLASSES, ArchGraph, Violation

RULES = ("reachout", "duplicate-math", "shareable", "layering", "cycles")

_CLOCKEVENTS_FIX = ("register a clock event device (clockevents_config_and_register) and let its interrupt "
                    "handler call evt->event_handler")
#: Fix hints for the internals the 2.6.21 VMI timer reached; keys are symbol
#: names, matched exactly.
REACHOUT_FIXES = {
    "set_intr_gate": "register a clock event device (clockevents_config_and_register) instead of hooking the APIC timer vector",
    "LOCAL_TIMER_VECTOR": "register a clock event device (clockevents_config_and_register) instead of hooking the APIC timer vector",
    "smp_apic_timer_interrupt": "register a clock event device instead of copying the LAPIC interrupt wrapper",
    "do_timer": "let the tick core advance jiffies: " + _CLOCKEVENTS_FIX,
    "xtime_lock": "let the tick core advance jiffies: " + _CLOCKEVENTS_FIX,
    "update_process_times": "let the tick core account process time: " + _CLOCKEVENTS_FIX,
    "profile_tick": "let the tick core do profiling ticks: " + _CLOCKEVENTS_FIX,
    "account_steal_time": "report steal through the paravirt steal_clock hook instead of charging cpustat directly",
    "next_timer_interrupt": "support CLOCK_EVT_FEAT_ONESHOT and let NO_HZ idle stop the tick instead of a private tickless idle",
    "nohz_cpu_mask": "support CLOCK_EVT_FEAT_ONESHOT and let NO_HZ idle stop the tick instead of a private tickless idle",
}
DEFAULT_REACHOUT_FIX = ("use only interface symbols (clockevents/clocksource API, declared in an interface header); "
                        "if the core lacks one, add it to the interface instead of calling an internal")


def _ev(data):
    return data["evidence"][0] if data["evidence"] else None


def check(graph: ArchGraph) -> list[Violation]:
    """Run every rule; store and return the violations, sorted by rule, file, line."""
    out: list[Violation] = []
    out += _reachout_and_layering(graph)
    out += _duplicate_math(graph)
    out += _shareable(graph)
    out += _forbidden_imports(graph)
    out += _cycles(graph)
    out.sort(key=lambda v: (RULES.index(v.rule), v.file, v.line, v.symbol))
    graph.violations = out
    return out


def _reachout_and_layering(graph: ArchGraph):
    out = []
    for s, t, d in graph.edges():
        scomp, tcomp = graph.component_of(s), graph.component_of(t)
        skind, tkind = graph.kind_of(scomp), graph.kind_of(tcomp)
        sym = graph.symbol_name(t)
        if d["cls"] == "reachout" and skind == "backend":
            fix = REACHOUT_FIXES.get(sym, DEFAULT_REACHOUT_FIX)
            for ev in d["evidence"]:
                out.append(Violation(
                    "reachout", scomp, ev.file, ev.line, sym,
                    f"{scomp} reaches into {sym} of {tcomp or 'the core'} ({tkind or 'unknown'}) from {graph.symbol_name(s)}; "
                    f"{sym} is not part of any interface",
                    fix, [scomp, s, t, tcomp]))
        elif skind == "core" and tkind == "backend" and d["cls"] in ("reachout", "interface", "internal"):
            for ev in d["evidence"]:
                out.append(Violation(
                    "layering", scomp, ev.file, ev.line, sym,
                    f"core {scomp} calls backend {tcomp} directly ({graph.symbol_name(s)} -> {sym}) instead of through an ops table",
                    "let the backend register an ops table through the interface and call it through the table member",
                    [scomp, s, t, tcomp]))
    return out


def _duplicate_math(graph: ArchGraph):
    out = []
    for s, t, d in graph.edges("duplicate"):
        scomp = graph.component_of(s)
        lib = graph.symbol_name(t)
        ev = _ev(d)
        lib_file = graph.g.nodes[t].get("file", "")
        out.append(Violation(
            "duplicate-math", scomp, ev.file if ev else graph.g.nodes[s].get("file", ""), ev.line if ev else 0, lib,
            f"{graph.symbol_name(s)} in {scomp} duplicates the shared {lib}"
            + (f" ({lib_file})" if lib_file else "") + " with its own copy of the math",
            f"call the shared {lib}() instead of keeping a private copy", [scomp, s, t, graph.component_of(t)]))
    return out


def _shared_uses(graph: ArchGraph) -> dict:
    uses = defaultdict(set)
    for s, t, d in graph.edges("shared-lib"):
        uses[graph.component_of(s)].add(t)
    return uses


def _shareable(graph: ArchGraph):
    out = []
    uses = _shared_uses(graph)
    groups = defaultdict(list)  # time model -> [(component, file, line, record)]
    for rec in graph.meta.get("records", []):
        groups[("record", tuple(rec["signature"]))].append((rec["component"], rec["file"], rec["line"], rec["name"]))
    for name, attrs in sorted(graph.components.items()):
        if attrs.get("kind") == "backend" and attrs.get("time_model"):
            groups[("model", attrs["time_model"])].append(
                (name, attrs.get("evidence_file", ""), attrs.get("evidence_line", 0), attrs["time_model"]))
    for (how, key), members in groups.items():
        for a, b in combinations(sorted(set(members)), 2):
            if a[0] == b[0] or uses.get(a[0], set()) & uses.get(b[0], set()):
                continue
            for me, other in ((a, b), (b, a)):
                what = (f"time record {me[3]} has the same layout as {other[3]} in {other[0]}" if how == "record"
                        else f"time model {key!r} is also implemented by {other[0]}")
                out.append(Violation(
                    "shareable", me[0], me[1], me[2], other[3] if how == "record" else key,
                    f"{me[0]}: {what}, but the two share no implementation",
                    "move the common read/scale code for this time model into one shared library "
                    "(as pvclock.c did for Xen and KVM) and use it from both backends",
                    [me[0], other[0]]))
    return out


def _forbidden_imports(graph: ArchGraph):
    out = []
    forbidden = graph.meta.get("forbidden", [])  # [(source prefix, forbidden prefix, contract name)]
    if not forbidden:
        return out
    for s, t, d in graph.edges():
        for src_prefix, bad_prefix, contract in forbidden:
            if _under(s, src_prefix) and _under(t, bad_prefix):
                for ev in d["evidence"]:
                    out.append(Violation(
                        "layering", graph.component_of(s), ev.file, ev.line, t,
                        f"{s} imports {t}, which the contract {contract!r} forbids",
                        "move the code to the layer allowed to import it, or invert the dependency", [s, t]))
    return out


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def component_dependencies(graph: ArchGraph, from_interfaces: bool = True) -> nx.DiGraph:
    """Component-level dependency graph; each edge holds its ``count`` and first ``evidence``.

    With *from_interfaces* false, uses from an interface component (the inline
    helpers of a header calling the code behind it) are left out.
    """
    dg = nx.DiGraph()
    dg.add_nodes_from(graph.components)
    for s, t, d in graph.edges():
        if d["cls"] not in DEPENDENCY_CLASSES:
            continue
        a, b = graph.component_of(s), d.get("dep") or graph.component_of(t)
        if not from_interfaces and graph.kind_of(a) == "interface":
            continue
        if not a or not b or a == b or b not in graph.components:
            continue
        if dg.has_edge(a, b):
            dg.edges[a, b]["count"] += len(d["evidence"]) or 1
        else:
            dg.add_edge(a, b, count=len(d["evidence"]) or 1, evidence=_ev(d), via=(s, t))
    return dg


def _cycles(graph: ArchGraph):
    out = []
    # a header declaring an API and inlining calls into its implementation is
    # not a cycle: the interface's own uses are left out
    dg = component_dependencies(graph, from_interfaces=False)
    for scc in nx.strongly_connected_components(dg):
        if len(scc) < 2:
            continue
        sub = dg.subgraph(scc)
        start = min(scc)
        cycle = nx.find_cycle(sub, source=start)
        chain = [u for u, _v in cycle] + [cycle[0][0]]
        ev = dg.edges[cycle[0][0], cycle[0][1]]["evidence"]
        out.append(Violation(
            "cycles", chain[0], ev.file if ev else "", ev.line if ev else 0, " -> ".join(chain),
            f"dependency cycle between components: {' -> '.join(chain)}",
            "break the cycle: move what both sides need into a shared library or an interface, "
            "so dependencies point one way", chain))
    return out
