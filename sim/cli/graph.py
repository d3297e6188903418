"""``tickscope graph``: the dependency graph of timer code and the 2007 rules.

Sources (one of): ``--model NAME`` (a shipped architecture model),
``--source DIR [--layers FILE.toml]`` (a C tree), ``--python DIR`` (a Python
project, from its imports).  ``--rules`` lists the violations with fix hints;
``--baseline FILE.json`` (an earlier ``--export``) marks each violation new or
known and exits 1 if any is new; ``--export`` writes .json/.dot/.graphml/.svg.

JSON schema: ``{"nodes": [{"id", "kind", "component", "file", "line"}],
"edges": [{"source", "target", "class", "evidence": [{"file", "line",
"text"}]}], "violations": [{"rule", "component", "file", "line", "symbol",
"message", "fix"}], "metrics": {...}}`` with files relative to the tree root.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from tickscope.sim import shipped
from tickscope.sim.errors import InputError


def register(sub):
    p = sub.add_parser("graph", help="dependency graph of timer code: reachout, shared math, shareable backends",
                       description=__doc__.split("\n\n")[1])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", metavar="NAME", help="a shipped architecture model (see --list-models)")
    src.add_argument("--source", metavar="DIR", help="a C source tree")
    src.add_argument("--python", metavar="DIR", help="a Python project (dogfood: its package imports)")
    p.add_argument("--layers", metavar="FILE", help="component layers TOML for --source, or a shipped one by name "
                   "(linux; default: Linux-like defaults)")
    p.add_argument("--rules", action="store_true", help="list violations with fix hints")
    p.add_argument("--export", metavar="FILE", help="write FILE.json, .dot, .graphml or .svg")
    p.add_argument("--baseline", metavar="FILE", help="earlier JSON export; exit 1 if there is a new violation")
    p.add_argument("--list-models", action="store_true", help="list shipped models and core changes")
    p.set_defaults(func=_run)


def _build(args):
    from tickscope.sim.graph import archmodel, cimport, layers, pyimport

    if args.layers and not args.source:
        raise InputError("--layers applies to --source only")
    if args.model:   # a name, or the model's file as a checkout holds it (assets/arch/NAME.toml) from anywhere
        return archmodel.load_model(shipped.name_in("arch", args.model) or args.model)
    if args.source:
        lay = layers.load_layers(args.layers) if args.layers else None
        return cimport.import_tree(args.source, lay)
    if args.python:
        return pyimport.import_python(args.python)
    raise InputError("give one of --model NAME, --source DIR or --python DIR (or --list-models)")


def _load_baseline(path) -> Counter:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = data["violations"]
        return Counter((v["rule"], v["component"], v["file"], v["symbol"]) for v in items)
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline file") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a tickscope graph JSON export ({exc.__class__.__name__}: {exc})") from None


def _run(args) -> int:
    from tickscope.sim.graph import archmodel, export, metrics, rules

    if args.list_models:
        print("models:")
        for name, desc in archmodel.list_models().items():
            print(f"  {name:<14} {desc}")
        print("core changes:")
        for name, desc in archmodel.list_changes().items():
            print(f"  {name:<16} {desc}")
        if not (args.model or args.source or args.python):
            return 0
    if args.export:   # before the report: a bad name printed the whole report, then failed
        export.check_path(args.export)
    baseline = _load_baseline(args.baseline) if args.baseline else None
    graph = _build(args)
    violations = rules.check(graph)
    new = 0
    if baseline is not None:
        for v in violations:
            if baseline[v.key()] > 0:
                baseline[v.key()] -= 1
                v.status = "known"
            else:
                v.status = "new"
                new += 1
    known_comps = {key[1] for key in baseline} if baseline else set()
    if (known_comps and violations and new == len(violations)
            and not known_comps & {v.component for v in violations}):
        # exported with --layers linux and checked without it (the defaults name components after folders), every
        # known violation came out [new]: say why
        names = ", ".join(sorted(known_comps))
        graph.warnings.append(f"{args.baseline}: its violations are in components ({names}) with no violation "
                              "in this graph: exported with other --layers? Give the same --layers, or every "
                              "violation counts as new")
    for w in graph.warnings:
        print(f"tickscope: warning: {w}", file=sys.stderr)
    _print_summary(graph, metrics.compute(graph))
    if args.rules or baseline is not None:
        _print_violations(violations)
    if args.export:
        out = export.export(graph, args.export)
        print(f"wrote {out}")
    if baseline is not None:
        print(f"baseline: {new} new, {len(violations) - new} known")
        return 1 if new else 0
    return 0


def _print_summary(graph, m):
    classes = ", ".join(f"{c} {n}" for c, n in m["edges_by_class"].items() if n)
    print(f"graph {graph.name}: {len(graph.components)} components, {m['nodes']} nodes, {m['edges']} edges ({classes or 'none'})")
    width = max((len(c) for c in graph.components), default=10)
    for comp, attrs in sorted(graph.components.items(), key=lambda kv: (kv[1]["kind"], kv[0])):
        line = f"  {comp:<{width}}  {attrs['kind']:<10}"
        b = m["backends"].get(comp)
        if b:
            share = "-" if b["shared_share"] is None else f"{b['shared_share']:.0%}"
            line += (f" reachout {b['reachout']}, internal surface {b['internal_surface']}, fan-out {b['fan_out_core']}, "
                     f"fan-in {b['fan_in_core']}, shared-lib {b['shared_lib_uses']}, duplicates {b['duplicates']} (shared {share})")
        print(line.rstrip())
    dsm = m["dsm"]
    deps = [f"{a} -> {b}" for i, a in enumerate(dsm["components"]) for j, b in enumerate(dsm["components"]) if dsm["matrix"][i][j]]
    if deps:
        print("dependencies: " + "; ".join(deps))
    by_rule = Counter(v.rule for v in graph.violations)
    print("violations: " + (", ".join(f"{r} {n}" for r, n in sorted(by_rule.items())) or "none"))


def _print_violations(violations):
    for v in violations:
        tag = f"[{v.status}] " if v.status else ""
        where = f"{v.file}:{v.line}" if v.line else f"{v.file} (line not verified)"   # a model's unverified evidence
        print(f"{tag}{v.rule}: {where}: {v.component}: {v.symbol}: {v.message}")
        print(f"    fix: {v.fix}")
