"""``tickscope import timer-list FILE [--dmesg FILE] [--interrupts FILE] -o SCEN.toml``.

Reads a real machine's ``/proc/timer_list`` (and optionally its dmesg and
``/proc/interrupts``), infers a scenario that reproduces it, writes the
scenario atomically and reports what was inferred and what was kept but not
modelled.  Bad input exits 2 with one line naming the file (and line); the
output file is only written once everything has parsed.
"""
from __future__ import annotations

from pathlib import Path
import sys

from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError
from tickscope.sim.input_files import read_input
from tickscope.sim.importers import infer_scenario, parse_dmesg, parse_interrupts, parse_timer_list


def register(sub):
    p = sub.add_parser("import", help="turn files from a real machine into a scenario")
    kinds = p.add_subparsers(dest="import_kind", metavar="KIND", parser_class=type(p))
    kinds.required = True
    t = kinds.add_parser("timer-list", help="infer a scenario from /proc/timer_list (+ dmesg, /proc/interrupts)",
                         description="Infer a scenario that reproduces the machine a /proc/timer_list came from.")
    t.add_argument("timer_list", metavar="FILE", help="a copy of /proc/timer_list")
    t.add_argument("--dmesg", metavar="FILE", help="the kernel log of the same boot (dmesg or journalctl -k)")
    t.add_argument("--interrupts", metavar="FILE", help="a copy of /proc/interrupts")
    t.add_argument("-o", "--output", metavar="SCEN.toml", required=True, help="scenario file to write")
    t.set_defaults(func=_run_timer_list)


#: The largest input file read: a kernel log of a long uptime is a few MB, /proc/timer_list of 1024 CPUs ~2 MB
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_text(path) -> str:
    """Read an input file as text, turning every failure into a one-line :class:`InputError`.

    Raises
    ------
    InputError
        Missing, a directory or device, unreadable, over :data:`MAX_INPUT_BYTES`, or not UTF-8 text (with
        the line of the first bad byte).
    """
    path = Path(path)
    data = read_input(path, "file", MAX_INPUT_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{line}: not text (byte 0x{data[exc.start]:02x} is not UTF-8); "
                         "expected a copy of the kernel's text file") from None


def _run_timer_list(args) -> int:
    tl_path = Path(args.timer_list)
    out_path = Path(args.output)
    for other in filter(None, (args.timer_list, args.dmesg, args.interrupts)):
        if Path(other).resolve() == out_path.resolve():
            raise InputError(f"{out_path}: the output would overwrite an input file; choose another -o")
    timer_list = parse_timer_list(read_text(tl_path), str(tl_path))
    dmesg = parse_dmesg(read_text(args.dmesg), str(args.dmesg)) if args.dmesg else None
    if dmesg is not None and not _has_timer_lines(dmesg):
        # the wrong file (or a log that no longer reaches the boot) was listed as a source, silently
        print(f"tickscope: warning: {args.dmesg}: no timer lines (clocksource, tsc, hpet, kvm-clock, hypervisor): "
              "nothing is inferred from it", file=sys.stderr)
        dmesg = None
    interrupts = parse_interrupts(read_text(args.interrupts), str(args.interrupts)) if args.interrupts else None
    names = {"timer_list": tl_path.name,
             "dmesg": Path(args.dmesg).name if dmesg is not None else None,
             "interrupts": Path(args.interrupts).name if args.interrupts else None}
    sc = infer_scenario(timer_list, dmesg, interrupts, names)
    try:
        scen.save(sc, out_path)
    except OSError as exc:
        raise InputError(f"{out_path}: cannot write: {exc.strerror}") from None
    print(report(sc, out_path))
    return 0


def _has_timer_lines(dmesg: dict) -> bool:
    """Whether a parsed kernel log holds anything the inference reads."""
    return bool(dmesg["clocksources"] or dmesg["switches"] or dmesg["tsc_khz"] or dmesg["unstable"]
                or dmesg["tsc_deadline"] or dmesg["kvm_clock"] or dmesg["guest"] or dmesg["hypervisor"]
                or dmesg["hpet"] or dmesg["firmware_bugs"])


def report(sc: scen.Scenario, out_path) -> str:
    """The short text printed after an import: inferred keys, assumptions, what was not modelled."""
    imp = sc.imported
    inputs = ", ".join(f"{kind} {name}" for kind, name in imp.get("sources", {}).items())
    lines = [f"wrote {out_path} (scenario {sc.name!r}) from {inputs}", "inferred:"]
    values = sc.model_dump()
    for key, why in imp.get("inferred", {}).items():
        section, field = key.split(".", 1)
        lines.append(f"  {key + ' = ' + _toml_value(values[section][field]):<36} {why}")
    if imp.get("assumed"):
        lines.append("assumed (not in the input):")
        lines += [f"  - {a}" for a in imp["assumed"]]
    unmodelled = imp.get("unmodelled", [])
    lines.append("kept but not modelled:" + ("" if unmodelled else " nothing"))
    lines += [f"  - {u}" for u in unmodelled]
    return "\n".join(lines)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        # C-states by name, as a scenario file gives the built-in ones
        return "[" + ", ".join(_toml_value(v["name"] if isinstance(v, dict) and "name" in v else v) for v in value) + "]"
    return str(value)
