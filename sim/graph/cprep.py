"""Neutralise kernel-style macros before tree-sitter sees a C file.

tree-sitter parses C without running the preprocessor, so real kernel code
trips over annotations that expand to nothing or to ``__attribute__``
(``__init``, ``__read_mostly``, ``__percpu``, ``__section(".x")``), over
declaration macros (``DEFINE_PER_CPU(type, name)``), over loop macros
(``list_for_each_entry(pos, head, member) { ... }``) and over macros that take
a type as an argument (``container_of(p, struct foo, member)``).  Each such
error is local, but it costs declarations, misnames symbols and marks a valid
file as broken.

:func:`neutralize` rewrites those constructs **without changing the length of
the text or the place of any newline**, so every byte offset and line number
tree-sitter reports still points at the original source:

* annotation words and annotation calls become blanks;
* ``DEFINE_PER_CPU*(type, name)`` becomes ``type name`` (``DECLARE_PER_CPU*``
  becomes ``extern type name``); other top-level ``DEFINE_FOO(name, ...)`` /
  ``DECLARE_FOO(name, ...)`` object macros become ``int name``;
* a statement ``xxx_for_each_yyy(args)`` followed by a body becomes
  ``while (args)`` (the comma expression keeps every identifier);
* the type argument of ``container_of``, ``list_entry``, ``min_t`` ... becomes
  ``0``; ``offsetof(...)`` becomes ``0`` and ``typeof(...)`` becomes ``int``;
* ``SYSCALL_DEFINEn(name, type, arg, ...)`` becomes ``long sys_name(type arg, ...)``;
* an ``asm`` statement becomes a call ``_a((operand), ...)`` that keeps its
  operand expressions;
* ``#if`` groups are flattened to one branch (see :func:`flatten_conditionals`);
* comments are blanked;
* ``asm_inline`` becomes ``asm``.

Lines that start a preprocessor directive are left alone (so ``#define
__init ...`` keeps its name).  Also collects the names a file exports with
``EXPORT_SYMBOL*``.
"""
from __future__ import annotations

import re

#: Annotations that expand to nothing or to an attribute: blanked.
ANNOTATION_WORDS = frozenset("""
__init __initdata __initconst __exit __exitdata __exit_call __ref __refdata __refconst __meminit __meminitdata
__meminitconst __cpuinit __cpuinitdata __cpuinitconst __cpuexit __devinit __devinitdata __devinitconst __devexit
__devexitdata __init_or_module __initdata_or_module __init_memblock __initdata_memblock __read_mostly
__ro_after_init __percpu __user __iomem __kernel __rcu __force __bitwise __bitwise__ __nocast __must_check
__maybe_unused __always_unused __used __visible __weak __pure __cold __hot __noreturn __always_inline
__noinline noinline __noclone notrace noinstr asmlinkage __cpuidle __irq_entry __exception_irq_entry
__softirq_entry __kprobes nokprobe_inline __flatten __nocfi __noendbr __latent_entropy __randomize_layout
__no_randomize_layout __packed ____cacheline_aligned ____cacheline_aligned_in_smp __cacheline_aligned
__cacheline_aligned_in_smp ____cacheline_internodealigned_in_smp __page_aligned_data __page_aligned_bss
__sched __lockfunc fastcall __attribute_const__ __attribute_used__ __attribute_pure__ __deprecated
__nostackprotector __no_stack_protector __no_kcsan __no_kasan __no_sanitize_address __no_sanitize_undefined
__no_sanitize_thread __no_profile __noscs __safe __private __malloc __nonstring __naked __designated_init
__initdata_or_meminfo __xipram __kprobes_text __init_refok __cpuinit_refok __exit_refok __net_init
__net_exit __net_initdata __section_noinline __bpf_kfunc __ksym __irqentry __entry_text
__apicdebuginit __initdata_refok __attribute_malloc__ __head __bss_decrypted __notrace_funcgraph
__cpumask_var_read_mostly __init_or_acpilib __initdata_or_acpilib __noinstr_section __kprobes_section
""".split())

#: Annotations with an argument list: blanked with their arguments.
ANNOTATION_CALLS = frozenset("""
__attribute__ __attribute __section __aligned __printf __scanf __acquires __releases __must_hold __alloc_size
__realloc_size __counted_by __counted_by_le __counted_by_be __cleanup __alias __copy __regparm __cond_acquires
__cond_releases __assume_aligned __nonnull __access __diag_ignore_all __percpu_seg_override __aligned_largest
__weak_alias __weak_ref __ADDRESSABLE __visible_alias __free __guarded_by __pt_guarded_by
""".split())

