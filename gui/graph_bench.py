"""Graph figures for ``tickscope bench --graph``.

``graph_layout_ms``
    Layered layout of a generated 2 000-node graph (40 backends, a core, an
    arch and a hardware part, interfaces and a shared library; ~6 000 edges of
    every class) into the view's bands, including the arrays the view draws
    from (:func:`tickscope.gui.graph_items.build_view_data`).  Target < 2 000 ms.
``graph_frame_ms_p50`` / ``graph_frame_ms_p95``
    Time of one frame of the graph view while panning and zooming, offscreen at
    1600x1000: each frame moves or scales the view, then the view is painted
    into a pixmap.  Frames alternate between the whole graph (no labels) and
    zoomed-in views (labels on); smooth means p95 well under 33 ms.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

N_NODES = 2000
SIZE = (1600, 1000)


def generated_graph(n_nodes: int = N_NODES, seed: int = 7):
    """An ArchGraph of *n_nodes* symbols with edges of every class (deterministic)."""
    import random

    from tickscope.sim.graph.model import ArchGraph, Evidence, classify_reference

    rnd = random.Random(seed)
    g = ArchGraph(name=f"generated-{n_nodes}", source="bench")
    parts = [("core", "core", 0.15), ("arch", "hardware", 0.05), ("lapic", "hardware", 0.03),
             ("api", "interface", 0.10), ("lib", "shared-lib", 0.07)]
    parts += [(f"drv{i:02d}", "backend", 0.60 / 40) for i in range(40)]
    symbols = {}
    for name, kind, share in parts:
        g.add_component(name, kind, paths=[f"{name}/"], sim_backend="bare-metal" if name == "lapic" else "")
        for k in range(max(1, round(share * n_nodes))):
            sym = f"{name}_f{k}"
            g.add_node(sym, "function", name, f"{name}/{name}.c", 10 + k, symbol=sym)
            symbols.setdefault(name, []).append(sym)
    names = list(symbols)
    kind_of = {n: k for n, k, _ in parts}
    for s_comp in names:
        for s in symbols[s_comp]:
            for _ in range(3):
                t_comp = s_comp if rnd.random() < 0.3 else rnd.choice(names)
                t = rnd.choice(symbols[t_comp])
                if t == s:
                    continue
                cls = classify_reference(s_comp, kind_of[s_comp], t_comp, kind_of[t_comp], kind_of[t_comp] == "interface")
                if kind_of[s_comp] == "backend" and kind_of[t_comp] == "core" and rnd.random() < 0.8:
                    t = rnd.choice(symbols["api"])  # most backends are well behaved
                    cls = "interface"
                g.add_edge(s, t, cls, [Evidence(f"{s_comp}/{s_comp}.c", 20, f"{s}() uses {t}")])
    for drv in names[5:]:
        g.add_edge("core_f0", symbols[drv][0], "callback", [Evidence("core/core.c", 5, "ops->set_next_event")])
        if rnd.random() < 0.3:
            g.add_edge(symbols[drv][1], symbols["lib"][0], "duplicate", [Evidence(f"{drv}/{drv}.c", 30, "copy")])
    return g


def _layout_ms(graph, repeats: int) -> tuple[float, object]:
    from tickscope.gui.graph_items import build_view_data

    times, data = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        data = build_view_data(graph)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), data


def _frames(graph, frames: int) -> dict:
    import numpy as np
    from PySide6 import QtCore, QtWidgets

    from tickscope.gui.graph_view import GraphView

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["tickscope-bench"])
    view = GraphView()
    view.resize(*SIZE)
    view.show()
    view.set_graph(graph, graph.name)
    app.processEvents()
    view.fit()
    full = view.viewbox.viewRect()
    view.canvas.grab()
    times, paints = [], []
    xy = view.item.graph_data().xy
    for i in range(frames):
        t = time.perf_counter()
        if i % 2 == 0:   # pan across the whole graph
            dx = full.width() * 0.02 * ((i // 2) % 10 - 5)
            view.viewbox.setRange(full.translated(dx, 0.0), padding=0.0)
        else:            # zoom in on a node, far enough for the labels to show
            x, y = xy[(i * 97) % len(xy)]
            w = full.width() / (2.0 + (i % 7))
            view.viewbox.setRange(QtCore.QRectF(x - w / 2, y - w / 4, w, w / 2), padding=0.0)
        view.canvas.grab()
        times.append((time.perf_counter() - t) * 1e3)
        paints.append(view.item.last_paint_ms)
    view.close()
    arr = np.asarray(times)
    return {"graph_frame_ms_p50": round(float(np.percentile(arr, 50)), 2),
            "graph_frame_ms_p95": round(float(np.percentile(arr, 95)), 2),
            "graph_paint_ms_p50": round(float(np.percentile(paints, 50)), 2),
            "graph_frames": frames, "graph_platform": QtWidgets.QApplication.platformName()}


def run(args=None) -> dict:
    """Measure the graph figures; returns them as a dict (the bench CLI prints them).

    Parameters
    ----------
    args : argparse.Namespace, optional
        ``quick`` (bool) uses fewer frames and layout repeats.
    """
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    quick = bool(getattr(args, "quick", False))
    graph = generated_graph()
    layout_ms, (data, _ids, keys, _bands) = _layout_ms(graph, 2 if quick else 5)
    out = {"graph_nodes": len(data.xy), "graph_edges": len(keys), "graph_layout_ms": round(layout_ms, 1)}
    out.update(_frames(graph, 20 if quick else 60))
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tickscope.gui.graph_bench")
    parser.add_argument("--quick", action="store_true")
    a = parser.parse_args()
    print(json.dumps(run(a), indent=2))
    sys.exit(0)
