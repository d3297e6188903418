"""What one C file defines and uses, read from its tree-sitter-c syntax tree.

Per file: function definitions (including ``MACRO(name, ...) { body }``
functions such as ``SYSCALL_DEFINE2``), the identifiers each body uses (calls,
variables, macros), calls through struct members (``dev->set_next_event()``),
designated initializers of ops tables (``.set_next_event = foo``), includes,
declarations, struct layouts and a fingerprint of each body.  These
:class:`FileFacts` are resolved into a graph by
:mod:`~tickscope.sim.graph.cimport`.

Kernel code is first passed through :mod:`~tickscope.sim.graph.cprep`
(annotations, ``DEFINE_PER_CPU``, loop macros, asm blocks and ``#ifdef``-split
code rewritten in place, same offsets and lines), so that only a really broken
file reports an error line.  A file with ``#else`` branches is read twice, once
per side, and what both define and use is merged.  Only file-scope
declarations define symbols, a macro defined in a ``.c`` file is seen by that
file only, and keywords are never symbols.
"""
from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_c as tsc

from tickscope.sim.graph.cprep import exported_symbols, has_alternatives, neutralize

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
(enumerator name: (identifier) @enumc)
""")

_C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline int
long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool asm __asm__ bool
""".split())
#: Words that are never symbols, even where error recovery reads them as identifiers.
_NOT_SYMBOLS = _C_KEYWORDS | frozenset("typeof __typeof__ __attribute__ __extension__ __volatile__ __inline__ __restrict".split())
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
    field_calls: list = field(default_factory=list)  # (function name, member, line, struct type or "")
    ops: list = field(default_factory=list)         # (var, struct type, member, value, line)
    includes: list = field(default_factory=list)
    records: list = field(default_factory=list)     # (struct name, line, signature, is a time record)
    defs: list = field(default_factory=list)        # Definition without node
    declared: list = field(default_factory=list)    # (name, line) prototypes and externs
    exported: set = field(default_factory=set)      # names given to EXPORT_SYMBOL*


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _unwrap(decl):
    """Innermost declarator and whether a function declarator was on the way."""
    is_func = False
    while decl is not None and decl.type != "identifier":
        if decl.type == "function_declarator":
            is_func = True
        inner = decl.child_by_field_name("declarator")
        if inner is None and decl.type in ("parenthesized_declarator", "attributed_declarator"):
            inner = next((c for c in decl.named_children if c.type.endswith("declarator") or c.type == "identifier"), None)
        if inner is None:
            return None, is_func
        decl = inner
    return decl, is_func


_PREPROC_NAMES = frozenset(("preproc_params", "preproc_def", "preproc_function_def"))
#: Containers whose children are at file scope.
_FILE_SCOPE = frozenset(("translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
                         "preproc_elifdef", "linkage_specification", "declaration_list"))
_SYSCALL_RE = re.compile(r"(COMPAT_)?SYSCALL_DEFINE\w*")


def _declared_struct(ident) -> str:
    """``foo`` for an identifier declared as ``struct foo *x`` (a parameter or a local), else ""."""
    node = ident.parent
    while node is not None and node.type not in ("declaration", "parameter_declaration", "compound_statement"):
        node = node.parent
    if node is None or node.type == "compound_statement":
        return ""
    dtype = node.child_by_field_name("type")
    if dtype is None or dtype.type != "struct_specifier":
        return ""
    name = dtype.child_by_field_name("name")
    return _text(name) if name is not None else ""


def _at_file_scope(node) -> bool:
    parent = node.parent
    return parent is None or parent.type in _FILE_SCOPE


def _macro_functions(root):
    """Functions a macro defines, ``MACRO(name, ...) { body }`` at file scope (``SYSCALL_DEFINE2``, ...).

    tree-sitter sees a call without its semicolon followed by a bare block;
    returns ``(name, start_node, body)`` for each.
    """
    out = []
    stack = [root]
    while stack:
        node = stack.pop()
        prev = None
        for child in node.named_children:
            if child.type in _FILE_SCOPE:
                stack.append(child)
            elif child.type == "compound_statement" and prev is not None and prev.type == "expression_statement":
                call = prev.named_children[0] if prev.named_children else None
                fn = call.child_by_field_name("function") if call is not None and call.type == "call_expression" else None
                if fn is not None and fn.type == "identifier":
                    macro = _text(fn)
                    args = call.child_by_field_name("arguments")
                    first = args.named_children[0] if args is not None and args.named_children else None
                    name = _text(first) if first is not None and first.type == "identifier" else macro
                    m = _SYSCALL_RE.fullmatch(macro)
                    if m:
                        name = ("compat_sys_" if m.group(1) else "sys_") + name
                    out.append((name, prev, child))
            if child.type != "comment":
                prev = child
    return out


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


#: A record is a time-info record (a time model) if its name or a field name says so.
_TIME_WORD_RE = re.compile(r"time|clock|tsc|cycle|nsec|_ns$|^ns_|tick|jiff|mult|mul$|shift|freq|khz|stamp|epoch|"
                           r"counter|delta|scale", re.I)


def _record_signature(body) -> tuple:
    """Field types of a struct body in order, names dropped (structural equality), and the field names."""
    sig, names = [], []
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
            names.append(_text(d) if d is not None else "")
    return tuple(sig), names


def _is_time_record(name: str, sig: tuple, field_names: list) -> bool:
    """A plain data record about time: no function pointers, and a name or field that speaks of time."""
    if any(t.endswith("()") for t in sig):
        return False  # an ops table or an attribute, not a time record
    return bool(_TIME_WORD_RE.search(name) or any(_TIME_WORD_RE.search(n) for n in field_names))


