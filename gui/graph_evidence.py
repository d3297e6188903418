"""What the graph view's evidence panel says about the model, a node, an edge, a component or a tick.

Plain functions from the graph (and, when a run is shown, its linked faults)
to HTML for a ``QTextBrowser``.  Links inside the HTML are ``edge:I``,
``node:I``, ``comp:NAME`` and ``tick:TIME_NS:CPU``; the view follows them.
"""
from __future__ import annotations

from collections import defaultdict
from html import escape

from tickscope.gui.graph_items import NODE_COLOR
from tickscope.sim.graph import link
from tickscope.sim.graph.export import CLASS_STYLE

MAX_SITES = 12
MAX_TICKS = 8


def fmt_ns(t_ns: int) -> str:
    return f"{int(t_ns) / 1e6:.3f} ms"


def class_badge(cls: str) -> str:
    color, dashed = CLASS_STYLE[cls]
    style = "dashed" if dashed else "solid"
    return (f'<span style="color:{color}; border-bottom:2px {style} {color}; font-weight:bold">{escape(cls)}</span>')


def _where(ev) -> str:
    """``file:line`` of one piece of evidence (a model's unverified evidence has line 0: not shown as ``:0``)."""
    return f"{ev.file}:{ev.line}" if ev.line else f"{ev.file} (line not verified)"


def _sites(evidence) -> str:
    rows = []
    for ev in evidence[:MAX_SITES]:
        where = _where(ev)
        rows.append(f"<li><code>{escape(where)}</code><br>{escape(ev.text)}</li>")
    more = f"<li>… {len(evidence) - MAX_SITES} more</li>" if len(evidence) > MAX_SITES else ""
    return f"<ul>{''.join(rows)}{more}</ul>" if rows else "<p><i>no evidence recorded</i></p>"


def _violations(items) -> str:
    if not items:
        return ""
    out = ["<p><b>Violates</b></p><ul>"]
    for v in items[:MAX_SITES]:
        out.append(f"<li><b>{escape(v.rule)}</b>: {escape(v.message)}<br><i>fix:</i> {escape(v.fix)}</li>")
    out.append("</ul>")
    return "".join(out)


def overview_html(graph) -> str:
    """The model with nothing selected: its description, violations per rule and import warnings."""
    out = [f"<h3>{escape(graph.name)}</h3><p>{escape(graph.meta.get('description', ''))}</p>"]
    by_rule = defaultdict(int)
    for v in graph.violations:
        by_rule[v.rule] += 1
    if by_rule:
        # counted by violation: one reached symbol with two callers is two (the class buttons count edges)
        out.append("<p>Violations by rule: " + ", ".join(f"{escape(r)}: <b>{n}</b>" for r, n in sorted(by_rule.items()))
                   + " <span style='color:#777'>(per finding; the edge-class buttons count edges)</span></p>")
    out.append("<p>Click an edge or a symbol for its evidence; click a component box to select it.</p>")
    for w in graph.warnings[:20]:
        out.append(f"<p style='color:#a05000'>{escape(w)}</p>")
    return "".join(out)


def edge_html(graph, edge, index_of_comp, violations, run=None) -> str:
    """One edge: class, ends, every evidence site, violations, and what it did in the run.

    *run* is ``None`` or ``(results, faults)``.
    """
    s, t, cls = edge
    data = graph.g.edges[s, t, cls]
    sc, tc = graph.component_of(s), graph.component_of(t)
    out = [f"<h3>{class_badge(cls)} edge</h3>",
           f"<p><code>{escape(graph.symbol_name(s))}</code> in {_comp_link(sc, index_of_comp)} → "
           f"<code>{escape(graph.symbol_name(t))}</code> in {_comp_link(tc, index_of_comp)}</p>"]
    if data.get("note"):
        out.append(f"<p><i>{escape(data['note'])}</i></p>")
    out.append(_sites(data["evidence"]))
    out.append(_violations(violations))
    if run is not None:
        out.append(_edge_run_html(graph, edge, *run))
    return "".join(out)


def _edge_run_html(graph, edge, results, faults) -> str:
    hits = link.edge_effects(results, graph, edge)
    if not hits:
        if edge[2] == "reachout":
            return "<p>In this run: no core change reaches this edge.</p>"
        return ""
    changes = sorted({h["change"] for h in hits})
    effects = sorted({h["effect"] for h in hits})
    out = [f"<p><b>In this run</b> ({escape(str(results.meta.get('backend')))}): core change "
           f"{escape(', '.join(changes))} hits this edge → <b>{escape(', '.join(effects))}</b></p>"]
    outcomes = link.edge_outcomes(results, graph, edge)
    if "lost" in outcomes:
        times, cpus = link.edge_lost_slots(results, graph, edge, faults)
        out.append(f"<p>{times.size} lost tick slots:</p>" + _tick_links(times, cpus))
    if "duplicated" in outcomes:
        rows = faults.duplicated.nonzero()[0]
        out.append(f"<p>{rows.size} duplicated updates:</p>"
                   + _tick_links(results.time_ns[rows], results.cpu[rows]))
    return "".join(out)