#: Macros that take a type: index of the type argument.
TYPE_ARG_MACROS = {
    "container_of": 1, "container_of_const": 1, "list_entry": 1, "list_first_entry": 1, "list_last_entry": 1,
    "list_first_entry_or_null": 1, "list_last_entry_or_null": 1, "hlist_entry": 1, "hlist_entry_safe": 1,
    "rb_entry": 1, "rb_entry_safe": 1, "llist_entry": 1,
    "min_t": 0, "max_t": 0, "clamp_t": 0, "typecheck": 0, "va_arg": 1, "KMEM_CACHE": 0,
    "alloc_percpu": 0, "alloc_percpu_gfp": 0, "kmalloc_obj": 0, "kzalloc_obj": 0,
}

_WORD_RE = re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in sorted(ANNOTATION_WORDS, key=len, reverse=True))
                      + rb"|__no_[a-z_]+(?![\w(])|__(?:init|initdata|initconst|exit|meminit)_(?:or_[a-z]+|memblock|refok))\b")
_CALL_RE = re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in sorted(ANNOTATION_CALLS, key=len, reverse=True)) + rb")\s*\(")
_PERCPU_RE = re.compile(rb"\b(DEFINE|DECLARE)_(?:EARLY_)?PER_CPU\w*\s*\(")
_TYPE_WORD_RE = re.compile(rb"(?:__)?[us]\d+|__(?:le|be)\d+|int|long|char|short|bool|unsigned|signed|void|size_t|"
                           rb"struct|union|enum|const")
_OBJMACRO_RE = re.compile(rb"^([ \t]*(?:static[ \t]+)?(?:const[ \t]+)?)((?:DEFINE|DECLARE)_[A-Z0-9_]+)[ \t]*\(", re.M)
_FOREACH_RE = re.compile(rb"\b[A-Za-z_]\w*for_each\w*\s*\(|\bfor_each\w*\s*\(|\bscoped_(?:cond_)?guard\s*\(")
_TYPEARG_RE = re.compile(rb"\b(" + b"|".join(re.escape(k.encode()) for k in TYPE_ARG_MACROS) + rb")\s*\(")
_EXPORT_RE = re.compile(rb"\bEXPORT_(?:PER_CPU_)?SYMBOL(?:_GPL|_NS|_NS_GPL|_GPL_FUTURE)?\s*\(\s*([A-Za-z_]\w*)")
_ASM_INLINE_RE = re.compile(rb"\basm_inline\b")
_SYSCALL_RE = re.compile(rb"^[ \t]*((COMPAT_)?SYSCALL_DEFINE(\d))[ \t]*\(", re.M)
_CASE_RANGE_RE = re.compile(rb"\bcase\b[^:;\n]*?(\.\.\.)")
_VARIADIC_PARAM_RE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+\w+\([^)\n]*?\b([A-Za-z_]\w*)\.\.\.", re.M)
_MACRO_STRING_RE = re.compile(rb'\b[A-Z_][A-Z0-9_]*\b(?=(?:\s+[A-Z_][A-Z0-9_]*)*\s*")|(?<=")[ \t]*\b[A-Z_][A-Z0-9_]*\b(?![ \t]*\()')
_STRINGIFY_RE = re.compile(rb"\b(?:__stringify|STR|__ASM_FORM|_ASM_PTR_STR)\s*\(")
_OFFSETOF_RE = re.compile(rb"\b(?:offsetof|__builtin_offsetof|offsetofend|sizeof_field|FIELD_SIZEOF)\s*\(")
_TYPEOF_RE = re.compile(rb"\b(?:typeof|__typeof__|__typeof|typeof_unqual|__typeof_unqual__)\s*\(")
_ASM_RE = re.compile(rb"\b(?:asm|__asm__|__asm)\b(?:\s*\b(?:volatile|__volatile__|__volatile|goto|inline)\b)*\s*\(")
_STATIC_OBJMACRO_RE = re.compile(rb"^(static[ \t]+(?:const[ \t]+)?)([A-Z][A-Z0-9_]+)[ \t]*\(", re.M)
_STMT_BEFORE = frozenset(b";{}):")
#: Declaration macros that really declare functions or types, not objects.
_IDTENTRY_DECL_RE = re.compile(rb"^[ \t]*(DECLARE_IDTENTRY\w*)[ \t]*\(", re.M)
_NOT_OBJECT = re.compile(rb"DEFINE_IDTENTRY|DECLARE_IDTENTRY|DEFINE_EVENT|DECLARE_EVENT|DEFINE_STATIC_CALL|"
                         rb"DECLARE_STATIC_CALL|DEFINE_GUARD|DEFINE_CLASS|DEFINE_FREE|DEFINE_LOCK_GUARD|"
                         rb"DECLARE_TRACE|DEFINE_TRACE|DEFINE_SHOW|DEFINE_SIMPLE|DEFINE_DEBUGFS|DEFINE_SEQ|DECLARE_HASHTABLE")


