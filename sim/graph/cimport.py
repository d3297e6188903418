"""Build an :class:`ArchGraph` from a C source tree with tree-sitter-c.

Per file: function definitions, the identifiers each body uses (calls,
variables, macros), calls through struct members (``dev->set_next_event()``),
designated initializers of ops tables (``.set_next_event = foo``), includes,
declarations and struct layouts.  After all files are read, every use is
resolved to a definition (same file, then same component, then anywhere) and
classified with :func:`~tickscope.sim.graph.model.classify_reference`.

A file that does not parse is graphed as far as tree-sitter recovers and named
in a warning; a ``.c``/``.h`` file holding NUL bytes is skipped with a warning.
"""
from __future__ import annotations

import bisect
import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts
import tree_sitter_c as tsc

from tickscope.sim.errors import InputError
from tickscope.sim.graph.layers import Layers
from tickscope.sim.graph.model import ArchGraph, Evidence, classify_reference

SOURCE_SUFFIXES = (".c", ".h")
#: Bodies shorter than this many tokens are never called duplicates: one-line
#: getters match each other by accident.
MIN_DUPLICATE_TOKENS = 20
#: Records with fewer fields are too generic to call a shared time model.
MIN_RECORD_FIELDS = 3

_LANG = ts.Language(tsc.language())
# One query per file; matching runs in C, so Python only touches captured
# nodes (a full Python tree walk was ~10x slower on arch/x86/kernel).
_QUERY = ts.Query(_LANG, """
(function_definition) @fdef
(function_declarator declarator: (identifier) @fname)
(call_expression function: (identifier) @call)
(call_expression function: (field_expression field: (field_identifier) @fcall))
(identifier) @id
(init_declarator declarator: (identifier) @local)
(declaration declarator: (identifier) @local)
(pointer_declarator declarator: (identifier) @local)
(array_declarator declarator: (identifier) @local)
(parameter_declaration declarator: (identifier) @local)
(preproc_def name: (identifier) @macro)
(preproc_function_def name: (identifier) @macro)
(preproc_include path: (_) @include)
(initializer_pair designator: (field_designator (field_identifier) @dfield) value: (identifier) @dval)
(struct_specifier name: (type_identifier) @sname body: (field_declaration_list) @sbody)
(declaration) @decl
(ERROR) @error
""")

