"""Human-readable times and frequencies for readouts, tables and axes.

Readouts round for display only; callers keep the exact integer nanoseconds.
"""
from __future__ import annotations

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
