"""What an exported figure shows and how it is sized.

:class:`PlotSource` holds one run and everything plotted from it (summary,
raster marks, histograms, drift, architecture graph), computed once and lazily;
:class:`PlotOptions` and :class:`Caption` say how to draw it; ``parse_size``,
``page_size`` and ``check_dpi`` validate ``--size``, ``--page`` and ``--dpi``;
:func:`highlight_svg` emphasises nodes and edges in the graph's SVG.  No Qt here.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tickscope.sim import aggregates, analysis, clock_drift, raster
from tickscope.sim.clock_events import clock_events
from tickscope.sim.demo import model_for_backend
from tickscope.sim.errors import InputError
from tickscope.sim.events import Kind
from tickscope.sim.export.summary import format_ns

REFERENCE_DPI = 96
"""``--size`` is in pixels at this DPI; a PNG at ``--dpi 96`` has exactly that many pixels."""
DEFAULT_SIZE_PX = (1200, 750)
PAGES = {"a4": (841.89, 595.28), "slide-16x9": (960.0, 540.0)}
"""Page sizes in points: A4 landscape, and a 13.33 x 7.5 in widescreen slide."""
MIN_DPI, MAX_DPI = 36, 1200
HIGHLIGHT_COLOR = "#9400d3"


@dataclass
class Caption:
    """A figure caption: a bold title and an optional body paragraph."""

    title: str
    body: str = ""


@dataclass
class PlotOptions:
    """How to draw a figure.

    Attributes
    ----------
    width_pt, height_pt : float
        Figure size in points (1/72 in).
    dpi : int
        Resolution of PNG output (and of the raster's bins in binned mode).
    markers : list of dict
        ``{"time_ns", "name"}`` drawn on the time-axis views.
    caption : Caption, optional
        Title and body; defaults to the scenario's name and description.
    window : (int, int), optional
        Raster time window ``[t0, t1)`` in ns; default the whole run.
    highlight : dict
        ``{"nodes": [...], "edges": [[src, dst], ...]}`` emphasised in the graph.
    reveal_ns : int, optional
        Only records up to this time are drawn (video playhead); None = all.
    """

    width_pt: float = DEFAULT_SIZE_PX[0] * 72 / REFERENCE_DPI
    height_pt: float = DEFAULT_SIZE_PX[1] * 72 / REFERENCE_DPI
    dpi: int = REFERENCE_DPI
    markers: list = field(default_factory=list)
    caption: Caption | None = None
    window: tuple | None = None
    highlight: dict = field(default_factory=dict)
    reveal_ns: int | None = None
    compare: "PlotSource | None" = None
    """Run B: the raster view shows A above B."""


def parse_size(text: str, what: str = "--size") -> tuple[float, float]:
    """``WxH`` in pixels at 96 DPI -> (width_pt, height_pt); InputError naming the problem and *what* (the flag,
    or the dialog's field)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m:
        raise InputError(f"{what}: {text!r} is not WIDTHxHEIGHT in pixels (e.g. 1200x750)")
    w, h = int(m.group(1)), int(m.group(2))
    if not (160 <= w <= 16384 and 120 <= h <= 16384):
        raise InputError(f"{what}: {w}x{h} is out of range (allowed 160..16384 x 120..16384)")
    return w * 72 / REFERENCE_DPI, h * 72 / REFERENCE_DPI


def page_size(name: str) -> tuple[float, float]:
    """A named page (``a4`` landscape, ``slide-16x9``) in points."""
    if name not in PAGES:
        raise InputError(f"--page: {name!r} is not a known page (use {', '.join(PAGES)})")
    return PAGES[name]


def check_dpi(dpi) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not MIN_DPI <= dpi <= MAX_DPI:
        raise InputError(f"--dpi: {dpi!r} is out of range (allowed {MIN_DPI}..{MAX_DPI})")
    return dpi


class PlotSource:
    """One run's results and everything derived from them for plotting (computed once, lazily).

    Parameters
    ----------
    results : Results
        The run (stored in a recording or fresh from the engine).
    name : str, optional
        Shown in subtitles; defaults to the scenario name in ``meta``.
    """

    def __init__(self, results, name: str | None = None, scenario_toml: str | None = None):
        self.results = results
        self.meta = results.meta
        self.name = name or self.meta.get("scenario_name") or "run"
        self.scenario_toml = scenario_toml if scenario_toml is not None else self.meta.get("scenario", "")

    @cached_property
    def summary(self) -> dict:
        return analysis.summarize(self.results)

    @cached_property
    def raster_data(self) -> raster.RasterData:
        return raster.build(self.results)

    @cached_property
    def clock_events(self) -> list[tuple[int, str, str]]:
        """Watchdog verdicts, clocksource switches and migrations (:func:`tickscope.sim.clock_events.clock_events`):
        found once, not in every frame of a demo video."""
        return clock_events(self.results)

    @cached_property
    def untick_irq_times(self) -> np.ndarray:
        """Times (ns, in log order) of the timer interrupts that ran no tick (a NO_HZ CPU woken for an hrtimer):
        the CPU lanes do not draw them, the legend counts them."""
        return self.results.time_ns[self.results.kind == Kind.IRQ]

    @property
    def end_ns(self) -> int:
        return int(self.meta.get("now_ns") or self.meta.get("until_ns") or 1)

    @cached_property
    def interval_hist(self) -> dict:
        return analysis.log_histogram(analysis.tick_intervals(self.results))

    @cached_property
    def latency_hist(self) -> dict:
        return analysis.log_histogram(aggregates.latency_samples(analysis.tick_outcomes(self.results))["values"])

    @cached_property
    def drift(self) -> dict:
        if not self.meta.get("clocksources") or not np.any(self.results.kind == Kind.JIFFIES):
            return {"time_ns": np.zeros(0, np.int64), "drift_ns": np.zeros(0, np.int64)}
        return clock_drift.drift_series(self.results)

    @property
    def backend(self) -> str:
        return str(self.meta.get("backend") or "none")

    model_override: str | None = None
    """Set to show another architecture model than the backend's (demo highlight steps)."""

    @property
    def model_name(self) -> str:
        return self.model_override or model_for_backend(self.meta.get("backend"))

    def _graph_for(self, name):
        from tickscope.sim.graph.archmodel import load_model

        cache = self.__dict__.setdefault("_graphs", {})
        if name not in cache:
            cache[name] = load_model(name)
        return cache[name]

    @property
    def graph(self):
        return self._graph_for(self.model_name)

    def graph_svg(self, highlight: dict | None = None) -> str:
        from tickscope.sim.graph.export import to_svg

        return highlight_svg(to_svg(self.graph), highlight or {})

    def subtitle(self) -> str:
        m = self.meta
        parts = [self.name, f"backend {self.backend}"]
        if "seed" in m:
            parts.append(f"seed {m['seed']}")
        if m.get("until_ns"):
            parts.append(f"{format_ns(m['until_ns'], 9)} simulated")
        for key, label in (("hz", "HZ="), ("clocksource", "clocksource ")):
            if m.get(key):
                parts.append(f"{label}{m[key]}")
        changes = _scenario_changes(self.scenario_toml)
        if changes:
            parts.append("core changes: " + ", ".join(changes))
        return "  \u00b7  ".join(str(p) for p in parts)


def _scenario_changes(toml_text: str) -> list[str]:
    import tomllib

    try:
        return list(tomllib.loads(toml_text or "").get("core", {}).get("changes", []))
    except (tomllib.TOMLDecodeError, AttributeError):
        return []


def highlight_svg(svg: str, highlight: dict) -> str:
    """Emphasise nodes and edges (``{"nodes": [...], "edges": [[src, dst]]}``) in a graph SVG."""
    nodes = set(highlight.get("nodes") or ())
    edges = {tuple(e) for e in (highlight.get("edges") or ())}
    if not nodes and not edges:
        return svg
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    for g in root.iter(f"{ns}g"):
        if g.get("class") == "node" and g.get("data-id") in nodes:
            for c in g.iter(f"{ns}circle"):
                c.set("r", "6")
                c.set("fill", HIGHLIGHT_COLOR)
                c.set("stroke", "#4b006e")
            for t in g.iter(f"{ns}text"):
                t.set("font-weight", "bold")
    for p in root.iter(f"{ns}path"):
        title = p.find(f"{ns}title")
        if title is None or not title.text:
            continue
        m = re.match(r"[\w-]+: (\S+) -> (\S+)", title.text)
        if m and (m.group(1), m.group(2)) in edges:
            p.set("stroke", HIGHLIGHT_COLOR)
            p.set("stroke-width", "3")
    return ET.tostring(root, encoding="unicode")

