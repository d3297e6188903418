"""Parse ``/proc/timer_list`` (versions v0.8 to v0.11) into plain data.

The result has the same shape as the snapshot that
:func:`tickscope.sim.procfs.render_timer_list` renders (see that module's
docstring), plus a few derived keys the renderer ignores (``source``,
``nohz_active``/``highres_active`` per CPU, ``mask_cpus`` in the broadcast
entry).  So for a v0.10 file ``render_timer_list(parse_timer_list(text)) ==
text``.

The parser works line by line and keys on what each line says, not on where
it stands: lines a kernel version adds (``.get_time``, ``set_mode``, new
``.fields``) are kept, lines it drops are simply absent.  What it refuses is
text that is not a timer_list: a missing header, a line of no known shape,
a number that is not a number, binary junk, a file cut off mid-line or
inside an entry.  Those raise :class:`~tickscope.sim.errors.InputError`
naming the source, the line number and what was expected there.
"""
from __future__ import annotations

import re

from tickscope.sim.errors import InputError

__all__ = ["parse_timer_list", "cpumask_to_cpus"]

_HEADER_RE = re.compile(r"^Timer List Version: (v\d+\.\d+)$")
_MAX_BASES_RE = re.compile(r"^HRTIMER_MAX_CLOCK_BASES: (\d+)$")
_NOW_RE = re.compile(r"^now at (-?\d+) nsecs$")
_CPU_RE = re.compile(r"^cpu: (\d+)$")
_CLOCK_RE = re.compile(r"^ clock (\d+):$")
_BASE_FIELD_RE = re.compile(r"^  \.(base|index|resolution|get_time|offset):\s+(.*)$")
_TIMER_RE = re.compile(r"^ #(\d+): <([^>]*)>, (\S+), S:([0-9a-fA-F]+)$")
_EXPIRES_RE = re.compile(r"^ # expires at (-?\d+)-(-?\d+) nsecs \[in (-?\d+) to (-?\d+) nsecs\]$")
_SCHED_FIELD_RE = re.compile(r"^  \.(\w+)\s*: (.*)$")
_JIFFIES_RE = re.compile(r"^jiffies: (.*)$")
_TICKDEV_RE = re.compile(r"^Tick Device: mode:\s+(.*)$")
_PERCPU_RE = re.compile(r"^Per CPU device: (.*)$")
_CED_RE = re.compile(r"^Clock Event Device: (.*)$")
_DEV_FIELD_RE = re.compile(r"^ ([a-z_][a-z_ ]*?):\s+(.*)$")
_MASK_RE = re.compile(r"^(tick_broadcast_mask|tick_broadcast_oneshot_mask): (.*)$")
_WAKEUP_RE = re.compile(r"^Wakeup Device: (.*)$")
# Any other "key: value" line: tolerated and kept, so a newer kernel's extra line is not an error.
_GENERIC_KV_RE = re.compile(r"^\s*[.#]?[A-Za-z_][\w .-]*:( .*)?$")

# Device lines whose value is a number; every other device line holds a symbol name.
_DEV_INT_FIELDS = {"max_delta_ns", "min_delta_ns", "mult", "shift", "mode", "next_event", "retries"}
_OPTIONAL_CALLBACKS = ("shutdown", "periodic", "oneshot", "oneshot_stopped", "resume")
_HEXMASK_RE = re.compile(r"^[0-9a-fA-F]+(,[0-9a-fA-F]+)*$")


def cpumask_to_cpus(mask: str) -> list[int]:
    """CPU numbers set in a kernel ``%*pb`` bitmap (``"3"``, ``"00000000,00000101"``)."""
    value = int(mask.replace(",", ""), 16)
    return [bit for bit in range(value.bit_length()) if value >> bit & 1]


