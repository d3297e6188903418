"""Architecture models and core changes shipped in ``assets/arch``.

A model is data: components (kind, the symbols each defines, the files it
covers, and for backends the ``time_model`` and the ``sim_backend`` the
simulation binds to) and references between symbols with evidence (kernel path,
line, what the line does; ``verified = false`` with ``line = 0`` where the
line could not be checked against that version's sources).  The class of a
reference is *computed* from the components (only ``callback`` and
``duplicate`` may be declared), so a backend's reachout is never written per
scenario.

A core change (``assets/arch/changes/NAME.toml``) names core symbols whose
behaviour changes and the effect on any backend that reaches them;
:func:`affected_backends` joins the two.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from tickscope.sim.errors import InputError
from tickscope.sim.graph.model import COMPONENT_KINDS, ArchGraph, Evidence, classify_reference

SIM_BACKENDS = ("vmi-2007", "vmi-clockevents", "xen-pv", "kvm", "hyperv", "bare-metal")

#: What happens to a backend that reaches a changed core symbol.
EFFECTS = {
    "hook-bypassed": "the backend's hook no longer runs: its ticks are lost",
    "duplicate-do-timer": "jiffies are advanced by every CPU that runs the backend's handler",
    "no-nohz": "the tick cannot be stopped in idle: the backend keeps ticking at HZ",
    "no-highres": "no high-resolution timers: the core never sees a oneshot device",
    "no-broadcast": "no broadcast: the core never sees a device it could replace in deep idle",
}
DECLARABLE_CLASSES = ("callback", "duplicate")

_MODEL_KEYS = {"name", "description", "kernel", "notes", "component", "reference"}
_COMPONENT_KEYS = {"name", "kind", "paths", "symbols", "time_model", "sim_backend", "description", "since"}
_REFERENCE_KEYS = {"from", "to", "class", "evidence", "note"}
_EVIDENCE_KEYS = {"file", "line", "text", "verified", "commit"}
_CHANGE_KEYS = {"name", "description", "effect", "symbols"}


def _arch_dir():
    return resources.files("tickscope.assets").joinpath("arch")


def list_models() -> dict[str, str]:
    """Shipped model names -> one-line descriptions."""
    out = {}
    for res in sorted(_arch_dir().iterdir(), key=lambda r: r.name):
        if res.name.endswith(".toml"):
            data = tomllib.loads(res.read_text(encoding="utf-8"))
            out[res.name[:-5]] = data.get("description", "")
    return out


def list_changes() -> dict[str, str]:
    """Shipped core-change names -> descriptions."""
    out = {}
    for res in sorted(_arch_dir().joinpath("changes").iterdir(), key=lambda r: r.name):
        if res.name.endswith(".toml"):
            out[res.name[:-5]] = tomllib.loads(res.read_text(encoding="utf-8")).get("description", "")
    return out


def _read(kind: str, name: str, known) -> tuple[dict, str]:
    if name not in known:
        raise InputError(f"unknown {kind} {name!r} (known: {', '.join(sorted(known))})")
    folder = _arch_dir() if kind == "model" else _arch_dir().joinpath("changes")
    origin = f"assets/arch/{'' if kind == 'model' else 'changes/'}{name}.toml"
    return tomllib.loads(folder.joinpath(f"{name}.toml").read_text(encoding="utf-8")), origin


def _check_keys(table, allowed, where):
    if not isinstance(table, dict):
        raise InputError(f"{where}: must be a table")
    bad = set(table) - allowed
    if bad:
        raise InputError(f"{where}: unknown key {sorted(bad)[0]!r} (allowed: {', '.join(sorted(allowed))})")


def build_model(data: dict, origin: str) -> ArchGraph:
    """Validate a model table and build its graph (violations not yet checked).

    Raises
    ------
    InputError
        Naming *origin* and the key at fault.
    """
    _check_keys(data, _MODEL_KEYS, origin)
    graph = ArchGraph(name=data.get("name", origin), source=origin)
    graph.meta.update(description=data.get("description", ""), kernel=data.get("kernel", ""), model=True)
    owner: dict[str, str] = {}
    for i, comp in enumerate(data.get("component", [])):
        where = f"{origin}: component[{i}]"
        _check_keys(comp, _COMPONENT_KEYS, where)
        name, kind = comp.get("name"), comp.get("kind")
        if not isinstance(name, str) or not name:
            raise InputError(f"{where}.name: must be a non-empty string")
        if kind not in COMPONENT_KINDS:
            raise InputError(f"{where}.kind: {kind!r} is not one of {', '.join(COMPONENT_KINDS)}")
        sim = comp.get("sim_backend")
        if sim is not None and sim not in SIM_BACKENDS:
            raise InputError(f"{where}.sim_backend: {sim!r} is not one of {', '.join(SIM_BACKENDS)}")
        paths = list(comp.get("paths", []))
        graph.add_component(name, kind, paths=paths, time_model=comp.get("time_model", ""),
                            sim_backend=sim or "", description=comp.get("description", ""),
                            since=comp.get("since", ""), evidence_file=paths[0] if paths else "", evidence_line=0)
        for sym in comp.get("symbols", []):
            if sym in owner:
                raise InputError(f"{where}.symbols: {sym!r} is already defined by component {owner[sym]!r}")
            owner[sym] = name
            graph.add_node(sym, "symbol", name, paths[0] if paths else "", 0, symbol=sym)
    for i, ref in enumerate(data.get("reference", [])):
        where = f"{origin}: reference[{i}]"
        _check_keys(ref, _REFERENCE_KEYS, where)
        src, dst = ref.get("from"), ref.get("to")
        for key, sym in (("from", src), ("to", dst)):
            if sym not in owner:
                raise InputError(f"{where}.{key}: symbol {sym!r} is not defined by any component")
        evidence = []
        for j, ev in enumerate(ref.get("evidence", [])):
            _check_keys(ev, _EVIDENCE_KEYS, f"{where}.evidence[{j}]")
            if not isinstance(ev.get("file"), str) or not isinstance(ev.get("line"), int):
                raise InputError(f"{where}.evidence[{j}]: needs file (string) and line (integer, 0 if unverified)")
            evidence.append(Evidence(ev["file"], ev["line"], ev.get("text", "")))
        if not evidence:
            raise InputError(f"{where}.evidence: at least one {{file, line}} is required")
        scomp, tcomp = owner[src], owner[dst]
        declared = ref.get("class")
        if declared is not None and declared not in DECLARABLE_CLASSES:
            raise InputError(f"{where}.class: only {', '.join(DECLARABLE_CLASSES)} may be declared; "
                             "the other classes are computed from the components")
        tkind = graph.kind_of(tcomp)
        cls = declared or classify_reference(scomp, graph.kind_of(scomp), tcomp, tkind, tkind == "interface")
        graph.add_edge(src, dst, cls, evidence, dep=tcomp, note=ref.get("note", ""),
                       verified=all(ev.get("verified", True) for ev in ref.get("evidence", [])))
    return graph


@lru_cache(maxsize=None)
def _model_data(name: str):
    return _read("model", name, list_models())


def load_model(name: str) -> ArchGraph:
    """Build the graph of the shipped model *name* (see :func:`list_models`).

    Raises
    ------
    InputError
        If no such model is shipped or it is malformed.
    """
    data, origin = _model_data(name)
    return build_model(data, origin)


def load_change(name: str) -> dict:
    """A shipped core change: ``{name, description, effect, symbols}``.

    Raises
    ------
    InputError
        If no such change is shipped or it is malformed.
    """
    data, origin = _read("change", name, list_changes())
    _check_keys(data, _CHANGE_KEYS, origin)
    if data.get("effect") not in EFFECTS:
        raise InputError(f"{origin}: effect {data.get('effect')!r} is not one of {', '.join(EFFECTS)}")
    syms = data.get("symbols")
    if not isinstance(syms, list) or not syms or not all(isinstance(s, str) for s in syms):
        raise InputError(f"{origin}: symbols must be a non-empty list of core symbol names")
    return {"name": name, "description": data.get("description", ""), "effect": data["effect"], "symbols": list(syms)}


def affected_backends(model_name: str, change_names) -> dict[str, list[dict]]:
    """Which simulated backends a set of core changes breaks, from the model's reachout edges.

    Parameters
    ----------
    model_name : str
        A shipped model (``linux-2.6.21``, ...).
    change_names : iterable of str
        Shipped core changes (``lapic-irq-path``, ...).

    Returns
    -------
    dict
        Every ``sim_backend`` bound in the model -> a list of
        ``{"change", "effect", "symbol", "evidence"}`` (evidence: list of
        ``{file, line, text}``), one per reachout edge into a changed symbol.
        A backend without reachout edges maps to an empty list by construction.

    Raises
    ------
    InputError
        For an unknown model or change.
    """
    graph = load_model(model_name)
    changes = [load_change(c) for c in change_names]
    out: dict[str, list[dict]] = {}
    for comp, attrs in sorted(graph.components.items()):
        if attrs.get("sim_backend"):
            out.setdefault(attrs["sim_backend"], [])
    for s, t, d in graph.edges("reachout"):
        sim = graph.components[graph.component_of(s)].get("sim_backend")
        if not sim:
            continue
        for ch in changes:
            if t in ch["symbols"]:
                out[sim].append({"change": ch["name"], "effect": ch["effect"], "symbol": t,
                                 "evidence": [e.as_dict() for e in d["evidence"]]})
    return out
