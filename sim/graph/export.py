"""Write a graph as JSON, DOT, GraphML or SVG (chosen by the file suffix).

Every format carries the edge class and the rules an edge or node violates.
The SVG is drawn here as layered bands (see :mod:`.layout`); no Graphviz.
"""
from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import networkx as nx

from tickscope.sim import atomic
from tickscope.sim.errors import InputError
from tickscope.sim.graph import metrics as metrics_mod
from tickscope.sim.graph.layout import layered_layout
from tickscope.sim.graph.model import ArchGraph

FORMATS = (".json", ".dot", ".graphml", ".svg")
CLASS_STYLE = {  # colour, dashed
    "reachout": ("#d62728", False),
    "interface": ("#555555", True),
    "callback": ("#2ca02c", True),
    "shared-lib": ("#1f77b4", False),
    "duplicate": ("#ff7f0e", False),
    "internal": ("#bbbbbb", False),
}
BAND_FILL = {"backend": "#fdf6ec", "shared-lib": "#eef4fb", "interface": "#f4f4f4", "core": "#eef8ee", "hardware": "#f3eef8"}


def _violation_index(graph: ArchGraph):
    edge_rules, comp_rules = defaultdict(set), defaultdict(set)
    for v in graph.violations:
        comp_rules[v.component].add(v.rule)
        if len(v.chain) == 4:
            edge_rules[(v.chain[1], v.chain[2])].add(v.rule)
    return edge_rules, comp_rules


def to_dict(graph: ArchGraph, with_metrics: bool = True) -> dict:
    """The JSON export as a dict (see the module docstring of the CLI for the schema)."""
    nodes = [{"id": n, "kind": d["kind"], "component": d.get("component", ""), "file": d.get("file", ""),
              "line": d.get("line", 0), "layer": d.get("layer", "")}
             for n, d in sorted(graph.g.nodes(data=True))]
    edge_rules, _ = _violation_index(graph)
    edges = []
    for s, t, d in sorted(graph.edges(), key=lambda e: (e[0], e[1], e[2]["cls"])):
        edges.append({"source": s, "target": t, "class": d["cls"],
                      "evidence": [e.as_dict() for e in d["evidence"]],
                      "violations": sorted(edge_rules.get((s, t), ()))})
    out = {"name": graph.name, "nodes": nodes, "edges": edges,
           "components": {c: {k: v for k, v in a.items() if v not in ("", [], None)} for c, a in sorted(graph.components.items())},
           "violations": [v.as_dict() for v in graph.violations],
           "warnings": list(graph.warnings)}
    if with_metrics:
        out["metrics"] = metrics_mod.compute(graph)
    return out


def to_json(graph: ArchGraph) -> str:
    return json.dumps(to_dict(graph), indent=1, sort_keys=False) + "\n"


def _dot_id(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: ArchGraph) -> str:
    edge_rules, comp_rules = _violation_index(graph)
    out = io.StringIO()
    out.write(f"digraph {_dot_id(graph.name or 'tickscope')} {{\n  rankdir=BT;\n  node [shape=box, fontsize=10];\n")
    by_comp = defaultdict(list)
    for n in graph.symbol_nodes():
        by_comp[graph.component_of(n)].append(n)
    for i, (comp, nodes) in enumerate(sorted(by_comp.items())):
        kind = graph.kind_of(comp)
        viol = ",".join(sorted(comp_rules.get(comp, ())))
        out.write(f"  subgraph cluster_{i} {{\n    label={_dot_id(comp)}; kind={_dot_id(kind)}; violation={_dot_id(viol)};\n")
        for n in sorted(nodes):
            d = graph.g.nodes[n]
            out.write(f"    {_dot_id(n)} [label={_dot_id(graph.symbol_name(n))}, kind={_dot_id(d['kind'])}, "
                      f"component={_dot_id(comp)}, file={_dot_id(d.get('file', ''))}, line={d.get('line', 0)}];\n")
        out.write("  }\n")
    for s, t, d in sorted(graph.edges(), key=lambda e: (e[0], e[1], e[2]["cls"])):
        color, dashed = CLASS_STYLE[d["cls"]]
        viol = ",".join(sorted(edge_rules.get((s, t), ())))
        ev = d["evidence"][0] if d["evidence"] else None
        where = f"{ev.file}:{ev.line}" if ev else ""
        out.write(f"  {_dot_id(s)} -> {_dot_id(t)} [class={_dot_id(d['cls'])}, violation={_dot_id(viol)}, "
                  f"evidence={_dot_id(where)}, color={_dot_id(color)}{', style=dashed' if dashed else ''}];\n")
    out.write("}\n")
    return out.getvalue()


def to_graphml(graph: ArchGraph) -> str:
    edge_rules, comp_rules = _violation_index(graph)
    g = nx.MultiDiGraph()
    for n, d in graph.g.nodes(data=True):
        viol = ",".join(sorted(comp_rules.get(n, ()))) if d["kind"] == "component" else ""
        g.add_node(n, kind=d["kind"], component=d.get("component", ""), file=d.get("file", ""),
                   line=int(d.get("line", 0)), layer=d.get("layer", ""), violation=viol)
    for s, t, d in graph.edges():
        ev = d["evidence"][0] if d["evidence"] else None
        g.add_edge(s, t, key=d["cls"], **{"class": d["cls"]}, violation=",".join(sorted(edge_rules.get((s, t), ()))),
                   file=ev.file if ev else "", line=ev.line if ev else 0, text=ev.text if ev else "")
    return "\n".join(nx.generate_graphml(g)) + "\n"


