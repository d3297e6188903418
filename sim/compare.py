"""A/B comparison of two ``run --json`` summaries, metric by metric.

The summary grows as issues land (C-state residency, steal, IPIs, watchdog
events, hypervisor facts), so nothing here names a metric: the summary is
flattened generically into dotted paths.  Per-CPU entries of ``cpus`` are keyed
by their ``cpu`` number (``cpus[1].ticks_lost``) so that the same CPU is
compared even if one run has more CPUs; a metric present on one side only is
reported with ``None`` on the other.  The kernel log is text, not a metric, and
is left out.
"""
from __future__ import annotations

from numbers import Number

SKIPPED_KEYS = frozenset({"log"})
"""Top-level summary keys that are not metrics."""


def flatten_summary(summary: dict) -> dict[str, object]:
    """Flatten a ``run --json`` summary into ``{dotted metric path: scalar}``.

    Parameters
    ----------
    summary : dict
        As returned by :func:`tickscope.sim.analysis.summarize`.

    Returns
    -------
    dict
        Scalars (numbers, strings, bools, None) by path, in summary order:
        ``hz``, ``clocks.wall_drift_ns``, ``cpus[0].ticks_lost``,
        ``cpus[0].cstate_residency_ns.C1``, ``log_lines`` ...
    """
    out: dict[str, object] = {}
    for key, value in summary.items():
        if key in SKIPPED_KEYS:
            continue
        _flatten(key, value, out)
    return out


def _flatten(path: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{path}.{k}", v, out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, dict) and "cpu" in item:
                # the key already names the CPU; its number is not a metric
                item = {k: v for k, v in item.items() if k != "cpu"}
                key = value[i]["cpu"]
            else:
                key = i
            _flatten(f"{path}[{key}]", item, out)
    else:
        out[path] = value


def _is_number(v) -> bool:
    return isinstance(v, Number) and not isinstance(v, bool)


def diff_summaries(a: dict, b: dict) -> list[dict]:
    """Every metric of two ``run --json`` summaries side by side.

    Parameters
    ----------
    a, b : dict
        Summaries of run A and run B (:func:`tickscope.sim.analysis.summarize`).

    Returns
    -------
    list of dict
        One entry per metric present in either run, A's order first then
        metrics only B has: ``metric`` (dotted path), ``a``, ``b`` (value or
        None when absent), ``delta`` (``b - a`` when both are numbers, else
        None), ``pct`` (``100 * delta / |a|``, None when not numeric or a == 0)
        and ``differs`` (bool).
    """
    fa, fb = flatten_summary(a), flatten_summary(b)
    metrics = list(fa) + [m for m in fb if m not in fa]
    rows = []
    for m in metrics:
        va, vb = fa.get(m), fb.get(m)
        delta = pct = None
        if _is_number(va) and _is_number(vb):
            delta = vb - va
            pct = 100.0 * delta / abs(va) if va else None
        rows.append({"metric": m, "a": va, "b": vb, "delta": delta, "pct": pct,
                     "differs": (m in fa) != (m in fb) or va != vb})
    return rows


def format_diff(rows: list[dict], only_differences: bool = False, label_a: str = "A", label_b: str = "B") -> str:
    """The diff as an aligned plain-text table (for the CLI and logs).

    Parameters
    ----------
    rows : list of dict
        From :func:`diff_summaries`.
    only_differences : bool
        Leave out metrics that are equal.
    label_a, label_b : str
        Column headings for the two runs.

    Returns
    -------
    str
        One line per metric, differing metrics flagged with ``*``.
    """
    shown = [r for r in rows if r["differs"] or not only_differences]
    table = [("", "metric", label_a, label_b, "delta", "%")]
    for r in shown:
        table.append(("*" if r["differs"] else "", r["metric"], format_value(r["a"]), format_value(r["b"]),
                      format_value(r["delta"], signed=True), format_pct(r["pct"])))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        " ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
        for row in table)


def format_value(v, signed: bool = False) -> str:
    """A metric value as text: ``—`` for absent, integers grouped, floats to 6 significant digits."""
    if v is None:
        return "—"
    if isinstance(v, bool) or not _is_number(v):
        return str(v)
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):+,}" if signed else f"{int(v):,}"
    return f"{v:+.6g}" if signed else f"{v:.6g}"


def format_pct(p) -> str:
    """A percentage change as text (``—`` when undefined)."""
    return "—" if p is None else f"{p:+.2f}%"