class _Lines:
    """The input as numbered lines, with the position for error messages."""

    def __init__(self, text: str, source: str):
        self.source = source
        if not isinstance(text, str):
            raise InputError(f"{source}: expected text, got {type(text).__name__}")
        self.lines = text.split("\n") if text.strip() else []
        self.complete_last = text.endswith("\n")
        if self.complete_last:
            self.lines.pop()  # the empty string after the final newline

    def fail(self, lineno: int, what: str) -> InputError:
        return InputError(f"{self.source}:{lineno}: {what}")


def _int(lines: _Lines, lineno: int, raw: str, what: str, unit: str = "") -> int:
    text = raw.strip()
    if unit and text.endswith(" " + unit):
        text = text[: -len(unit) - 1].rstrip()
    if not re.fullmatch(r"-?\d+", text):
        expected = f"an integer{' followed by ' + repr(unit) if unit else ''}"
        raise lines.fail(lineno, f"{what}: expected {expected}, got {raw.strip()!r}")
    return int(text)


def _printable(line: str) -> bool:
    return all(ch == "\t" or (ch.isprintable() and ch != "\ufffd") for ch in line)


def parse_timer_list(text: str, source: str = "<file>") -> dict:
    """Parse the text of ``/proc/timer_list``.

    Parameters
    ----------
    text : str
        The whole file.
    source : str
        Name used in error messages (usually the file name).

    Returns
    -------
    dict
        ``version``, ``max_clock_bases``, ``now_ns``, ``cpus`` (per CPU:
        ``cpu``, ``bases``, ``tick_sched``, ``jiffies``, ``nohz_active``,
        ``highres_active``), ``broadcast`` (``mode``, ``device``, ``mask``,
        ``oneshot_mask``, ``mask_cpus``, ``oneshot_mask_cpus``) or None,
        ``tick_devices`` (per CPU: ``cpu``, ``mode``, ``device``,
        ``wakeup_device``) and ``source``.  Device dicts hold ``name``, the
        numeric fields (``max_delta_ns``, ``min_delta_ns``, ``mult``,
        ``shift``, ``mode``, ``next_event``, ``retries``) and the callback
        symbols (``set_next_event``, ``shutdown``, ``periodic``,
        ``oneshot``, ``oneshot_stopped``, ``resume``, ``event_handler``;
        absent callbacks are None).

    Raises
    ------
    InputError
        Naming *source*, the line number and what was expected, for a
        missing header, an unrecognised line, a non-numeric value, binary
        data or a truncated file.
    """
    lines = _Lines(text, source)
    parser = _Parser(lines)
    return parser.run()


