"""Human-readable times and frequencies for readouts, tables and axes, and the scenario files' durations.

Readouts round for display only; callers keep the exact integer nanoseconds.
"""
from __future__ import annotations

import re
from typing import Any

_SCALES = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))


def format_ns(ns: float, digits: int = 3) -> str:
    """A duration in the largest unit that keeps it >= 1: ``4000000`` -> ``"4.000 ms"``.

    Parameters
    ----------
    ns : int or float
        Nanoseconds (may be negative).
    digits : int
        Decimals shown for units above ns.

    Returns
    -------
    str
    """
    a = abs(ns)
    for scale, unit in _SCALES:
        if a >= scale:
            if scale == 1:
                return f"{int(round(ns))} ns"
            return f"{ns / scale:.{digits}f} {unit}"
    return "0 ns"


def format_hz(hz: float) -> str:
    """A frequency with an SI prefix: ``250.0`` -> ``"250.000 Hz"``, ``2.5e6`` -> ``"2.500 MHz"``."""
    for scale, unit in ((1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz")):
        if abs(hz) >= scale:
            return f"{hz / scale:.3f} {unit}"
    return f"{hz:.3f} Hz"


def format_seconds_us(t_ns: int) -> str:
    """Absolute simulated time as ``s.us`` (printk style without brackets): ``1004000952`` -> ``"1.004000"``."""
    t_ns = int(t_ns)
    sign = "-" if t_ns < 0 else ""
    t_ns = abs(t_ns)
    return f"{sign}{t_ns // 1_000_000_000}.{t_ns % 1_000_000_000 // 1000:06d}"


# -- scenario durations: "10s", "250ms", "40us", "1500ns" --------------------------------------

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)\s*$")
_ZERO_RE = re.compile(r"^\s*0+(?:\.0*)?\s*$")


def parse_duration(value: Any) -> int:
    """Parse ``"10s"``, ``"250ms"``, ``"40us"``, ``"1500ns"`` (or an int of ns) into integer ns; zero may be
    written without a unit (``"0"``).

    Parameters
    ----------
    value : str or int
        The duration.

    Returns
    -------
    int
        Nanoseconds.

    Raises
    ------
    ValueError
        If the text is not a number followed by one of ns, us, ms, s, or the
        result is not a whole number of nanoseconds.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as \"10s\", \"250ms\", \"40us\" or \"1500ns\"")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a duration such as \"10s\", \"250ms\", \"40us\" or \"1500ns\"")
    m = _DURATION_RE.match(value)
    if not m and _ZERO_RE.match(value):
        return 0   # zero needs no unit ("0" in a form's duration field, timer_work = "0")
    if not m and _DURATION_RE.match(value.strip().lstrip("-").strip()) and value.strip().startswith("-"):
        raise ValueError(f"{value!r} is negative; a duration is 0 or more (e.g. \"250ms\")")
    if not m:
        raise ValueError(f"{value!r} is not a duration; write a number and a unit: ns, us, ms or s (e.g. \"250ms\")")
    number, unit = m.groups()
    scale = _UNITS[unit]
    if "." in number:
        whole, frac = number.split(".")
        ns = int(whole) * scale + int(frac.ljust(18, "0")[:18]) * scale // 10**18
        if (int(whole) * scale * 10**18 + int(frac.ljust(18, "0")[:18]) * scale) % 10**18:
            raise ValueError(f"{value!r} is not a whole number of nanoseconds")
        return ns
    return int(number) * scale


def format_duration(ns: int) -> str:
    """Format integer ns with the largest unit that divides it exactly (``4000000`` → ``"4ms"``)."""
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns and ns % scale == 0:
            return f"{ns // scale}{unit}"
    return f"{ns}ns"
