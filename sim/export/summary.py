"""The key numbers of a run as plain text, ready to paste into a mailing list.

:func:`summary_text` renders the ``run --json`` summary object as a
fixed-width ASCII block no wider than :data:`WIDTH` columns;
:func:`summary_markdown` wraps it for ``summary.md``.  Fields this version
does not know are ignored; missing ones print as ``-``.
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path

from tickscope.sim.atomic import write_text

WIDTH = 72
MAX_CPU_ROWS = 16
"""Up to this many CPUs get one row each; more are summarised."""
WORST_CPUS = 5

# (summary key, header, width); widths add up to WIDTH with one space between.
_TABLE = (
    ("cpu", "cpu", 4),
    ("tick_device", "device", 14),
    ("ticks_expected", "expected", 9),
    ("ticks_delivered", "delivered", 9),
    ("ticks_lost", "lost", 5),
    ("ticks_late", "late", 5),
    ("ticks_duplicated", "dup", 4),
    ("latency_ns_p50", "lat p50", 7),
    ("latency_ns_max", "lat max", 7),
)
_COUNTS = ("ticks_expected", "ticks_delivered", "ticks_lost", "ticks_late", "ticks_duplicated")
_LATENCIES = ("latency_ns_p50", "latency_ns_max")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def _ascii(text) -> str:
    # Plain ASCII keeps columns aligned in every mail client and font.
    return _UNPRINTABLE.sub("?", str(text))


def _fit(text: str, width: int) -> str:
    text = _ascii(text)
    return text if len(text) <= width else text[:width - 1] + "~"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value, width: int) -> str:
    if not _is_number(value):
        return "-"
    text = str(int(value)) if float(value).is_integer() else f"{value:.1f}"
    if len(text) <= width:
        return text
    for scale, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T"), (1e15, "P")):
        if abs(value) / scale >= 1000 and suffix != "P":
            continue
        for digits in (1, 0):
            short = f"{value / scale:.{digits}f}{suffix}"
            if len(short) <= width:
                return short
    return "#" * width


def format_ns(value, width: int = 7) -> str:
    """A duration in ns in at most *width* characters: ``850ns``, ``12.3us``, ``4.00ms``, ``1.50s``."""
    if not _is_number(value):
        return "-"
    sign = "-" if value < 0 else ""
    v = abs(value)
    units = ((1, "ns"), (1e3, "us"), (1e6, "ms"), (1e9, "s"))
    start = max(i for i, (scale, _) in enumerate(units) if v >= scale or i == 0)
    for scale, unit in units[start:]:
        for digits in ((0,) if unit == "ns" else (2, 1, 0)):
            text = f"{sign}{v / scale:.{digits}f}{unit}"
            if len(text) <= width:
                return text
    return "#" * width


def _duration(ns) -> str:
    if not _is_number(ns):
        return "-"
    for scale, unit in ((10**9, "s"), (10**6, "ms"), (10**3, "us")):
        if ns >= scale and ns % scale == 0:
            return f"{int(ns) // scale} {unit}"
    if ns >= 10**9:
        return f"{ns / 1e9:.6f} s"
    return f"{int(ns)} ns"


def _cell(key: str, value, width: int) -> str:
    if key in _LATENCIES:
        return format_ns(value, width)
    if key == "tick_device":
        return "-" if value is None else _fit(value, width)
    if key == "cpu" and isinstance(value, str):
        return _fit(value, width)
    return _count(value, width)


def _row(entry: dict) -> str:
    cells = []
    for key, _, width in _TABLE:
        text = _cell(key, entry.get(key), width)
        cells.append(text.ljust(width) if key == "tick_device" else text.rjust(width))
    return " ".join(cells).rstrip()


def _header() -> str:
    return " ".join(h.ljust(w) if k == "tick_device" else h.rjust(w) for k, h, w in _TABLE).rstrip()


def _aggregate(cpus: list[dict], label: str, pick) -> dict:
    row = {"cpu": label}
    for key, _, _ in _TABLE:
        if key in ("cpu", "tick_device"):
            continue
        values = [c[key] for c in cpus if _is_number(c.get(key))]
        row[key] = pick(values) if values else None
    return row


def _total(cpus: list[dict]) -> dict:
    row = {"cpu": "all"}
    for key in _COUNTS:
        values = [c[key] for c in cpus if _is_number(c.get(key))]
        row[key] = sum(values) if values else None
    values = [c["latency_ns_max"] for c in cpus if _is_number(c.get("latency_ns_max"))]
    row["latency_ns_max"] = max(values) if values else None
    return row


def _badness(entry: dict):
    trouble = sum(entry.get(k) or 0 for k in ("ticks_lost", "ticks_late", "ticks_duplicated")
                  if _is_number(entry.get(k)))
    shortfall = 0
    if _is_number(entry.get("ticks_expected")) and _is_number(entry.get("ticks_delivered")):
        shortfall = abs(entry["ticks_expected"] - entry["ticks_delivered"])
    lat = entry.get("latency_ns_max") if _is_number(entry.get("latency_ns_max")) else 0
    return (trouble, shortfall, lat)


def _device_line(cpus: list[dict]) -> str:
    tally: dict[str, int] = {}
    for c in cpus:
        name = _ascii(c.get("tick_device") if c.get("tick_device") is not None else "-")
        tally[name] = tally.get(name, 0) + 1
    parts = [f"{name} x{n}" for name, n in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))]
    return _fit("tick devices: " + ", ".join(parts), WIDTH)


def summary_text(summary: dict) -> str:
    """Render a run summary as a fixed-width block, every line at most 72 columns.

    Parameters
    ----------
    summary : dict
        The ``run --json`` object: ``scenario``, ``seed``, ``until_ns``,
        ``events``, ``hz``, ``clocksource``, ``jiffies_delta``, ``cpus`` (list
        of per-CPU dicts), ``clocks`` (``wall_drift_ns``).  Unknown fields are
        ignored, missing ones print as ``-``.

    Returns
    -------
    str
        The block, ending in a newline.  Up to :data:`MAX_CPU_ROWS` CPUs get a
        row each; more are summarised as min/median/max rows plus the
        :data:`WORST_CPUS` worst CPUs (by lost + late + duplicated ticks, then
        the expected/delivered gap, then max latency).
    """
    cpus = [c for c in (summary.get("cpus") or []) if isinstance(c, dict)]
    clocks = summary.get("clocks") if isinstance(summary.get("clocks"), dict) else {}
    drift = clocks.get("wall_drift_ns")

    def field(label, value):
        return _fit(f"{label:<13} {_ascii(value)}", WIDTH)

    lines = [
        field("scenario", summary.get("scenario", "-")),
        field("seed", summary.get("seed", "-")),
        field("simulated", _duration(summary.get("until_ns"))),
        field("HZ", summary.get("hz", "-")),
        field("clocksource", summary.get("clocksource", "-")),
        field("CPUs", len(cpus)),
        field("events", summary.get("events", "-")),
        field("jiffies", _signed(summary.get("jiffies_delta"))),
        field("wall drift", "-" if not _is_number(drift) else f"{_signed(drift)} ns"),
        "",
    ]
    rule = "-" * len(_header())
    lines += [_header(), rule]
    if len(cpus) <= MAX_CPU_ROWS:
        lines += [_row(c) for c in cpus]
        if len(cpus) > 1:
            lines += [rule, _row(_total(cpus))]
    else:
        lines.append(_row(_aggregate(cpus, "min", min)))
        lines.append(_row(_aggregate(cpus, "med", statistics.median_low)))
        lines.append(_row(_aggregate(cpus, "max", max)))
        lines.append(_row(_total(cpus)))
        lines.append(rule)
        lines.append(f"worst {WORST_CPUS} of {len(cpus)} CPUs (lost+late+dup, then max latency):")
        worst = sorted(cpus, key=lambda c: tuple(-x for x in _badness(c)))[:WORST_CPUS]
        lines += [_row(c) for c in worst]
        lines.append(rule)
        lines.append(_device_line(cpus))
    lines = [line[:WIDTH] for line in lines]
    return "\n".join(lines) + "\n"


def _signed(value) -> str:
    if not _is_number(value):
        return "-"
    return f"{int(value):+d}" if float(value).is_integer() else f"{value:+.1f}"


def summary_markdown(summary: dict, title: str | None = None) -> str:
    """``summary.md``: a heading and :func:`summary_text` in a fenced code block.

    Parameters
    ----------
    summary : dict
        The ``run --json`` object.
    title : str, optional
        The heading; defaults to ``tickscope: <scenario>``.

    Returns
    -------
    str
        Markdown text.
    """
    text = summary_text(summary)
    title = _ascii(title if title is not None else f"tickscope: {summary.get('scenario', 'run')}")
    # A fence longer than any backtick run inside, so a scenario name cannot close it.
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"# {title}\n\n{fence}text\n{text}{fence}\n"


def write_summary_markdown(summary: dict, path, title: str | None = None) -> Path:
    """Write :func:`summary_markdown` to *path* (``summary.md``) atomically; returns *path*."""
    path = Path(path)
    write_text(path, summary_markdown(summary, title))
    return path