def _blank(buf: bytearray, start: int, end: int) -> None:
    for i in range(start, end):
        if buf[i] not in (10, 13):
            buf[i] = 32


def _put(buf: bytearray, start: int, end: int, text: bytes) -> bool:
    """Write *text* at *start* and blank the rest up to *end*; only on one line."""
    if len(text) > end - start or b"\n" in buf[start:start + len(text)]:
        return False
    _blank(buf, start, end)
    buf[start:start + len(text)] = text
    return True


def _match_paren(data, open_at: int) -> int:
    """Index of the ``)`` closing the ``(`` at *open_at*, or -1 (strings, chars and comments skipped)."""
    depth, i, n = 0, open_at, len(data)
    while i < n:
        c = data[i]
        if c == 40:  # (
            depth += 1
        elif c == 41:  # )
            depth -= 1
            if depth == 0:
                return i
        elif c in (34, 39):  # " '
            q, i = c, i + 1
            while i < n and data[i] != q:
                if data[i] == 92:
                    i += 1
                elif data[i] == 10 and q == 39:
                    break
                i += 1
        elif c == 47 and i + 1 < n and data[i + 1] == 42:  # /* */
            j = data.find(b"*/", i + 2)
            i = n if j < 0 else j + 1
        elif c == 47 and i + 1 < n and data[i + 1] == 47:  # //
            j = data.find(b"\n", i)
            i = n if j < 0 else j
        elif c == 59 and depth == 1 and i - open_at > 4000:  # runaway: give up
            return -1
        i += 1
    return -1


def _top_commas(data, open_at: int, close_at: int) -> list:
    """Positions of the commas at depth one between a ``(`` and its ``)``."""
    out, depth, i = [], 0, open_at
    while i < close_at:
        c = data[i]
        if c in (40, 91, 123):
            depth += 1
        elif c in (41, 93, 125):
            depth -= 1
        elif c == 44 and depth == 1:
            out.append(i)
        elif c in (34, 39):
            q, i = c, i + 1
            while i < close_at and data[i] != q:
                i += 2 if data[i] == 92 else 1
        i += 1
    return out


def _directive_line(data, pos: int) -> bool:
    line_start = data.rfind(b"\n", 0, pos) + 1
    return data[line_start:pos].lstrip()[:1] == b"#"


def _statement_start(data, pos: int) -> bool:
    """Whether *pos* starts a statement: after ``; { } ) :`` or the keywords ``else`` / ``do``."""
    i = pos - 1
    while i >= 0 and data[i] in b" \t\r\n":
        i -= 1
    if i < 0 or data[i] in _STMT_BEFORE:
        return True
    return data[max(0, i - 3):i + 1] == b"else" or data[max(0, i - 1):i + 1] == b"do"


def _next_char(data, pos: int) -> int:
    n = len(data)
    while pos < n and data[pos] in b" \t\r\n":
        pos += 1
    return data[pos] if pos < n else 59