class _Parser:
    def __init__(self, lines: _Lines):
        self.lines = lines
        self.out: dict = {"source": lines.source, "version": None, "max_clock_bases": None, "now_ns": None,
                          "cpus": [], "broadcast": None, "tick_devices": []}
        self.cpu: dict | None = None
        self.base: dict | None = None
        self.timer: dict | None = None        # a "#k:" line waiting for its "# expires at" line
        self.timer_line = 0
        self.entry: dict | None = None        # current tick device entry (broadcast or per CPU)
        self.device: dict | None = None       # current device dict inside the entry
        self.device_line = 0
        self.in_tick_section = False

    # -- helpers -----------------------------------------------------------
    def fail(self, lineno, what):
        return self.lines.fail(lineno, what)

    def _close_timer(self, lineno):
        if self.timer is not None:
            raise self.fail(lineno, f"expected ' # expires at <soft>-<hard> nsecs [...]' after the timer on line {self.timer_line}")

    def _close_device(self, lineno):
        if self.device is not None and "retries" not in self.device:
            raise self.fail(lineno, f"tick device {self.device['name']!r} (line {self.device_line}) ends before its "
                                    f"' retries:' line; expected the remaining device fields")
        if self.device is not None:
            for key in _OPTIONAL_CALLBACKS:  # absent line = callback not set
                self.device.setdefault(key, None)
        self.device = None

    def _close_cpu(self, lineno):
        self._close_timer(lineno)
        cpu = self.cpu
        if cpu is not None and cpu["jiffies"] is None and cpu["tick_sched"]:
            # jiffies only follows the tick_sched fields; a block with those but no jiffies was cut short.
            raise self.fail(lineno, f"cpu {cpu['cpu']} block ends before its 'jiffies:' line")
        self.cpu = None
        self.base = None

    # -- main loop ---------------------------------------------------------
    def run(self) -> dict:
        lines = self.lines
        n = len(lines.lines)
        if n == 0:
            raise self.fail(1, "empty file; expected 'Timer List Version: vX.Y'")
        for idx, raw in enumerate(lines.lines):
            lineno = idx + 1
            line = raw[:-1] if raw.endswith("\r") else raw
            if not _printable(line):
                raise self.fail(lineno, "binary or unreadable characters; expected timer_list text")
            if idx == n - 1 and not lines.complete_last and line:
                raise self.fail(lineno, f"file ends mid-line ({line[-40:]!r}); expected a complete line "
                                        "ending in a newline — truncated copy?")
            if self.out["version"] is None:
                if not line.strip():
                    continue
                m = _HEADER_RE.match(line)
                if not m:
                    raise self.fail(lineno, f"expected 'Timer List Version: vX.Y', got {line[:60]!r}")
                self.out["version"] = m.group(1)
                continue
            self._line(lineno, line)
        self._finish(n + 1 if lines.complete_last else n)
        return self.out

    def _line(self, lineno: int, line: str):
        out = self.out
        if not line.strip():
            return
        if self.timer is not None:
            m = _EXPIRES_RE.match(line)
            if not m:
                raise self.fail(lineno, f"expected ' # expires at <soft>-<hard> nsecs [in <a> to <b> nsecs]' "
                                        f"for the timer on line {self.timer_line}, got {line[:60]!r}")
            self.timer["soft_ns"] = int(m.group(1))
            self.timer["hard_ns"] = int(m.group(2))
            self.timer = None
            return
        if (m := _MAX_BASES_RE.match(line)):
            out["max_clock_bases"] = int(m.group(1))
            return
        if line.startswith("HRTIMER_MAX_CLOCK_BASES:"):
            raise self.fail(lineno, f"HRTIMER_MAX_CLOCK_BASES: expected an integer, got {line.split(':', 1)[1].strip()!r}")
        if line.startswith("now at "):
            m = _NOW_RE.match(line)
            if not m:
                raise self.fail(lineno, f"expected 'now at <ns> nsecs', got {line[:60]!r}")
            out["now_ns"] = int(m.group(1))
            return
        if (m := _CPU_RE.match(line)):
            if self.in_tick_section:
                raise self.fail(lineno, "unexpected 'cpu:' block after the tick device section")
            self._close_cpu(lineno)
            self.cpu = {"cpu": int(m.group(1)), "bases": [], "tick_sched": {}, "jiffies": None,
                        "nohz_active": None, "highres_active": None}
            out["cpus"].append(self.cpu)
            return
        if line.startswith("cpu:"):
            raise self.fail(lineno, f"expected 'cpu: <n>', got {line[:60]!r}")
        if line.startswith("Tick Device:"):
            self._tick_device(lineno, line)
            return
        if self.in_tick_section:
            self._tick_line(lineno, line)
            return
        if self.cpu is None:
            if _GENERIC_KV_RE.match(line):
                return  # an extra header line some kernel prints; harmless
            raise self.fail(lineno, f"expected 'cpu: <n>' or a header line, got {line[:60]!r}")
        self._cpu_line(lineno, line)

    def _cpu_line(self, lineno: int, line: str):
        cpu = self.cpu
        if (m := _CLOCK_RE.match(line)):
            self.base = {"index": int(m.group(1)), "base": None, "resolution_ns": None, "offset_ns": 0, "timers": []}
            cpu["bases"].append(self.base)
            return
        if line.startswith(" clock "):
            raise self.fail(lineno, f"expected ' clock <n>:', got {line[:60]!r}")
        if (m := _BASE_FIELD_RE.match(line)) and self.base is not None and not cpu["tick_sched"]:
            key, value = m.groups()
            if key == "base":
                self.base["base"] = value.strip()
            elif key == "index":
                self.base["index"] = _int(self.lines, lineno, value, ".index")
            elif key == "resolution":
                self.base["resolution_ns"] = _int(self.lines, lineno, value, ".resolution", "nsecs")
            elif key == "offset":
                self.base["offset_ns"] = _int(self.lines, lineno, value, ".offset", "nsecs")
            else:
                self.base["get_time"] = value.strip()
            return
        if line == "active timers:":
            if self.base is None:
                raise self.fail(lineno, "'active timers:' outside a ' clock <n>:' block")
            return
        if (m := _TIMER_RE.match(line)):
            if self.base is None:
                raise self.fail(lineno, "timer line outside a ' clock <n>:' block")
            self.timer = {"ptr": m.group(2), "callback": m.group(3), "state": m.group(4), "soft_ns": None, "hard_ns": None}
            self.timer_line = lineno
            self.base["timers"].append(self.timer)
            return
        if line.startswith(" #"):
            raise self.fail(lineno, f"expected ' #<k>: <<ptr>>, <callback>, S:<hex>', got {line[:60]!r}")
        if (m := _SCHED_FIELD_RE.match(line)):
            name, value = m.groups()
            cpu["tick_sched"][name] = _int(self.lines, lineno, value, f".{name}", "nsecs")
            self.base = None
            self._mode_flags(name, cpu["tick_sched"][name])
            return
        if (m := _JIFFIES_RE.match(line)):
            cpu["jiffies"] = _int(self.lines, lineno, m.group(1), "jiffies")
            return
        if _GENERIC_KV_RE.match(line) and not line.startswith("  ."):
            return  # an unknown "key: value" line from another kernel version
        raise self.fail(lineno, f"unrecognised line in the cpu {cpu['cpu']} block: {line[:60]!r}")

    def _mode_flags(self, name: str, value: int):
        cpu = self.cpu
        if name == "nohz_mode":  # <= v0.9: 0 inactive, 1 lowres, 2 highres
            cpu["nohz_active"] = value != 0
            if value:   # 0 says nothing of high-res (hres_active does: high-res ticks with NO_HZ off print 0)
                cpu["highres_active"] = value == 2
        elif name == "nohz":
            cpu["nohz_active"] = bool(value)
        elif name == "highres":
            cpu["highres_active"] = bool(value)
        elif name == "hres_active" and cpu["highres_active"] is None:
            cpu["highres_active"] = bool(value)

    def _tick_device(self, lineno: int, line: str):
        if not self.in_tick_section:
            self._close_cpu(lineno)
            self.in_tick_section = True
        self._close_device(lineno)
        m = _TICKDEV_RE.match(line)
        mode = _int(self.lines, lineno, m.group(1) if m else "", "Tick Device: mode")
        self.entry = {"mode": mode, "kind": None, "line": lineno}

    def _tick_line(self, lineno: int, line: str):
        entry = self.entry
        if line == "Broadcast device":
            if entry is None or entry["kind"] is not None:
                raise self.fail(lineno, "'Broadcast device' without a preceding 'Tick Device: mode:' line")
            entry["kind"] = "broadcast"
            self.out["broadcast"] = {"mode": entry["mode"], "device": None, "mask": None, "oneshot_mask": None}
            return
        if (m := _PERCPU_RE.match(line)):
            if entry is None or entry["kind"] is not None:
                raise self.fail(lineno, "'Per CPU device:' without a preceding 'Tick Device: mode:' line")
            cpu = _int(self.lines, lineno, m.group(1), "Per CPU device")
            entry["kind"] = "cpu"
            entry["record"] = {"cpu": cpu, "mode": entry["mode"], "device": None}
            self.out["tick_devices"].append(entry["record"])
            return
        if (m := _MASK_RE.match(line)):
            self._close_device(lineno)
            bc = self.out["broadcast"]
            if bc is None:
                bc = self.out["broadcast"] = {"mode": None, "device": None, "mask": None, "oneshot_mask": None}
            value = m.group(2).strip()
            if not _HEXMASK_RE.match(value):
                raise self.fail(lineno, f"{m.group(1)}: expected a hex CPU bitmap, got {value!r}")
            key = "mask" if m.group(1) == "tick_broadcast_mask" else "oneshot_mask"
            bc[key] = value
            bc[key + "_cpus"] = cpumask_to_cpus(value)
            return
        if entry is None or entry["kind"] is None:
            raise self.fail(lineno, f"expected 'Broadcast device' or 'Per CPU device: <n>', got {line[:60]!r}")
        if (m := _CED_RE.match(line)):
            self._close_device(lineno)
            name = m.group(1).strip()
            device = None if name == "<NULL>" else {"name": name}
            if device is not None:
                self.device = device
                self.device_line = lineno
            if entry["kind"] == "broadcast":
                self.out["broadcast"]["device"] = device
            else:
                entry["record"]["device"] = device
            return
        if (m := _WAKEUP_RE.match(line)):
            self._close_device(lineno)
            if entry["kind"] != "cpu":
                raise self.fail(lineno, "'Wakeup Device:' outside a per-CPU tick device entry")
            name = m.group(1).strip()
            entry["record"]["wakeup_device"] = None if name == "<NULL>" else name
            return
        if (m := _DEV_FIELD_RE.match(line)) and self.device is not None:
            key = m.group(1).strip().replace(" ", "_")
            value = m.group(2).strip()
            if key in _DEV_INT_FIELDS:
                self.device[key] = _int(self.lines, lineno, value, key, "nsecs" if key == "next_event" else "")
            else:
                self.device[key] = value
            return
        if _GENERIC_KV_RE.match(line) and not line.startswith(" "):
            return
        raise self.fail(lineno, f"unrecognised line in a tick device entry: {line[:60]!r}")

    def _finish(self, lineno: int):
        out = self.out
        if out["version"] is None:
            raise self.fail(1, "no 'Timer List Version: vX.Y' header; this is not a /proc/timer_list file")
        if out["now_ns"] is None:
            raise self.fail(lineno, "file ends without a 'now at <ns> nsecs' line")
        self._close_cpu(lineno)
        if not out["cpus"]:
            raise self.fail(lineno, "file ends before the first 'cpu: <n>' block")
        self._close_device(lineno)
        if self.entry is not None and self.entry["kind"] is None:
            raise self.fail(lineno, f"file ends inside the tick device entry started on line {self.entry['line']}")
        bc = out["broadcast"]
        if bc is not None and bc["mask"] is None:
            raise self.fail(lineno, "file ends after the broadcast device, before 'tick_broadcast_mask:'")
        if out["tick_devices"] and len(out["tick_devices"]) < len(out["cpus"]):
            raise self.fail(lineno, f"file ends after {len(out['tick_devices'])} of {len(out['cpus'])} per-CPU "
                                    "tick device entries — truncated?")
        devs = out["tick_devices"]
        if len(devs) > 1 and "wakeup_device" in devs[0] and "wakeup_device" not in devs[-1] \
                and devs[-1]["device"] is not None:
            raise self.fail(lineno, f"file ends before the 'Wakeup Device:' line of cpu {devs[-1]['cpu']} — truncated?")
        if not out["tick_devices"] and bc is None and out["cpus"][-1]["jiffies"] is not None \
                and self.lines.lines and self.lines.lines[-1].strip():
            # A complete file always ends with a blank line; ending on jiffies means it was cut short.
            raise self.fail(lineno, "file ends after the cpu blocks, before the tick device section — truncated?")
        if out["max_clock_bases"] is None:
            out["max_clock_bases"] = max((len(c["bases"]) for c in out["cpus"]), default=0)