def _tick_links(times, cpus) -> str:
    items = [f'<a href="tick:{int(t)}:{int(c)}">CPU {int(c)} @ {fmt_ns(t)}</a>'
             for t, c in zip(list(times[:MAX_TICKS]), list(cpus[:MAX_TICKS]))]
    more = f" … {len(times) - MAX_TICKS} more" if len(times) > MAX_TICKS else ""
    return "<p>" + ", ".join(items) + more + "</p>" if items else ""


def _comp_link(name, index_of_comp) -> str:
    return f'<a href="comp:{escape(name)}">{escape(name or "?")}</a>' if name in index_of_comp else escape(name or "?")


def node_html(graph, node_id, edges_of_node, edge_index, index_of_comp) -> str:
    """A symbol: where it is defined and the edges in and out (as links)."""
    d = graph.g.nodes[node_id]
    comp = d.get("component", "")
    where = f"{d.get('file')}:{d.get('line')}" if d.get("line") else (d.get("file") or "")
    out = [f"<h3><code>{escape(graph.symbol_name(node_id))}</code></h3>",
           f"<p>{escape(d.get('kind', ''))} in {_comp_link(comp, index_of_comp)}"
           + (f" — <code>{escape(where)}</code>" if where else "") + "</p><ul>"]
    for key in edges_of_node[:40]:
        s, t, cls = key
        arrow = f"→ {escape(graph.symbol_name(t))}" if s == node_id else f"← {escape(graph.symbol_name(s))}"
        out.append(f'<li>{class_badge(cls)} <a href="edge:{edge_index[key]}">{arrow}</a></li>')
    out.append("</ul>")
    return "".join(out)


def component_html(graph, name, band, metrics, violations, rows_highlighted=None) -> str:
    """A component: kind, band, files, binding to the simulation, metrics, violations."""
    attrs = graph.components.get(name, {})
    color = NODE_COLOR.get(band, "#333")
    out = [f'<h3 style="color:{color}">{escape(name)}</h3>',
           f"<p>{escape(attrs.get('kind', ''))} (band: {escape(band)})</p>"]
    if attrs.get("description"):
        out.append(f"<p><i>{escape(attrs['description'])}</i></p>")
    if attrs.get("paths"):
        out.append("<p>" + ", ".join(f"<code>{escape(p)}</code>" for p in attrs["paths"][:8]) + "</p>")
    if attrs.get("sim_backend"):
        out.append(f"<p>simulated as backend <b>{escape(attrs['sim_backend'])}</b>"
                   + (f" — time model {escape(attrs['time_model'])}" if attrs.get("time_model") else "") + "</p>")
    if rows_highlighted is not None:
        out.append(f"<p>In this run: {rows_highlighted} of its events highlighted in the tick raster.</p>"
                   if rows_highlighted else "<p>In this run: not the simulated backend; nothing to highlight.</p>")
    if metrics:
        keys = ("reachout", "internal_surface", "fan_out_core", "fan_in_core", "shared_lib_uses", "duplicates")
        out.append("<table>" + "".join(f"<tr><td>{k}</td><td align=right><b>{metrics[k]}</b></td></tr>" for k in keys)
                   + "</table>")
    out.append(_violations(violations))
    return "".join(out)


def tick_html(outcome, time_ns, cpu, edges, edge_index, graph) -> str:
    """The header shown when a lost or duplicated tick was clicked in the raster."""
    out = [f"<h3>{escape(outcome)} tick — CPU {cpu} @ {fmt_ns(time_ns)}</h3>"]
    if not edges:
        out.append("<p>No reachout edge of this model explains it (no core change reaches the run's backend).</p>")
        return "".join(out)
    out.append(f"<p>Caused by {len(edges)} reachout edge{'s' if len(edges) != 1 else ''}:</p><ul>")
    for key in edges:
        s, t, _cls = key
        ev = graph.g.edges[key]["evidence"]
        where = f" <code>{escape(_where(ev[0]))}</code> {escape(ev[0].text)}" if ev else ""
        out.append(f'<li><a href="edge:{edge_index[key]}">{escape(graph.symbol_name(s))} → '
                   f"{escape(graph.symbol_name(t))}</a>{where}</li>")
    out.append("</ul>")
    return "".join(out)


def node_tip(graph, node_id, band_of) -> str:
    """Hover text of a symbol."""
    d = graph.g.nodes[node_id]
    where = f"\n{d.get('file')}:{d.get('line')}" if d.get("line") else (f"\n{d['file']}" if d.get("file") else "")
    comp = d.get("component")
    return f"{graph.symbol_name(node_id)}\n{d.get('kind')} in {comp} [{band_of.get(comp)}]{where}"


def edge_tip(graph, edge, violations) -> str:
    """Hover text of an edge: class, ends, the first sites, rules broken."""
    s, t, cls = edge
    ev = graph.g.edges[s, t, cls]["evidence"]
    lines = [f"{cls}: {graph.symbol_name(s)} → {graph.symbol_name(t)}"]
    lines += [f"{_where(e)}  {e.text}" for e in ev[:3]]
    if len(ev) > 3:
        lines.append(f"… {len(ev) - 3} more sites")
    rules = sorted({v.rule for v in violations})
    if rules:
        lines.append("violates: " + ", ".join(rules))
    return "\n".join(lines)