_COMMENT_OR_LITERAL_RE = re.compile(rb'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank_comments(data: bytes) -> bytes:
    """*data* with every comment turned into blanks (newlines kept); strings untouched."""
    if b"/" not in data:
        return data
    buf = bytearray(data)
    for m in _COMMENT_OR_LITERAL_RE.finditer(data):
        if m.group(0)[:1] == b"/":
            _blank(buf, m.start(), m.end())
    return bytes(buf)


def _rewrite_asm(data, buf: bytearray, m) -> None:
    """``asm volatile("t" : "=a"(lo) : "c"(x))`` -> ``_a(       (lo) ,    (x))``: a call keeping the operands."""
    open_at = m.end() - 1
    close = _match_paren(data, open_at)
    if close < 0:
        return
    groups, i = [], open_at + 1
    while i < close:
        c = data[i]
        if c in (34, 39):
            q, i = c, i + 1
            while i < close and data[i] != q:
                i += 2 if data[i] == 92 else 1
        elif c == 40:
            end = _match_paren(data, i)
            if end < 0 or end > close:
                return
            groups.append((i, end))
            i = end
        i += 1
    _put(buf, m.start(), open_at, b"_a")
    kept = open_at + 1
    for k, (a, b) in enumerate(groups):
        _blank(buf, kept, a)
        kept = b + 1
        if k + 1 < len(groups):
            nxt = next((j for j in range(b + 1, groups[k + 1][0]) if data[j] not in (10, 13)), None)
            if nxt is None:
                return
            _blank(buf, b + 1, groups[k + 1][0])
            buf[nxt] = 44  # ,
            kept = groups[k + 1][0]
    _blank(buf, kept, close)


def _rewrite_syscall(data, buf: bytearray, m) -> None:
    """``SYSCALL_DEFINE2(name, t1, a1, t2, a2)`` -> ``long sys_name(t1 a1, t2 a2)`` in place."""
    open_at = m.end() - 1
    close = _match_paren(data, open_at)
    if close < 0:
        return
    commas = _top_commas(data, open_at, close)
    first_end = commas[0] if commas else close
    name = data[open_at + 1:first_end].strip()
    if not re.fullmatch(rb"[A-Za-z_]\w*", name):
        return
    head = b"long " + (b"compat_sys_" if m.group(2) else b"sys_") + name + b"("
    if not _put(buf, m.start(1), first_end + 1, head):
        return
    if not commas:
        buf[close] = 41  # SYSCALL_DEFINE0(name): "(" written above, ")" stays
        return
    for k, c in enumerate(commas[1:]):
        if k % 2 == 0:
            buf[c] = 32  # the comma between a type and its parameter name


_ASSEMBLY_RE = re.compile(rb"__ASSEMBLY__|__ASSEMBLER__")
_NOT_ASSEMBLY_RE = re.compile(rb"!\s*(?:defined\s*\(?\s*)?(?:__ASSEMBLY__|__ASSEMBLER__)")
_COND_RE = re.compile(rb"[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif)\b(.*)")


def _directives(lines):
    """``(line index, word, rest, continued)`` of each conditional directive, skipping continuation lines."""
    out, cont = [], False
    for i, line in enumerate(lines):
        if cont:
            cont = line.rstrip().endswith(b"\\")
            continue
        stripped = line.lstrip()
        if stripped[:1] == b"#":
            cont = line.rstrip().endswith(b"\\")
            m = _COND_RE.match(line)
            if m:
                out.append((i, m.group(1), m.group(2).strip(), cont))
    return out


def has_alternatives(data: bytes) -> bool:
    """Whether some ``#if`` group of *data* has an ``#else`` or ``#elif`` branch."""
    return b"#" in data and re.search(rb"^[ \t]*#[ \t]*(?:else|elif)", data, re.M) is not None


def flatten_conditionals(data: bytes, pick: str = "first") -> bytes:
    """Keep one branch of every ``#if`` group and blank the rest (lines kept).

    tree-sitter reads conditional code only where each branch is a whole
    statement or declaration; kernel code splits ``if``/``else`` and brace
    pairs across ``#ifdef`` branches.  *pick* ``"first"`` keeps the first
    branch of each group (as if every option were on), ``"last"`` the last
    one (the ``#else``); the importer parses both variants of a file that has
    alternatives and merges what they define and use.  Under ``#if 0`` the
    code is dead and the next branch is kept either way; of an
    ``#ifdef __ASSEMBLY__`` group the C side is kept either way.  Directive lines are
    blanked; a group without ``#else`` therefore keeps all its code.
    """
    if b"#" not in data:
        return data
    lines = data.split(b"\n")
    dirs = _directives(lines)
    # branch count of each group, keyed by the line of its #if
    counts, open_ = {}, []
    for i, word, _rest, _c in dirs:
        if word in (b"if", b"ifdef", b"ifndef"):
            open_.append(i)
            counts[i] = 1
        elif open_ and word != b"endif":
            counts[open_[-1]] += 1
        elif open_:
            open_.pop()
    blank = set()
    stack = []  # per open group: [kept branch, current branch]
    cont_lines = set()
    for i, word, rest, cont in dirs:
        j = i
        while cont and j + 1 < len(lines):  # the directive's continuation lines
            j += 1
            cont_lines.add(j)
            cont = lines[j].rstrip().endswith(b"\\")
    dir_at = {i: (word, rest) for i, word, rest, _c in dirs}
    for i, line in enumerate(lines):
        if i in dir_at:
            word, rest = dir_at[i]
            if word in (b"if", b"ifdef", b"ifndef"):
                n = counts.get(i, 1)
                if word == b"if" and re.match(rb"0\b", rest):
                    keep = 1  # dead code: the #else, if any
                elif _ASSEMBLY_RE.search(rest):  # the C side of a header shared with assembly
                    negated = word == b"ifndef" or _NOT_ASSEMBLY_RE.search(rest) is not None
                    keep = 0 if negated else 1
                else:
                    keep = 0 if pick == "first" else n - 1
                stack.append([keep, 0])
            elif stack and word != b"endif":
                stack[-1][1] += 1
            elif stack:
                stack.pop()
            blank.add(i)
            continue
        if i in cont_lines or not all(keep == cur for keep, cur in stack):
            blank.add(i)
    return b"\n".join(b" " * len(line) if i in blank else line for i, line in enumerate(lines))


def exported_symbols(data: bytes) -> set:
    """Names a file exports with ``EXPORT_SYMBOL``, ``EXPORT_SYMBOL_GPL`` and kin."""
    if b"EXPORT_" not in data:
        return set()
    return {m.group(1).decode("ascii") for m in _EXPORT_RE.finditer(data)}


def neutralize(data: bytes, pick: str = "first") -> bytes:
    """Return *data* with kernel macros rewritten as described in the module docstring (same length, same lines).

    *pick* chooses the branch of each ``#if`` group, see :func:`flatten_conditionals`.
    """
    data = flatten_conditionals(blank_comments(data), pick)
    buf = bytearray(data)

    for m in _CALL_RE.finditer(data):
        if _directive_line(data, m.start()):
            continue
        close = _match_paren(data, m.end() - 1)
        if close > 0:
            _blank(buf, m.start(), close + 1)
    for m in _WORD_RE.finditer(data):
        if not _directive_line(data, m.start()):
            _blank(buf, m.start(), m.end())
    for m in _ASM_INLINE_RE.finditer(data):
        if not _directive_line(data, m.start()):
            _put(buf, m.start(), m.end(), b"asm")

    for m in _VARIADIC_PARAM_RE.finditer(data):  # #define f(fmt, args...) -> (fmt, ...)
        _blank(buf, m.start(1), m.end(1))
    for m in _CASE_RANGE_RE.finditer(data):  # case 1 ... 3: -> case 1  -  3:
        if not _directive_line(data, m.start()):
            buf[m.start(1):m.end(1)] = b" - "
    if b'"' in data:
        for m in _MACRO_STRING_RE.finditer(data):  # KERN_ERR "x", "%" PRIu64: string pasting
            if not _directive_line(data, m.start()):
                _blank(buf, m.start(), m.end())
    for m in _SYSCALL_RE.finditer(data):
        _rewrite_syscall(data, buf, m)
    for m in _STRINGIFY_RE.finditer(data):  # "a" __stringify(X) "b": a string
        close = _match_paren(data, m.end() - 1)
        if close > 0 and not _directive_line(data, m.start()):
            _put(buf, m.start(), close + 1, b'""')
    for m in _OFFSETOF_RE.finditer(data):  # offsetof(struct s, a.b[1]): a number
        close = _match_paren(data, m.end() - 1)
        if close > 0 and not _directive_line(data, m.start()):
            _put(buf, m.start(), close + 1, b"0")
    for m in _TYPEOF_RE.finditer(data):  # typeof(x) y = ...; (typeof(x))v: a type
        close = _match_paren(data, m.end() - 1)
        if close > 0 and not _directive_line(data, m.start()):
            _put(buf, m.start(), close + 1, b"int")
    snapshot = bytes(buf)
    for m in _ASM_RE.finditer(snapshot):
        if not _directive_line(snapshot, m.start()) and _statement_start(snapshot, m.start()):
            _rewrite_asm(snapshot, buf, m)

    for m in _PERCPU_RE.finditer(data):
        if _directive_line(data, m.start()):
            continue
        open_at = m.end() - 1
        close = _match_paren(data, open_at)
        if close < 0:
            continue
        commas = _top_commas(data, open_at, close)
        if not commas:
            continue
        prefix = b"extern" if m.group(1) == b"DECLARE" else b""
        if not _put(buf, m.start(), open_at + 1, prefix):
            continue
        # (type, name) or, for the EARLY variants, (type, name, initial value)
        buf[commas[0]] = 32
        _blank(buf, commas[1] if len(commas) > 1 else close, close + 1)
        ctype = data[open_at + 1:commas[0]].rstrip()
        if ctype.endswith(b"]") and b"[" in ctype:  # DEFINE_PER_CPU(struct x[N], name): the array goes
            _blank(buf, open_at + 1 + ctype.rindex(b"["), commas[0])

    for m in _IDTENTRY_DECL_RE.finditer(data):  # DECLARE_IDTENTRY_RAW(X86_TRAP_NMI, exc_nmi) declares exc_nmi
        open_at = m.end() - 1
        close = _match_paren(data, open_at)
        commas = _top_commas(data, open_at, close) if close > 0 else []
        if not commas:
            continue
        end = commas[1] if len(commas) > 1 else close
        name = data[commas[0] + 1:end].strip()
        if re.fullmatch(rb"[A-Za-z_]\w*", name) and _put(buf, m.start(1), commas[0] + 1, b"extern int"):
            _blank(buf, end, close + 1)
    done = bytes(buf)  # annotations gone: "DECLARE_BITMAP(m, 8) __initdata;" ends in ";"
    objmacros = [(m, False) for m in _OBJMACRO_RE.finditer(data)]
    objmacros += [(m, True) for m in _STATIC_OBJMACRO_RE.finditer(data)]
    for m, any_macro in objmacros:
        name_start, open_at = m.start(2), m.end() - 1
        if _NOT_OBJECT.match(m.group(2)) or _PERCPU_RE.match(data, name_start) or _SYSCALL_RE.match(data, m.start()):
            continue
        if any_macro and m.group(2).startswith((b"DEFINE_", b"DECLARE_")):
            continue  # done by the first pattern
        close = _match_paren(data, open_at)
        if close < 0:
            continue
        nxt = _next_char(done, close + 1)
        if nxt not in (59, 61):  # ; or =: an object; anything else (a body) is left to tree-sitter
            continue
        arg = data[open_at + 1:close]
        first = re.match(rb"\s*([A-Za-z_]\w*)\s*(?:,|$)", arg)
        if not first or _TYPE_WORD_RE.fullmatch(first.group(1)):
            continue  # no name first: leave it to tree-sitter
        at_top = m.group(1) == b"" and m.group(2).startswith(b"DECLARE_")
        if not _put(buf, name_start, open_at + 1, b"extern int" if at_top else b"int"):
            continue
        name_end = open_at + 1 + first.end(1)
        _blank(buf, name_end, close + 1)

    for m in _FOREACH_RE.finditer(data):
        start = m.start()
        if _directive_line(data, start) or not _statement_start(data, start):
            continue
        word = re.match(rb"\w+", data[start:]).group(0)
        if word.endswith(b"_FOREACH") or word in (b"while",):
            continue
        open_at = m.end() - 1
        close = _match_paren(data, open_at)
        if close < 0:
            continue
        nxt = _next_char(data, close + 1)
        if nxt in b";,)=+-*/&|<>?.[":
            continue
        _put(buf, start, open_at, b"while")

    for m in _TYPEARG_RE.finditer(data):
        if _directive_line(data, m.start()):
            continue
        which = TYPE_ARG_MACROS.get(m.group(1).decode(), -1)
        if which < 0:
            continue
        open_at = m.end() - 1
        close = _match_paren(data, open_at)
        if close < 0:
            continue
        bounds = [open_at] + _top_commas(data, open_at, close) + [close]
        if which + 1 >= len(bounds):
            continue
        a, b = bounds[which] + 1, bounds[which + 1]
        if data[a:b].strip():
            _blank(buf, a, b)
            lead = a + (len(data[a:b]) - len(data[a:b].lstrip()))
            buf[lead] = ord("0")
    return bytes(buf)
