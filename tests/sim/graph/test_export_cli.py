"""Exports parse back; the CLI exit codes and the baseline."""
import json
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from tickscope.sim.cli import main
from tickscope.sim.graph import export, rules
from tickscope.sim.graph.cimport import import_tree


@pytest.fixture
def graph(linuxlike):
    g = import_tree(linuxlike)
    rules.check(g)
    return g


def test_json_export_schema_and_paths(graph, tmp_path):
    out = export.export(graph, tmp_path / "g.json")
    data = json.loads(out.read_text())
    assert set(data) >= {"nodes", "edges", "violations", "metrics"}
    for n in data["nodes"]:
        assert set(n) >= {"id", "kind", "component", "file", "line"}
        assert not n["file"].startswith("/")
    reach = [e for e in data["edges"] if e["class"] == "reachout"]
    assert len(reach) == 4
    assert {"file": "arch/x86/vmi/vmitimer.c", "line": 13, "text": "do_timer(1);"} in reach[0]["evidence"] + [
        ev for e in reach for ev in e["evidence"]]
    v = next(v for v in data["violations"] if v["symbol"] == "do_timer")
    assert (v["rule"], v["component"], v["file"], v["line"]) == ("reachout", "arch/x86/vmi", "arch/x86/vmi/vmitimer.c", 13)
    assert set(v) >= {"rule", "component", "file", "line", "symbol", "message", "fix"}
    vmi = data["metrics"]["backends"]["arch/x86/vmi"]
    assert vmi["reachout"] == 4 and vmi["internal_surface"] == 4
    dup = data["metrics"]["backends"]["drivers/dupclock"]
    assert dup["duplicates"] == 1 and dup["shared_share"] == 0.0
    assert data["metrics"]["backends"]["arch/x86/kvmclock"]["shared_share"] == 1.0
    dsm = data["metrics"]["dsm"]
    i, j = dsm["components"].index("arch/x86/vmi"), dsm["components"].index("kernel")
    assert dsm["matrix"][i][j] == 2


def test_dot_carries_class_and_violation(graph, tmp_path):
    text = export.export(graph, tmp_path / "g.dot").read_text()
    line = next(ln for ln in text.splitlines() if "vmi_apic_timer_entry\" -> \"kernel/time/timekeeping.c:do_timer" in ln)
    assert 'class="reachout"' in line and 'violation="reachout"' in line and "vmitimer.c:13" in line


def test_graphml_parses_back_with_attributes(graph, tmp_path):
    g = nx.read_graphml(export.export(graph, tmp_path / "g.graphml"))
    attrs = [d for s, t, d in g.edges(data=True) if t == "lib/pvclock.c:pvclock_scale_delta" and d["class"] == "duplicate"]
    assert attrs and attrs[0]["violation"] == "duplicate-math" and attrs[0]["line"] == 4


def test_svg_is_xml_with_bands_and_classed_edges(graph, tmp_path):
    root = ET.parse(export.export(graph, tmp_path / "g.svg")).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    bands = {g.get("data-kind") for g in root.iter(ns + "g") if g.get("class") == "band"}
    assert {"backend", "core", "shared-lib"} <= bands
    reach = [p for p in root.iter(ns + "path") if p.get("data-class") == "reachout"]
    assert len(reach) == 4 and all(p.get("data-violation") == "reachout" and p.get("stroke") == "#d62728" for p in reach)


def test_unknown_export_suffix_is_exit_2(linuxlike, tmp_path, capsys):
    assert main(["graph", "--source", str(linuxlike), "--export", str(tmp_path / "g.png")]) == 2
    assert "unknown export format" in capsys.readouterr().err