def parse_file(path: str, data: bytes, component: str, kind: str, parser: ts.Parser):
    """Extract the facts of one file; returns ``(FileFacts, error_line or None)``.

    The text is first passed through :func:`~tickscope.sim.graph.cprep.neutralize`
    (kernel annotations and declaration macros; same length, same lines), so
    lines and evidence still refer to *data*.  A file with ``#else``/``#elif``
    branches is parsed twice, once with the first and once with the last
    branch of each group, and the facts of both are merged.
    """
    facts = FileFacts(path, component, kind, data.split(b"\n"))
    facts.exported = exported_symbols(data)
    picks = ("first", "last") if has_alternatives(data) else ("first",)
    errors = [_extract(parser.parse(neutralize(data, pick)), facts) for pick in picks]
    for name in ("functions", "defs", "refs", "field_calls", "ops", "includes", "records", "declared"):
        items = getattr(facts, name)
        if len(picks) > 1 or name == "defs":
            seen = set()
            unique = []
            for it in items:
                key = (it.name, it.kind, it.line) if isinstance(it, Definition) else it
                if key not in seen:
                    seen.add(key)
                    unique.append(it)
            setattr(facts, name, unique)
    found = [e for e in errors if e is not None]
    return facts, (min(found) if found else None)


def _extract(tree, facts: FileFacts):
    """Add what one parse tree of the file defines and uses to *facts*; returns the first error line or None."""
    path, component = facts.path, facts.component
    caps = ts.QueryCursor(_QUERY).captures(tree.root_node)
    get = lambda name: caps.get(name, [])  # noqa: E731

    # (start byte, end byte, name, line, body, static) of each function, sorted
    funcs = []
    for fd in get("fdef"):
        ident, _ = _unwrap(fd.child_by_field_name("declarator"))
        if ident is None:
            continue
        static = any(c.type == "storage_class_specifier" and _text(c) == "static" for c in fd.children)
        funcs.append((fd.start_byte, fd.end_byte, _text(ident), fd.start_point[0] + 1, fd.child_by_field_name("body"), static))
    macro_funcs = _macro_functions(tree.root_node)
    for name, head, body in macro_funcs:
        funcs.append((head.start_byte, body.end_byte, name, head.start_point[0] + 1, body, False))
    funcs.sort(key=lambda f: f[0])
    starts = [f[0] for f in funcs]

    def owner(node):
        i = bisect.bisect_right(starts, node.start_byte) - 1
        if i >= 0 and node.end_byte <= funcs[i][1]:
            return i
        return -1

    locals_ = [set() for _ in funcs]
    local_types = [{} for _ in funcs]  # local or parameter name -> struct type, where declared as one
    for n in get("local"):
        i = owner(n)
        if i >= 0:
            name = _text(n)
            locals_[i].add(name)
            stype = _declared_struct(n)
            if stype:
                local_types[i][name] = stype
    for start, end, name, line, body, static in funcs:
        if name in _NOT_SYMBOLS:
            continue
        digest, ntok = _body_fingerprint(body.text) if body is not None else ("", 0)
        facts.functions.append((name, line, digest, ntok))
        facts.defs.append(Definition(name, "function", path, line, component, static))

    seen = set()
    for n in get("id"):
        i = owner(n)
        if i < 0:
            continue
        sym = _text(n)
        fname = funcs[i][2]
        if sym in locals_[i] or sym == fname or sym in _NOT_SYMBOLS:
            continue
        if n.parent is not None and n.parent.type in _PREPROC_NAMES:
            continue  # a macro's own name or parameters, defined inside a function
        key = (i, sym, n.start_point[0])
        if key in seen:
            continue
        seen.add(key)
        facts.refs.append((fname, sym, n.start_point[0] + 1))
    for n in get("fcall"):
        i = owner(n)
        if i >= 0:
            obj = n.parent.child_by_field_name("argument") if n.parent is not None else None
            stype = local_types[i].get(_text(obj), "") if obj is not None and obj.type == "identifier" else ""
            facts.field_calls.append((funcs[i][2], _text(n), n.start_point[0] + 1, stype))

    is_c = path.endswith(".c")
    for n in get("macro"):
        # a macro defined in a .c file is seen by that file only
        facts.defs.append(Definition(_text(n), "macro", path, n.start_point[0] + 1, component, static=is_c))
    for n in get("enumc"):  # an enum constant is declared where its enum is
        if owner(n) < 0:
            facts.declared.append((_text(n), n.start_point[0] + 1))
    for n in get("include"):
        facts.includes.append(_text(n).strip('<>"'))
    for sname in get("sname"):
        body = sname.next_named_sibling
        if body is not None and body.type == "field_declaration_list" and owner(sname) < 0:
            sig, field_names = _record_signature(body)
            rname = _text(sname)
            facts.records.append((rname, sname.start_point[0] + 1, sig, _is_time_record(rname, sig, field_names)))

    for decl in get("decl"):
        # only file-scope declarations define symbols: a declaration inside a
        # block the parser could not attach to a function is a local
        if owner(decl) >= 0 or not _at_file_scope(decl):
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
            if name in _NOT_SYMBOLS:
                continue
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
    if not tree.root_node.has_error:
        return None
    return _first_error_line(tree.root_node, {head.id for _name, head, _body in macro_funcs})


def _first_error_line(root, benign_heads=frozenset()):
    """Line of the first ERROR or missing node, or None if every one is benign.

    The missing semicolon after ``MACRO(name, ...)`` in front of a macro-defined
    function body (*benign_heads*: ids of those expression statements) is how
    tree-sitter reads a valid kernel idiom, not an error in the file.
    """
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            if not (node.is_missing and node.parent is not None and node.parent.id in benign_heads):
                return node.start_point[0] + 1
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return None
