"""Build an :class:`ArchGraph` from a C source tree with tree-sitter-c.

Every ``.c``/``.h`` file under the root is read into
:class:`~tickscope.sim.graph.cfacts.FileFacts` (what it defines and uses, see
:mod:`~tickscope.sim.graph.cfacts`).  After all files are read, every use is
resolved to a definition (same file, then same component, then anywhere) and
classified with :func:`~tickscope.sim.graph.model.classify_reference`; ops
tables whose members the core calls become callback edges, and backend
functions whose bodies match a shared-library function become duplicate edges.

A symbol is interface if an interface header declares it (enum constants
included), or if it is exported (``EXPORT_SYMBOL*``) and no header in the tree
declares it; a tree without any interface header takes the non-static symbols
of its core, hardware and library components that no header declares as
interface (with a warning).  A name in ``[interface] internal`` is a reachout
even where the tree holds no definition of it.

A file that does not parse is graphed as far as tree-sitter recovers and named
in a warning; a ``.c``/``.h`` file holding NUL bytes is skipped with a warning.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import tree_sitter as ts

from tickscope.sim.errors import InputError
from tickscope.sim.graph.cfacts import _LANG, Definition, FileFacts, parse_file
from tickscope.sim.graph.layers import Layers
from tickscope.sim.graph.model import ArchGraph, Evidence, classify_reference

SOURCE_SUFFIXES = (".c", ".h")
#: Bodies shorter than this many tokens are never called duplicates: one-line
#: getters match each other by accident.
MIN_DUPLICATE_TOKENS = 20
#: Records with fewer fields are too generic to call a shared time model.
MIN_RECORD_FIELDS = 3


def scan_tree(root: Path):
    """Yield ``(relpath, absolute path)`` of every ``.c``/``.h`` file, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if f.endswith(SOURCE_SUFFIXES):
                full = Path(dirpath) / f
                found.append((full.relative_to(root).as_posix(), full))
    return sorted(found)