_C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline int
long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool asm __asm__ bool
""".split())
_TOKEN_RE = re.compile(rb"[A-Za-z_]\w*|0[xX][0-9A-Fa-f]+[uUlL]*|\d+[uUlL]*|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|\S")
_COMMENT_RE = re.compile(rb"/\*.*?\*/|//[^\n]*", re.S)


@dataclass
class Definition:
    name: str
    kind: str            # function | variable | macro | ops
    file: str
    line: int
    component: str
    static: bool = False
    node: str = ""


@dataclass
class FileFacts:
    """What one file contributes, before resolution."""

    path: str
    component: str
    kind: str
    lines: list = field(default_factory=list)
    functions: list = field(default_factory=list)   # (name, line, start, end, body_hash, ntokens)
    refs: list = field(default_factory=list)        # (function name, symbol, line)
    field_calls: list = field(default_factory=list)  # (function name, member, line)
    ops: list = field(default_factory=list)         # (var, struct type, member, value, line)
    includes: list = field(default_factory=list)
    records: list = field(default_factory=list)     # (struct name, line, signature)
    defs: list = field(default_factory=list)        # Definition without node
    declared: list = field(default_factory=list)    # (name, line) prototypes and externs


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _unwrap(decl):
    """Innermost declarator and whether a function declarator was on the way."""
    is_func = False
    while decl is not None and decl.type != "identifier":
        if decl.type == "function_declarator":
            is_func = True
        inner = decl.child_by_field_name("declarator")
        if inner is None:
            return None, is_func
        decl = inner
    return decl, is_func


def _body_fingerprint(src: bytes):
    """Hash of a body with identifiers renamed in order of appearance and literals abstracted."""
    names: dict[bytes, str] = {}
    out = []
    for tok in _TOKEN_RE.findall(_COMMENT_RE.sub(b" ", src)):
        c = tok[:1]
        if c.isalpha() or c == b"_":
            word = tok.decode("ascii", "replace")
            out.append(word if word in _C_KEYWORDS else names.setdefault(tok, f"v{len(names)}"))
        elif c.isdigit():
            out.append("N")
        elif c in (b'"', b"'"):
            out.append("S")
        else:
            out.append(tok.decode("ascii", "replace"))
    return hashlib.sha1(" ".join(out).encode()).hexdigest(), len(out)


def _record_signature(body) -> tuple:
    """Field types of a struct body in order, names dropped (structural equality)."""
    sig = []
    for f in body.named_children:
        if f.type != "field_declaration":
            continue
        ftype = f.child_by_field_name("type")
        base = " ".join(_text(ftype).split()) if ftype is not None else "?"
        for d in f.children_by_field_name("declarator"):
            mark = ""
            while d is not None and d.type != "field_identifier":
                mark += {"pointer_declarator": "*", "array_declarator": "[]", "function_declarator": "()"}.get(d.type, "")
                d = d.child_by_field_name("declarator")
            sig.append(base + mark)
    return tuple(sig)


def parse_file(path: str, data: bytes, component: str, kind: str, parser: ts.Parser):
    """Extract the facts of one file; returns ``(FileFacts, error_line or None)``."""
    tree = parser.parse(data)
    facts = FileFacts(path, component, kind, data.split(b"\n"))
    caps = ts.QueryCursor(_QUERY).captures(tree.root_node)
    get = lambda name: caps.get(name, [])  # noqa: E731

    fdefs = sorted(get("fdef"), key=lambda n: n.start_byte)
    starts = [n.start_byte for n in fdefs]
    names = [None] * len(fdefs)
    fname_nodes = get("fname")

    def owner(node):
        i = bisect.bisect_right(starts, node.start_byte) - 1
        if i >= 0 and node.end_byte <= fdefs[i].end_byte:
            return i
        return -1

    for n in fname_nodes:
        i = owner(n)
        if i >= 0 and names[i] is None:
            decl = fdefs[i].child_by_field_name("declarator")
            if decl is not None and decl.start_byte <= n.start_byte < decl.end_byte:
                names[i] = _text(n)
    locals_ = [set() for _ in fdefs]
    for n in get("local"):
        i = owner(n)
        if i >= 0:
            locals_[i].add(_text(n))
    for i, fd in enumerate(fdefs):
        if names[i] is None:
            continue
        body = fd.child_by_field_name("body")
        digest, ntok = _body_fingerprint(body.text) if body is not None else ("", 0)
        static = any(c.type == "storage_class_specifier" and _text(c) == "static" for c in fd.children)
        facts.functions.append((names[i], fd.start_point[0] + 1, digest, ntok))
        facts.defs.append(Definition(names[i], "function", path, fd.start_point[0] + 1, component, static))

    seen = set()
    for n in get("id"):
        i = owner(n)
        if i < 0 or names[i] is None:
            continue
        sym = _text(n)
        if sym in locals_[i] or sym == names[i]:
            continue
        key = (i, sym, n.start_point[0])
        if key in seen:
            continue
        seen.add(key)
        facts.refs.append((names[i], sym, n.start_point[0] + 1))
    for n in get("fcall"):
        i = owner(n)
        if i >= 0 and names[i] is not None:
            facts.field_calls.append((names[i], _text(n), n.start_point[0] + 1))

    for n in get("macro"):
        facts.defs.append(Definition(_text(n), "macro", path, n.start_point[0] + 1, component))
    for n in get("include"):
        facts.includes.append(_text(n).strip('<>"'))
    for sname in get("sname"):
        body = sname.next_named_sibling
        if body is not None and body.type == "field_declaration_list" and owner(sname) < 0:
            facts.records.append((_text(sname), sname.start_point[0] + 1, _record_signature(body)))

    for decl in get("decl"):
        if owner(decl) >= 0:
            continue
        storage = {_text(c) for c in decl.children if c.type == "storage_class_specifier"}
        dtype = decl.child_by_field_name("type")
        struct_name = ""
        if dtype is not None and dtype.type == "struct_specifier":
            sn = dtype.child_by_field_name("name")
            struct_name = _text(sn) if sn is not None else ""
        for d in decl.children_by_field_name("declarator"):
            init = d.child_by_field_name("value") if d.type == "init_declarator" else None
            ident, is_func = _unwrap(d)
            if ident is None:
                continue
            name, line = _text(ident), ident.start_point[0] + 1
            if is_func or "extern" in storage:
                facts.declared.append((name, line))
                continue
            kind = "ops" if init is not None and init.type == "initializer_list" else "variable"
            facts.defs.append(Definition(name, kind, path, line, component, "static" in storage))
            if kind == "ops":
                for pair in init.named_children:
                    if pair.type != "initializer_pair":
                        continue
                    desig = pair.child_by_field_name("designator")
                    value = pair.child_by_field_name("value")
                    if desig is None or value is None or value.type not in ("identifier", "pointer_expression"):
                        continue
                    if value.type == "pointer_expression":
                        value = value.child_by_field_name("argument")
                        if value is None or value.type != "identifier":
                            continue
                    member = desig.named_children[0] if desig.named_children else None
                    if member is not None:
                        facts.ops.append((name, struct_name, _text(member), _text(value), pair.start_point[0] + 1))
    error_line = None
    if tree.root_node.has_error:
        errs = get("error")
        error_line = min((e.start_point[0] + 1 for e in errs), default=0) or _first_missing_line(tree.root_node)
    return facts, error_line


def _first_missing_line(root) -> int:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.type == "ERROR":
            return node.start_point[0] + 1
        if node.has_error:
            stack.extend(reversed(node.children))
    return 1


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
        If *root* is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such directory")
    layers = layers or Layers()
    graph = ArchGraph(name=root.name, source=str(root))
    parser = ts.Parser(_LANG)
    files: list[FileFacts] = []
    for rel, full in scan_tree(root):
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
    for f in files:
        graph.add_node(f.path, "file", f.component, f.path, 0)
        header_iface = layers.is_interface_header(f.path)
        for d in f.defs:
            if f.path.endswith(".h"):
                d.static = False  # a header's static inline is visible to every includer
            defs[d.name].append(d)
            if header_iface:
                iface_decl.setdefault(d.name, (f.path, d.line, f.component))
        if header_iface:
            for name, line in f.declared:
                iface_decl.setdefault(name, (f.path, line, f.component))
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

    for f in files:
        src_kind = f.kind
        for fname, sym, line in f.refs:
            src = f"{f.path}:{fname}"
            target = resolve(sym, f.path, f.component)
            is_iface = sym in iface_decl
            if target is None:
                if not is_iface:
                    continue  # defined outside the tree (printk, ...): nothing to judge
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
        for fname, member, line in f.field_calls:
            field_callers[member].append((f, fname, line))
    for f in files:
        for var, struct_type, member, value, line in f.ops:
            target = resolve(value, f.path, f.component)
            if target is None or target.kind != "function":
                continue
            ops_ev = _evidence(f, line)
            callers = [(cf, fn, ln) for cf, fn, ln in field_callers.get(member, ())
                       if cf.component != target.component and graph.kind_of(cf.component) != "backend"]
            if callers:
                for cf, fn, ln in callers:
                    graph.add_edge(f"{cf.path}:{fn}", node_for(target), "callback", [_evidence(cf, ln), ops_ev],
                                   dep=target.component, member=member, ops=var)
            else:
                tname = f"struct {struct_type}" if struct_type else f"ops {var}"
                owner = next((r for r in files for rec in r.records if rec[0] == struct_type), None)
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
        for f in files if f.kind == "backend" for name, line, sig in f.records if len(sig) >= MIN_RECORD_FIELDS
    ]
    graph.meta["files"] = len(files)
