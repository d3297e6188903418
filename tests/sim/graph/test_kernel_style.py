"""Kernel-style C (annotations, per-CPU and loop macros, #ifdef-split code, asm) on self-written fixtures.

The constructs mimic what a real kernel tree throws at the importer; the
expected values are read off the fixtures in ``fixtures/kernelish``.
"""
import pytest
import tree_sitter as ts

from tickscope.sim.graph import rules
from tickscope.sim.graph.cimport import _LANG, import_tree, parse_file
from tickscope.sim.graph.cprep import exported_symbols, flatten_conditionals, neutralize
from tickscope.sim.graph.layers import Layers, load_layers, parse_layers, shipped_layers

from .conftest import FIXTURES

KERNELISH = FIXTURES / "kernelish"


@pytest.fixture(scope="module")
def graph():
    g = import_tree(KERNELISH)
    rules.check(g)
    return g


def where(violations, rule):
    return sorted((v.file, v.line, v.symbol) for v in violations if v.rule == rule)


# -- the graph of the fixture tree ----------------------------------------------

def test_reachout_found_in_macro_defined_function_loop_macro_and_else_branch(graph):
    assert where(graph.violations, "reachout") == [
        ("drivers/badclk/badclk.c", 9, "tick_private_counter"),     # in an __init __maybe_unused function
        ("drivers/badclk/badclk.c", 17, "tick_account_internal"),   # in the #else branch
        ("drivers/badclk/badclk.c", 26, "tick_account_internal"),   # DEFINE_IDTENTRY_SYSVEC body, for_each loop
    ]


def test_self_contained_kernel_style_backends_are_clean(graph):
    clean = {"drivers/goodclk", "drivers/lookalike", "drivers/attrs_a", "drivers/attrs_b", "drivers/brokenclk"}
    assert not [v for v in graph.violations if v.component in clean]
    assert {v.rule for v in graph.violations} == {"reachout"}


def test_only_the_really_broken_file_is_named_in_a_warning(graph):
    assert graph.warnings == ["drivers/brokenclk/broken.c: does not parse (first error at line 11); graphed as far as it goes"]
    assert "drivers/brokenclk/broken.c:brokenclk_init" in graph.g


def test_functions_behind_annotations_and_macros_are_named(graph):
    for node in ("drivers/badclk/badclk.c:sysvec_badclk",        # DEFINE_IDTENTRY_SYSVEC(name) { }
                 "kernel/time/tickcore.c:sys_tick_query",         # SYSCALL_DEFINE2(name, ...) { }
                 "kernel/time/tickcore.c:tickdev_core_init",      # void __init f(void)
                 "drivers/goodclk/goodclk.c:goodclk_handler",     # static void __cold f(...)
                 "kernel/time/tickcore.c:tick_jiffies64"):        # __visible T x __cacheline_aligned = 0
        assert node in graph.g, node
    assert graph.g.nodes["kernel/time/tickcore.c:sys_tick_query"]["line"] == 62


def test_no_junk_symbols(graph):
    symbols = {graph.symbol_name(n) for n in graph.symbol_nodes()}
    assert not symbols & {"struct", "__init", "__read_mostly", "DEFINE_PER_CPU", "unsigned", "SYSCALL_DEFINE2"}
    assert "kernel/time/tickcore.c:tick_old_path" not in graph.g  # under #if 0


def test_per_cpu_and_object_macros_define_their_names(graph):
    assert graph.g.nodes["drivers/goodclk/goodclk.c:goodclk_dev"]["kind"] == "variable"
    facts, err = parse_file("kernel/time/tickcore.c", (KERNELISH / "kernel/time/tickcore.c").read_bytes(),
                            "kernel", "core", ts.Parser(_LANG))
    names = {d.name: d for d in facts.defs}
    assert err is None
    assert names["tick_count"].static and names["tick_count"].kind == "variable"
    assert not names["current_tickdev"].static
    assert {"tickdev_lock", "tickdev_list"} <= set(names)


def test_header_declarations_from_both_branches_macros_and_enums(graph):
    facts, err = parse_file("include/linux/tickdev.h", (KERNELISH / "include/linux/tickdev.h").read_bytes(),
                            "include", "interface", ts.Parser(_LANG))
    declared = {name for name, _line in facts.declared}
    assert err is None
    assert {"tickdev_register", "tickdev_core_init", "current_tickdev",
            "tickdev_suspend_all", "tickdev_suspend_legacy",    # #ifdef and #else branch
            "TICKDEV_DETACHED", "TICKDEV_ONESHOT"} <= declared    # enum constants
    asm_h, _ = parse_file("arch/x86/include/asm/vectors.h",
                          (KERNELISH / "arch/x86/include/asm/vectors.h").read_bytes(),
                          "arch/x86/include", "interface", ts.Parser(_LANG))
    assert "sysvec_fixture_timer" in {name for name, _line in asm_h.declared}  # DECLARE_IDTENTRY_SYSVEC(vec, name)
    classes = {(s, t): d["cls"] for s, t, d in graph.edges()}
    assert classes[("drivers/goodclk/goodclk.c:goodclk_handler",
                    "include/linux/tickdev.h:tickdev_suspend_legacy")] == "interface"