def import_tree(root, layers: Layers | None = None) -> ArchGraph:
    """Graph a C tree.

    Parameters
    ----------
    root : str or Path
        The tree root; every path in the graph is relative to it.
    layers : Layers, optional
        Component assignment; the Linux-like defaults when omitted.

    Returns
    -------
    ArchGraph
        With ``warnings`` naming skipped and partly parsed files.

    Raises
    ------
    InputError
        If *root* is not a directory, or holds no .c or .h file.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: {'not a directory (give the tree it is in)' if root.exists() else 'no such directory'}")
    layers = layers or Layers()
    graph = ArchGraph(name=root.name, source=str(root))
    parser = ts.Parser(_LANG)
    files: list[FileFacts] = []
    scanned = 0
    for rel, full in scan_tree(root):
        scanned += 1
        try:
            data = full.read_bytes()
        except OSError as exc:
            graph.warnings.append(f"{rel}: skipped, cannot read ({exc.strerror})")
            continue
        if b"\0" in data[:65536]:
            graph.warnings.append(f"{rel}: skipped, binary file")
            continue
        comp, kind = layers.assign(rel)
        facts, error_line = parse_file(rel, data, comp, kind, parser)
        if error_line is not None:
            graph.warnings.append(f"{rel}: does not parse (first error at line {error_line}); graphed as far as it goes")
        files.append(facts)
    if not scanned:
        # an empty graph passed `--baseline` in CI ("0 new, 0 known", exit 0) for a mistyped or wrong folder
        raise InputError(f"{root}: no C sources (.c, .h) in this tree; give the kernel tree's folder")
    _resolve(graph, files, layers)
    return graph


def _evidence(facts: FileFacts, line: int) -> Evidence:
    raw = facts.lines[line - 1] if 0 < line <= len(facts.lines) else b""
    return Evidence(facts.path, line, raw.decode("utf-8", "replace").strip()[:200])


def _resolve(graph: ArchGraph, files: list, layers: Layers) -> None:
    for f in files:
        graph.add_component(f.component, f.kind)
    defs: dict[str, list[Definition]] = defaultdict(list)
    iface_decl: dict[str, tuple] = {}
    header_decl: dict[str, tuple] = {}   # declared (or defined) in any header of the tree
    exported: dict[str, FileFacts] = {}
    for f in files:
        graph.add_node(f.path, "file", f.component, f.path, 0)
        is_header = f.path.endswith(".h")
        header_iface = layers.is_interface_header(f.path)
        for d in f.defs:
            if is_header:
                d.static = False  # a header's static inline is visible to every includer
                header_decl.setdefault(d.name, (f.path, d.line, f.component))
            defs[d.name].append(d)
            if header_iface:
                iface_decl.setdefault(d.name, (f.path, d.line, f.component))
        if is_header:
            for name, line in f.declared:
                header_decl.setdefault(name, (f.path, line, f.component))
                if header_iface:
                    iface_decl.setdefault(name, (f.path, line, f.component))
        for name in f.exported:
            exported.setdefault(name, f)
    # An exported symbol that no header in the tree declares is part of the
    # module interface whose header is not in the tree (a partial checkout).
    for name, f in exported.items():
        if name not in header_decl and layers.exports_are_interface:
            d = next((d for d in defs.get(name, ()) if d.file == f.path), None)
            iface_decl.setdefault(name, (f.path, d.line if d else 0, f.component))
    if files and not any(layers.is_interface_header(f.path) for f in files):
        # A partial checkout without its public headers (kernel/time +
        # drivers/clocksource, no include/): what a private header does not
        # declare, and the core, an arch layer or a library defines non-static,
        # is taken as offered to everyone.
        graph.warnings.append(
            "no interface header in the tree (none matches " + ", ".join(layers.interface_headers)
            + "): non-static symbols of core, hardware and library components that no header in the tree "
              "declares are taken as interface")
        for name, ds in defs.items():
            if name in header_decl or name in iface_decl:
                continue
            d = next((d for d in ds if not d.static and d.kind != "macro"
                      and graph.kind_of(d.component) in ("core", "hardware", "shared-lib", "interface")), None)
            if d is not None:
                iface_decl[name] = (d.file, d.line, d.component)
    for name in layers.internal_symbols:
        iface_decl.pop(name, None)

    def node_for(d: Definition) -> str:
        if not d.node:
            d.node = f"{d.file}:{d.name}"
            graph.add_node(d.node, d.kind, d.component, d.file, d.line, symbol=d.name)
        return d.node

    for f in files:
        for d in f.defs:
            if d.kind in ("function", "ops"):
                node_for(d)

    def resolve(name: str, file: str, comp: str):
        cands = defs.get(name)
        if not cands:
            return None
        same_file = [d for d in cands if d.file == file]
        if same_file:
            return same_file[0]
        visible = [d for d in cands if not d.static]
        if not visible:
            return None
        same_comp = [d for d in visible if d.component == comp]
        if same_comp:
            return same_comp[0]
        return min(visible, key=lambda d: (graph.kind_of(d.component) == "backend", d.file))

    decl_nodes: dict[str, str] = {}

    def declaration_node(name: str) -> str:
        path, line, comp = iface_decl[name]
        nid = decl_nodes.get(name)
        if nid is None:
            nid = graph.add_node(f"{path}:{name}", "declaration", comp, path, line, symbol=name)
            decl_nodes[name] = nid
        return nid

    def internal_node(name: str):
        path, line, comp = header_decl.get(name, ("", 0, ""))
        if not path and defs.get(name):  # defined, but static where it is defined
            d = defs[name][0]
            path, line, comp = d.file, d.line, d.component
        if not path:
            comp = next((c for c, a in graph.components.items() if a["kind"] == "core"), "")
        nid = decl_nodes.get(name)
        if nid is None:
            nid = graph.add_node(f"{path or '(outside the tree)'}:{name}", "declaration", comp, path, line, symbol=name)
            decl_nodes[name] = nid
        return nid, comp

    for f in files:
        src_kind = f.kind
        for fname, sym, line in f.refs:
            src = f"{f.path}:{fname}"
            target = resolve(sym, f.path, f.component)
            is_iface = sym in iface_decl
            if target is None:
                if sym in layers.internal_symbols:
                    # a named core internal whose definition is not in the tree
                    tnode, tcomp = internal_node(sym)
                    tkind, tdkind = graph.kind_of(tcomp), "declaration"
                elif not is_iface:
                    continue  # defined outside the tree (printk, ...): nothing to judge
                else:
                    tnode = declaration_node(sym)
                    tcomp, tkind, tdkind = iface_decl[sym][2], graph.kind_of(iface_decl[sym][2]), "declaration"
            else:
                tnode, tcomp, tkind, tdkind = node_for(target), target.component, graph.kind_of(target.component), target.kind
            cls = classify_reference(f.component, src_kind, tcomp, tkind, is_iface)
            if tdkind == "macro" and cls in ("interface", "internal"):
                continue  # constants from headers: noise in the picture, no dependency worth judging
            dep = iface_decl[sym][2] if cls == "interface" else tcomp
            graph.add_edge(src, tnode, cls, _evidence(f, line), dep=dep, symbol=sym)

    # callbacks: the core calling through an ops member a backend filled in
    field_callers = defaultdict(list)
    for f in files:
        for fname, member, line, stype in f.field_calls:
            field_callers[member].append((f, fname, line, stype))
    record_owner = {}
    for f in files:
        for rec in f.records:
            record_owner.setdefault(rec[0], f)
    for f in files:
        for var, struct_type, member, value, line in f.ops:
            target = resolve(value, f.path, f.component)
            if target is None or target.kind != "function":
                continue
            ops_ev = _evidence(f, line)
            # a caller whose object is declared as another struct type calls another table
            callers = [(cf, fn, ln) for cf, fn, ln, stype in field_callers.get(member, ())
                       if cf.component != target.component and graph.kind_of(cf.component) != "backend"
                       and not (stype and struct_type and stype != struct_type)]
            if callers:
                for cf, fn, ln in callers:
                    graph.add_edge(f"{cf.path}:{fn}", node_for(target), "callback", [_evidence(cf, ln), ops_ev],
                                   dep=target.component, member=member, ops=var)
            else:
                tname = f"struct {struct_type}" if struct_type else f"ops {var}"
                owner = record_owner.get(struct_type)
                graph.add_node(tname, "type", owner.component if owner else "", owner.path if owner else "", 0, symbol=tname)
                graph.add_edge(tname, node_for(target), "callback", ops_ev, dep=target.component, member=member, ops=var)

    # duplicates of shared-library functions
    lib_bodies = {}
    for f in files:
        if f.kind == "shared-lib":
            for name, line, digest, ntok in f.functions:
                if ntok >= MIN_DUPLICATE_TOKENS:
                    lib_bodies.setdefault(digest, (f, name))
    for f in files:
        if f.kind != "backend":
            continue
        for name, line, digest, ntok in f.functions:
            hit = lib_bodies.get(digest) if ntok >= MIN_DUPLICATE_TOKENS else None
            if hit:
                lf, lname = hit
                graph.add_edge(f"{f.path}:{name}", f"{lf.path}:{lname}", "duplicate", _evidence(f, line),
                               dep=lf.component, symbol=lname)

    graph.meta["records"] = [
        {"component": f.component, "name": name, "file": f.path, "line": line, "signature": list(sig)}
        for f in files if f.kind == "backend" for name, line, sig, timeish in f.records
        if timeish and len(sig) >= MIN_RECORD_FIELDS
    ]
    graph.meta["files"] = len(files)
