"""The graph model: components, files and symbols joined by classified edges.

One :class:`ArchGraph` serves every source (a shipped model, a C tree, a Python
package).  Nodes are components, files and symbols (functions, variables,
macros, ops tables); edges are references between symbols, each carrying one
class from :data:`EDGE_CLASSES` and the evidence (file, line, source text) of
every site that made it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import networkx as nx

COMPONENT_KINDS = ("core", "interface", "shared-lib", "backend", "hardware")

#: ``interface``: use of a symbol an interface declares (or registration of an
#: ops table through it); ``callback``: the core calling a backend through an
#: ops-table member; ``shared-lib``: use of the shared library; ``internal``:
#: within one component, or between two non-backend components (the graph
#: judges backends, not the core's own layering); ``reachout``: a backend using
#: a symbol defined outside its component that no interface offers (or the core
#: calling a backend directly); ``duplicate``: a function whose normalised body
#: matches a shared-library function.
EDGE_CLASSES = ("interface", "callback", "shared-lib", "internal", "reachout", "duplicate")

#: Edge classes that are compile-time dependencies of the source component
#: (used for the DSM and the cycle rule).  A callback is the core calling
#: through a table it owns, and a duplicate is a copy: neither is a dependency.
DEPENDENCY_CLASSES = ("interface", "shared-lib", "internal", "reachout")


@dataclass(frozen=True)
class Evidence:
    """One site backing an edge: *file* relative to the tree root, 1-based *line*."""

    file: str
    line: int
    text: str = ""

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "text": self.text}


@dataclass
class Violation:
    """A broken rule at one place, with the chain that shows it and a fix hint."""

    rule: str
    component: str
    file: str
    line: int
    symbol: str
    message: str
    fix: str
    chain: list = field(default_factory=list)
    status: str = ""  # "new" or "known" once compared with a baseline

    def key(self) -> tuple:
        """Identity for baselines: line numbers move, the rest does not."""
        return (self.rule, self.component, self.file, self.symbol)

    def as_dict(self) -> dict:
        d = asdict(self)
        if not d["status"]:
            del d["status"]
        return d


def classify_reference(src_comp, src_kind, dst_comp, dst_kind, is_interface) -> str:
    """Class of a reference from a symbol in *src_comp* to one defined in *dst_comp*.

    Parameters
    ----------
    src_comp, dst_comp : str
        Component names of the user and of the definition.
    src_kind, dst_kind : str
        Their kinds (one of :data:`COMPONENT_KINDS`).
    is_interface : bool
        Whether an interface (a header under the interface globs, or an
        interface component of a model) offers the symbol.

    Returns
    -------
    str
        One of :data:`EDGE_CLASSES` (never ``callback`` or ``duplicate``,
        which come from ops tables and body comparison instead).
    """
    if src_comp == dst_comp:
        return "internal"
    if dst_kind == "shared-lib":
        return "shared-lib"
    if is_interface:
        return "interface"
    if src_kind == "backend" or dst_kind == "backend":
        return "reachout"
    return "internal"


class ArchGraph:
    """A directed multigraph of components, files and symbols with classified edges.

    Attributes
    ----------
    g : networkx.MultiDiGraph
        Nodes carry ``kind``, ``component``, ``file``, ``line``; edges are keyed
        by their class and carry ``cls``, ``evidence`` (list of
        :class:`Evidence`) and ``dep`` (the component the source depends on).
    components : dict
        Component name -> attributes (``kind`` and, for models, ``time_model``,
        ``sim_backend``, ``paths``, ``description``).
    violations : list of Violation
        Filled by :func:`tickscope.sim.graph.rules.check`.
    warnings : list of str
        Files skipped or parsed only in part, named.
    """

    def __init__(self, name: str = "", source: str = ""):
        self.name = name
        self.source = source
        self.g = nx.MultiDiGraph()
        self.components: dict[str, dict] = {}
        self.violations: list[Violation] = []
        self.warnings: list[str] = []
        self.meta: dict = {}

    # -- building -----------------------------------------------------------
    def add_component(self, name: str, kind: str, **attrs) -> None:
        if kind not in COMPONENT_KINDS:
            raise ValueError(f"component {name!r}: kind {kind!r} is not one of {', '.join(COMPONENT_KINDS)}")
        self.components.setdefault(name, {}).update(kind=kind, **attrs)
        if name not in self.g:
            self.g.add_node(name, kind="component", component=name, file="", line=0, layer=kind)

    def add_node(self, node_id: str, kind: str, component: str, file: str = "", line: int = 0, **attrs) -> str:
        if node_id in self.g:
            data = self.g.nodes[node_id]
            if not data.get("line") and line:
                data.update(file=file, line=line)
            return node_id
        layer = self.components.get(component, {}).get("kind", "")
        self.g.add_node(node_id, kind=kind, component=component, file=file, line=line, layer=layer, **attrs)
        return node_id

    def add_edge(self, source: str, target: str, cls: str, evidence=(), dep: str | None = None, **attrs) -> None:
        """Add (or extend) the *cls* edge source -> target with *evidence* sites."""
        if cls not in EDGE_CLASSES:
            raise ValueError(f"edge class {cls!r} is not one of {', '.join(EDGE_CLASSES)}")
        if isinstance(evidence, Evidence):
            evidence = [evidence]
        if self.g.has_edge(source, target, key=cls):
            data = self.g.edges[source, target, cls]
            for ev in evidence:
                if ev not in data["evidence"]:
                    data["evidence"].append(ev)
            return
        if dep is None:
            dep = self.g.nodes[target].get("component", "") if target in self.g else ""
        self.g.add_edge(source, target, key=cls, cls=cls, evidence=list(evidence), dep=dep, **attrs)

    # -- reading ------------------------------------------------------------
    def kind_of(self, component: str) -> str:
        return self.components.get(component, {}).get("kind", "")

    def component_of(self, node_id: str) -> str:
        return self.g.nodes[node_id].get("component", "")

    def symbol_nodes(self):
        """Ids of the nodes that are neither components nor files."""
        return [n for n, d in self.g.nodes(data=True) if d["kind"] not in ("component", "file")]

    def edges(self, cls: str | None = None):
        """Yield ``(source, target, data)`` for every edge (of class *cls* if given)."""
        for s, t, k, d in self.g.edges(keys=True, data=True):
            if cls is None or k == cls:
                yield s, t, d

    def backends(self) -> list[str]:
        return sorted(n for n, a in self.components.items() if a["kind"] == "backend")

    def symbol_name(self, node_id: str) -> str:
        return self.g.nodes[node_id].get("symbol", node_id.rsplit(":", 1)[-1])