def test_macro_parameters_and_locals_do_not_resolve_to_core_globals(graph):
    # a parameter named like a core global, a macro parameter named like another one
    assert "drivers/lookalike/lookalike.c:lookalike_walk" in graph.g
    out = [(s, t) for s, t, _d in graph.edges() if s.startswith("drivers/lookalike/")]
    assert not [t for _s, t in out if t.startswith("kernel/")]
    # a static named like a core variable stays the backend's own; the core is reached through its interface only
    classes = {(s, t): d["cls"] for s, t, d in graph.edges()}
    assert classes[("drivers/goodclk/goodclk.c:goodclk_program", "drivers/goodclk/goodclk.c:timer")] == "internal"
    assert {c for (s, t), c in classes.items() if s.startswith("drivers/goodclk/") and t.startswith("kernel/")} == {"interface"}


def test_callback_edges_respect_the_declared_struct_type(graph):
    callbacks = {(s, t) for s, t, _d in graph.edges("callback")}
    assert ("kernel/time/tickcore.c:tick_fire", "drivers/goodclk/goodclk.c:goodclk_handler") in callbacks
    # tick_attr_show calls ta->show with ta a struct tick_attr: not attrs_a's table
    assert not [c for c in callbacks if c[0] == "kernel/time/tickcore.c:tick_attr_show"]


def test_attribute_tables_of_equal_layout_are_not_time_records(graph):
    assert not [r for r in graph.meta["records"] if r["name"].startswith("attrs_")]


# -- neutralize -----------------------------------------------------------------

SNIPPET = b"""\
/* comment with list_for_each(x) { */
static int __init __maybe_unused f(void) __attribute__((cold));
static DEFINE_PER_CPU(struct foo *[2], bar);
DECLARE_PER_CPU_READ_MOSTLY(unsigned long, baz);
DEFINE_EARLY_PER_CPU(u16, early_id, 0xffff);
static DECLARE_BITMAP(mask, 64) __initdata;
#define LOG(fmt, args...) printk(fmt, ##args)
void g(struct foo *p)
{
	struct bar *b = container_of(p, struct bar, foo);
	asm volatile(SOME_PREFIX "mov %1, %0" : "=r"(b) : "r"(p) : "memory");
	list_for_each_entry(p, &head, node) {
		switch (p->x) { case 1 ... 3: printk(KERN_INFO NAME ": %d\\n" __stringify(X), 1); }
	}
	b->y = offsetof(struct bar, foo.z) + (typeof(p->x))1;
}
"""


def test_neutralize_keeps_length_and_lines():
    out = neutralize(SNIPPET)
    assert len(out) == len(SNIPPET)
    assert [i for i, c in enumerate(out) if c == 10] == [i for i, c in enumerate(SNIPPET) if c == 10]


def test_neutralize_rewrites():
    out = neutralize(SNIPPET).decode()
    lines = [" ".join(line.split()) for line in out.split("\n")]
    assert lines[0] == ""
    assert lines[1] == "static int f(void) ;"
    assert lines[2] == "static struct foo * bar ;"
    assert lines[3] == "extern unsigned long baz ;"
    assert lines[4] == "u16 early_id ;"
    assert lines[5] == "static int mask ;"
    assert lines[6] == "#define LOG(fmt, ...) printk(fmt, ##args)"
    assert lines[9] == "struct bar *b = container_of(p, 0 , foo);"
    assert lines[10] == "_a ( (b), (p) );"
    assert lines[11] == "while (p, &head, node) {"
    assert lines[12] == 'switch (p->x) { case 1 - 3: printk( ": %d\\n" "" , 1); }'
    assert lines[14] == "b->y = 0 + (int )1;"


def test_neutralized_snippet_parses_cleanly():
    tree = ts.Parser(_LANG).parse(neutralize(SNIPPET))
    assert not tree.root_node.has_error


def test_flatten_conditionals_first_last_dead_and_assembly():
    src = b"#if 0\nA\n#else\nB\n#endif\n#ifdef X\nC\n#elif Y\nD\n#else\nE\n#endif\n" \
          b"#ifdef __ASSEMBLY__\nF\n#else\nG\n#endif\n#if defined(K) && !defined(__ASSEMBLY__)\nH\n#else\nI\n#endif\n"
    keep = lambda out: [w for w in out.split() if w]  # noqa: E731
    assert keep(flatten_conditionals(src, "first")) == [b"B", b"C", b"G", b"H"]
    assert keep(flatten_conditionals(src, "last")) == [b"B", b"E", b"G", b"H"]
    assert len(flatten_conditionals(src)) == len(src)


def test_syscall_define_becomes_a_function():
    out = neutralize(b"SYSCALL_DEFINE2(frob, int, a,\n\t\tconst char __user *, b)\n{\n}\n").decode()
    assert " ".join(out.split()) == "long sys_frob( int a, const char * b) { }"