#: Lower-case characters of a symbol name that fit between two columns of the layout at font-size 9
LABEL_CHARS = 18
#: An upper-case letter or digit is about this many lower-case letters wide (LOCAL_TIMER_VECTOR ran into the
#: next column's dot and name)
WIDE_CHAR = 1.3


def _short(label: str) -> str:
    """*label* cut to fit its column, with an ellipsis when cut (names cut bare read as other symbols:
    ``vmi_timer_setup_bo``)."""
    widths = [WIDE_CHAR if ch.isupper() or ch.isdigit() else 1.0 for ch in label]
    if sum(widths) <= LABEL_CHARS:
        return label
    room, n = LABEL_CHARS - 1, 0
    while widths[n] <= room:
        room -= widths[n]
        n += 1
    return label[:n] + "\u2026"


def to_svg(graph: ArchGraph) -> str:
    edge_rules, comp_rules = _violation_index(graph)
    lay = layered_layout(graph)
    margin, label_w = 20.0, 110.0
    w, h = lay.width + label_w + 2 * margin, lay.height + 2 * margin + 20
    ox, oy = margin + label_w, margin + 20

    def pt(n):
        x, y = lay.positions[n]
        return ox + x + 8, oy + y + 12

    out = io.StringIO()
    out.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
              'font-family="sans-serif" font-size="9">\n')
    out.write(f"<title>{escape(graph.name)}</title>\n")
    for kind, top, bottom in lay.bands:
        out.write(f'<g class="band" data-kind="{kind}"><rect x="{margin}" y="{oy + top - 8:.1f}" width="{w - 2 * margin:.1f}" '
                  f'height="{bottom - top + 4:.1f}" fill="{BAND_FILL[kind]}" stroke="#ccc"/>'
                  f'<text x="{margin + 4}" y="{oy + top + 8:.1f}" font-size="11" font-weight="bold">{kind}</text></g>\n')
    for comp, (x0, y0, x1, y1) in sorted(lay.components.items()):
        viol = ",".join(sorted(comp_rules.get(comp, ())))
        stroke = "#d62728" if viol else "#999"
        out.write(f'<g class="component" data-component={quoteattr(comp)} data-violation="{viol}">'
                  f'<rect x="{ox + x0 - 4:.1f}" y="{oy + y0 - 6:.1f}" width="{x1 - x0 - 40:.1f}" height="{y1 - y0:.1f}" '
                  f'fill="none" stroke="{stroke}" stroke-dasharray="2,2"><title>{escape(comp)}</title></rect></g>\n')
    out.write('<g class="edges" fill="none">\n')
    for s, t, d in sorted(graph.edges(), key=lambda e: (e[2]["cls"] == "reachout", e[0], e[1])):
        if s not in lay.positions or t not in lay.positions:
            continue
        (x1, y1), (x2, y2) = pt(s), pt(t)
        color, dashed = CLASS_STYLE[d["cls"]]
        viol = ",".join(sorted(edge_rules.get((s, t), ())))
        ev = d["evidence"][0] if d["evidence"] else None
        tip = f"{d['cls']}: {s} -> {t}" + (f"\n{ev.file}:{ev.line} {ev.text}" if ev else "") + (f"\nviolates: {viol}" if viol else "")
        width = 1.6 if d["cls"] in ("reachout", "duplicate") else 0.8
        dash = ' stroke-dasharray="4,3"' if dashed else ""
        out.write(f'<path class="edge {d["cls"]}" data-class="{d["cls"]}" data-violation="{viol}" '
                  f'd="M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}" stroke="{color}" stroke-width="{width}"'
                  f'{dash}><title>{escape(tip)}</title></path>\n')
    out.write("</g>\n<g class=\"nodes\">\n")
    for n, (x, y) in sorted(lay.positions.items()):
        d = graph.g.nodes[n]
        cx, cy = pt(n)
        label = graph.symbol_name(n)
        tip = f"{n}\n{d.get('kind')} in {d.get('component')}" + (f"\n{d.get('file')}:{d.get('line')}" if d.get("file") else "")
        out.write(f'<g class="node" data-id={quoteattr(n)} data-kind="{d["kind"]}"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" '
                  f'fill="#333"/><text x="{cx + 6:.1f}" y="{cy + 3:.1f}">{escape(_short(label))}</text>'
                  f"<title>{escape(tip)}</title></g>\n")
    out.write("</g>\n</svg>\n")
    return out.getvalue()


def check_path(path) -> Path:
    """*path* if a graph can be exported to it (checked before any work).

    Raises
    ------
    InputError
        For a suffix other than .json, .dot, .graphml, .svg, or a folder.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown export format {suffix or '(none)'!r} (use {', '.join(FORMATS)})")
    if path.is_dir():
        raise InputError(f"{path}: is a folder (give a file name ending in {suffix})")
    return path


def export(graph: ArchGraph, path) -> Path:
    """Write *graph* to *path* atomically in the format its suffix names.

    Raises
    ------
    InputError
        As :func:`check_path`.
    """
    path = check_path(path)
    writers = {".json": to_json, ".dot": to_dot, ".graphml": to_graphml, ".svg": to_svg}
    atomic.write_text(path, writers[path.suffix.lower()](graph))
    return path