def test_cli_missing_directory_exit_2(tmp_path, capsys):
    assert main(["graph", "--source", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such directory" in err


def test_cli_a_tree_without_c_sources_is_refused_not_an_empty_clean_graph(linuxlike, tmp_path, capsys):
    # a wrong folder graphed as 0 components and passed --baseline in CI: "baseline: 0 new, 0 known", exit 0
    base = tmp_path / "known.json"
    assert main(["graph", "--source", str(linuxlike), "--export", str(base)]) == 0
    capsys.readouterr()
    empty = tmp_path / "Documentation"
    (empty / "timers").mkdir(parents=True)
    (empty / "timers" / "highres.rst").write_text("High resolution timers\n")
    assert main(["graph", "--source", str(empty), "--baseline", str(base)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no C sources (.c, .h)" in err and str(empty) in err


def test_cli_a_baseline_from_other_layers_is_said_so(tmp_path, capsys):
    # exported with --layers linux, checked without: every known violation was [new], with no word why
    tree = tmp_path / "linux"
    (tree / "kernel" / "time").mkdir(parents=True)
    (tree / "arch" / "x86" / "kernel").mkdir(parents=True)
    (tree / "kernel" / "time" / "tick.c").write_text("unsigned long jiffies;\nvoid do_timer(unsigned long t)\n{\n"
                                                     "\tjiffies += t;\n}\n")
    (tree / "arch" / "x86" / "kernel" / "kvmclock.c").write_text("static void kvm_tick(void)\n{\n\tdo_timer(1);\n}\n")
    base = tmp_path / "known.json"
    assert main(["graph", "--source", str(tree), "--layers", "linux", "--export", str(base)]) == 0
    assert json.loads(base.read_text())["violations"]
    capsys.readouterr()
    assert main(["graph", "--source", str(tree), "--baseline", str(base)]) == 1
    err = capsys.readouterr().err
    assert f"{base}: its violations are in components (kvm-clock)" in err and "exported with other --layers?" in err
    assert main(["graph", "--source", str(tree), "--layers", "linux", "--baseline", str(base)]) == 0
    assert "exported with other --layers" not in capsys.readouterr().err


def test_cli_rules_prints_violations_and_warnings(linuxlike, capsys):
    assert main(["graph", "--source", str(linuxlike), "--rules"]) == 0
    out, err = capsys.readouterr()
    assert "reachout: arch/x86/vmi/vmitimer.c:13: arch/x86/vmi: do_timer:" in out
    assert "drivers/broken/broken.c" in err and "drivers/firmware/blob.c" in err


def test_baseline_exit_1_on_new_violation_only(linuxlike, tmp_path, capsys):
    base = tmp_path / "base.json"
    assert main(["graph", "--source", str(linuxlike), "--export", str(base)]) == 0
    assert main(["graph", "--source", str(linuxlike), "--baseline", str(base)]) == 0
    data = json.loads(base.read_text())
    dropped = [v for v in data["violations"] if v["symbol"] == "do_timer"]
    data["violations"] = [v for v in data["violations"] if v["symbol"] != "do_timer"]
    base.write_text(json.dumps(data))
    capsys.readouterr()
    assert len(dropped) == 1
    assert main(["graph", "--source", str(linuxlike), "--baseline", str(base)]) == 1
    out = capsys.readouterr().out
    assert "[new] reachout: arch/x86/vmi/vmitimer.c:13" in out and "baseline: 1 new" in out


def test_bad_baseline_is_exit_2(linuxlike, tmp_path, capsys):
    bad = tmp_path / "b.json"
    bad.write_text("{not json")
    assert main(["graph", "--source", str(linuxlike), "--baseline", str(bad)]) == 2


def test_list_models_and_model_graph(capsys):
    assert main(["graph", "--list-models"]) == 0
    out = capsys.readouterr().out
    for name in ("linux-2.6.21", "linux-2.6.22", "linux-6.x", "lapic-irq-path", "do-timer-owner", "nohz-idle", "hrtimer-highres"):
        assert name in out
    assert main(["graph", "--model", "linux-2.6.21", "--rules"]) == 0
    assert "reachout: arch/i386/kernel/vmitime.c:271: vmi-timer: do_timer:" in capsys.readouterr().out


def test_bad_export_name_fails_before_the_report(tmp_path, capsys):
    # the whole report was printed on stdout, then the export failed with exit 2
    assert main(["graph", "--model", "linux-6.x", "--export", str(tmp_path / "g.png")]) == 2
    assert capsys.readouterr().out == ""
    (tmp_path / "d.json").mkdir()
    assert main(["graph", "--model", "linux-6.x", "--export", str(tmp_path / "d.json")]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "is a folder" in out.err


def test_source_given_a_file_says_it_is_not_a_directory(tmp_path, capsys):
    f = tmp_path / "time.c"
    f.write_text("int x;\n")
    assert main(["graph", "--source", str(f)]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_rules_print_no_line_zero_for_unverified_evidence(capsys):
    # linux-2.6.22's xen/time.c evidence has no verified line: it printed as "time.c:0"
    assert main(["graph", "--model", "linux-2.6.22", "--rules"]) == 0
    out = capsys.readouterr().out
    assert ":0:" not in out
    assert "arch/i386/xen/time.c (line not verified)" in out


def test_svg_labels_cut_to_their_column_end_in_an_ellipsis(tmp_path):
    # names were cut bare at 18 characters ("vmi_timer_setup_bo", "vmi_timer_setup_se"), and
    # LOCAL_TIMER_VECTOR, 18 wide letters, ran into the next column's name
    from tickscope.sim.graph import archmodel

    root = ET.parse(export.export(archmodel.load_model("linux-2.6.21"), tmp_path / "g.svg")).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    labels = {g.get("data-id"): g.find(ns + "text").text for g in root.iter(ns + "g") if g.get("class") == "node"}
    assert labels["xtime"] == "xtime"
    assert labels["vmi_timer_setup_boot_alarm"] == "vmi_timer_setup_b\u2026"
    assert labels["LOCAL_TIMER_VECTOR"].endswith("\u2026") and len(labels["LOCAL_TIMER_VECTOR"]) < 18
    assert all(len(t) <= 18 for t in labels.values())