def test_exported_symbols():
    assert exported_symbols(b"EXPORT_SYMBOL(a);\nEXPORT_SYMBOL_GPL(b);\nEXPORT_SYMBOL_NS_GPL(c, NS);\n") == {"a", "b", "c"}


# -- interface rules for partial trees ------------------------------------------

def _write(root, files):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_tree_without_interface_headers_takes_public_core_symbols_as_interface(tmp_path):
    _write(tmp_path, {
        "kernel/time/evt.c": "#include \"evt-private.h\"\nint evt_register(int hz)\n{\n\treturn hz;\n}\n"
                             "int evt_internal_tick(int n)\n{\n\treturn n;\n}\n",
        "kernel/time/evt-private.h": "int evt_internal_tick(int n);\n",
        "drivers/fine/fine.c": "int fine_init(void)\n{\n\treturn evt_register(100);\n}\n",
        "drivers/bad/bad.c": "int bad_init(void)\n{\n\tevt_register(1);\n\treturn evt_internal_tick(1) + do_timer(1);\n}\n",
    })
    g = import_tree(tmp_path)
    rules.check(g)
    # evt_register: public (no header in the tree says otherwise); evt_internal_tick: declared
    # in a core-private header; do_timer: a named internal, defined nowhere in the tree
    assert where(g.violations, "reachout") == [("drivers/bad/bad.c", 4, "do_timer"),
                                               ("drivers/bad/bad.c", 4, "evt_internal_tick")]
    assert any(w.startswith("no interface header in the tree") for w in g.warnings)


def test_exported_symbol_without_header_is_interface_unless_private(tmp_path):
    _write(tmp_path, {
        "include/linux/other.h": "int other(void);\n",
        "kernel/time/x.c": "#include \"x-private.h\"\nint x_api(void)\n{\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(x_api);\n"
                           "int x_priv(void)\n{\n\treturn 1;\n}\nEXPORT_SYMBOL_GPL(x_priv);\nint x_plain(void)\n{\n\treturn 2;\n}\n",
        "kernel/time/x-private.h": "int x_priv(void);\n",
        "drivers/d/d.c": "int d_init(void)\n{\n\treturn x_api() + x_priv() + x_plain();\n}\n",
    })
    g = import_tree(tmp_path)
    rules.check(g)
    assert [s for _f, _l, s in where(g.violations, "reachout")] == ["x_plain", "x_priv"]
    off = parse_layers({"interface": {"exported": False}}, "t.toml")
    g2 = import_tree(tmp_path, off)
    rules.check(g2)
    assert [s for _f, _l, s in where(g2.violations, "reachout")] == ["x_api", "x_plain", "x_priv"]


def test_macro_defined_in_a_c_file_is_not_seen_by_other_files(tmp_path):
    _write(tmp_path, {
        "include/linux/api.h": "int api(void);\n",
        "arch/x86/kernel/uart.c": "#define REG_IER 1\nint uart_poke(void)\n{\n\treturn REG_IER;\n}\n",
        "drivers/tcb/tcb.c": "int tcb_poke(void)\n{\n\treturn REG_IER + api();\n}\n",
    })
    g = import_tree(tmp_path)
    rules.check(g)
    assert not where(g.violations, "reachout")


def test_arch_include_is_interface_by_default_and_internals_named(tmp_path):
    lay = Layers()
    assert lay.assign("arch/x86/include/asm/apic.h") == ("arch/x86/include", "interface")
    assert lay.is_interface_header("arch/x86/include/asm/apic.h")
    assert {"do_timer", "LOCAL_TIMER_VECTOR", "set_intr_gate"} <= lay.internal_symbols
    assert parse_layers({"interface": {"internal": []}}, "t.toml").internal_symbols == set()


def test_shipped_linux_layers(tmp_path):
    lay = shipped_layers("linux")
    assert lay.assign("arch/x86/include/asm/apic.h") == ("arch-include", "interface")
    assert lay.assign("arch/x86/include/asm/pvclock.h") == ("pvclock", "shared-lib")
    assert lay.assign("arch/x86/kernel/kvmclock.c") == ("kvm-clock", "backend")
    assert lay.assign("arch/i386/kernel/vmitime.c") == ("vmi", "backend")
    assert lay.exports_are_interface and "irq_enter" in lay.internal_symbols


def test_interface_inline_helpers_do_not_make_a_cycle(tmp_path):
    _write(tmp_path, {
        "include/linux/ops.h": "int arch_read(void);\nstatic inline int ops_read(void)\n{\n\treturn arch_read();\n}\n",
        "arch/x86/kernel/read.c": "#include <linux/ops.h>\nint arch_read(void)\n{\n\treturn 1;\n}\n"
                                  "int arch_twice(void)\n{\n\treturn ops_read() * 2;\n}\n",
    })
    g = import_tree(tmp_path)
    assert not [v for v in rules.check(g) if v.rule == "cycles"]


def test_bad_exported_value_is_input_error(tmp_path):
    from tickscope.sim.errors import InputError
    bad = tmp_path / "l.toml"
    bad.write_text("[interface]\nexported = \"yes\"\n")
    with pytest.raises(InputError, match="interface.exported"):
        load_layers(bad)
