"""A generated tree: many backends, exact counts (speed is measured, not asserted here)."""
from pathlib import Path

from tickscope.sim.graph import rules
from tickscope.sim.graph.cimport import import_tree


def make_tree(root: Path, n_backends: int, funcs_per_file: int = 20) -> None:
    """Write a Linux-like tree: one core file, one header, *n_backends* driver files.

    Every third backend calls the core-private ``core_tick_internal`` once (in
    its first function); the others use only the declared interface.
    """
    (root / "include").mkdir(parents=True)
    (root / "kernel").mkdir()
    (root / "include" / "api.h").write_text("int api_register(int id);\n")
    (root / "kernel" / "core.c").write_text(
        "#include <api.h>\n\nint api_register(int id)\n{\n\treturn id;\n}\n\n"
        "int core_tick_internal(int x)\n{\n\treturn x + 1;\n}\n")
    for b in range(n_backends):
        d = root / "drivers" / f"drv{b:03d}"
        d.mkdir(parents=True)
        body = ["#include <api.h>", "int core_tick_internal(int x);", ""]
        for f in range(funcs_per_file):
            call = "core_tick_internal(v)" if (b % 3 == 0 and f == 0) else "api_register(v)"
            body += [f"static int drv{b}_f{f}(int v)", "{", "\tint i, acc = 0;", "",
                     "\tfor (i = 0; i < v; i++) {", "\t\tacc += i * 3;", "\t\tif (acc > 1000)", "\t\t\tbreak;", "\t}",
                     f"\tacc += {call};", "\treturn acc;", "}", ""]
        (d / "drv.c").write_text("\n".join(body))


def test_generated_tree_reachout_count_and_lines(tmp_path):
    make_tree(tmp_path, 30)
    g = import_tree(tmp_path)
    found = [v for v in rules.check(g) if v.rule == "reachout"]
    assert len(found) == 10  # backends 0, 3, ..., 27
    # the call sits on line 3 (includes) + 10 (into the first function) = 13
    assert {(v.line, v.symbol) for v in found} == {(13, "core_tick_internal")}
    assert not g.warnings
