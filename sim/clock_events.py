"""Where timekeeping changed its clock during a run, for markers over time plots: the clocksource watchdog
marking a clocksource unstable, the switch to another one (both as the kernel log prints them), and a live
migration, which moves the TSC under the guest.

The kernel log has these lines with their timestamps; the tick raster, where a user looks for what the switch
did to the ticks, showed nothing at that moment.  The app's raster and compare views and the exported raster
mark them from :func:`clock_events`.
"""
from __future__ import annotations

import numpy as np

from tickscope.sim.events import Kind

#: the markers' colour, in the app and in exports
MARKER_RGB = (200, 60, 60)
#: events closer than this are one marker (the watchdog's verdict and the switch it causes, ~a tick apart)
MERGE_NS = 20_000_000


def clock_events(results) -> list[tuple[int, str, str]]:
    """``(time_ns, label, tooltip)`` per moment where the watchdog marked a clocksource unstable or
    timekeeping switched clocksource; events within :data:`MERGE_NS` of each other share one entry."""
    if results is None or not len(results):
        return []
    meta = results.meta
    css = [str(c.get("name", "?")) for c in meta.get("clocksources", [])]
    verified = next((str(c.get("name")) for c in meta.get("clocksources", []) if c.get("must_verify")), "tsc")
    watchdog = meta.get("watchdog", "") or "the watchdog clock"
    rows = np.flatnonzero((results.kind == Kind.CS_SWITCH) | ((results.kind == Kind.WATCHDOG) & (results.source == 1))
                          | (results.kind == Kind.MIGRATE))
    out: list[list] = []
    for i in rows:
        t, src, cpu = int(results.time_ns[i]), int(results.source[i]), int(results.cpu[i])
        if results.kind[i] == Kind.MIGRATE and src == 1 and out and out[-1][1].startswith("migration"):
            # the resume belongs to the pause's marker (50 ms later: two labels would cover each other)
            hz = int(results.value[i])
            out[-1][1] += f", TSC {hz / 1e6:g} MHz"
            out[-1][2] += f"\n{t / 1e9:.6f} s: resumed on a host whose TSC runs at {hz:,} Hz"
            continue
        if results.kind[i] == Kind.MIGRATE:
            if src != 0:
                continue
            pause = int(results.value[i])
            label, tip = f"migration (paused {pause / 1e6:g} ms", f"live migration: the VM paused for {pause:,} ns"
            out.append([t, label, tip])
            continue
        if out and out[-1][1].startswith("migration") and not out[-1][1].endswith(")"):
            out[-1][1] += ")"
        if results.kind[i] == Kind.CS_SWITCH:
            name = css[src] if src < len(css) else "?"
            label, tip = f"→ {name}", f"clocksource: Switched to clocksource {name}"
        else:
            skew = int(results.value[i])
            label = f"watchdog: {verified} unstable"
            tip = (f"clocksource: timekeeping watchdog on CPU{cpu}: Marking clocksource '{verified}' as unstable "
                   f"(skewed {skew} ns over watchdog '{watchdog}')")
        if out and t - out[-1][0] <= MERGE_NS:
            out[-1][1] += f" {label}" if label.startswith("→") else f", {label}"
            out[-1][2] += f"\n{tip}"
        else:
            out.append([t, label, tip])
    if out and out[-1][1].startswith("migration") and not out[-1][1].endswith(")"):
        out[-1][1] += ")"
    return [(t, label, f"{t / 1e9:.6f} s\n{tip}") for t, label, tip in out]
