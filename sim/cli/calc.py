"""``tickscope calc``: the kernel's timer arithmetic for one device, printed as the kernel prints it.

``calc clocksource`` prints the registration dmesg line, ``calc clockevent`` the
/proc/timer_list conversion lines, ``calc pvclock`` and ``calc hyperv`` the
paravirtual scale factors.  Every number is validated here and reported with
the flag, the bad value and the allowed range.
"""
from __future__ import annotations

import re

from tickscope.sim import kclock
from tickscope.sim.errors import InputError

# Digits with optional single underscores between them, as Python writes integers.
_INT_RE = re.compile(r"^[+-]?[0-9]+(?:_[0-9]+)*$")


def _int_arg(flag: str, text: str, lo: int, hi: int) -> int:
    """Parse ``text`` as a decimal integer in ``lo..hi``; InputError names ``flag`` otherwise."""
    allowed = f"allowed {lo}..{hi}"
    if not _INT_RE.match(text.strip()):
        raise InputError(f"{flag} {text!r} is not a whole number ({allowed}; underscores may group digits)")
    value = int(text.strip())
    if not lo <= value <= hi:
        raise InputError(f"{flag} {text.strip()} is out of range ({allowed})")
    return value


def register(sub):
    p = sub.add_parser("calc", help="kernel timer math: clocksource, clockevent, pvclock, hyperv")
    calc = p.add_subparsers(dest="calc_command", metavar="WHAT", required=True, parser_class=type(p))

    cs = calc.add_parser("clocksource", help="mult/shift/maxadj and the dmesg registration line")
    cs.add_argument("--freq-hz", required=True, metavar="F", help="counter frequency in Hz")
    cs.add_argument("--mask-bits", required=True, metavar="B", help="counter width, 1..64")
    cs.add_argument("--name", default="cs", help="clocksource name in the dmesg line (default: cs)")
    cs.add_argument("--scale", choices=("hz", "khz"), default="hz",
                    help="register in Hz or in kHz as tsc does (--freq-hz stays in Hz)")
    cs.add_argument("--rating", default="0", metavar="R", help="rating (stored; does not change the math)")
    cs.set_defaults(func=_run_clocksource)

    ce = calc.add_parser("clockevent", help="max/min_delta_ns, mult, shift as /proc/timer_list prints them")
    ce.add_argument("--freq-hz", required=True, metavar="F", help="device tick frequency in Hz")
    ce.add_argument("--min-ticks", required=True, metavar="A", help="smallest programmable delta, ticks")
    ce.add_argument("--max-ticks", required=True, metavar="B", help="largest programmable delta, ticks")
    ce.set_defaults(func=_run_clockevent)

    pv = calc.add_parser("pvclock", help="KVM/Xen pvclock mul/shift for a TSC frequency")
    pv.add_argument("--tsc-hz", required=True, metavar="F", help="TSC frequency in Hz")
    pv.add_argument("--delta", metavar="CYCLES", help="also scale this TSC delta to ns")
    pv.set_defaults(func=_run_pvclock)

    hv = calc.add_parser("hyperv", help="Hyper-V reference TSC page scale for a TSC frequency")
    hv.add_argument("--tsc-hz", required=True, metavar="F", help="TSC frequency in Hz (> 10_000_000)")
    hv.add_argument("--tsc", metavar="T", help="also convert this TSC value to reference time")
    hv.add_argument("--offset", default="0", metavar="O",
                    help="tsc_offset in 100 ns units (signed 64-bit, default 0)")
    hv.set_defaults(func=_run_hyperv)


def _run_clocksource(args) -> int:
    bits = _int_arg("--mask-bits", args.mask_bits, 1, 64)
    rating = _int_arg("--rating", args.rating, 0, 2**31 - 1)
    if args.scale == "khz":
        freq_hz = _int_arg("--freq-hz", args.freq_hz, 1000, kclock.M32 * 1000)
        if freq_hz % 1000:
            raise InputError(f"--freq-hz {args.freq_hz.strip()} is not a whole number of kHz (--scale khz needs a multiple of 1000)")
        freq, scale = freq_hz // 1000, 1000
    else:
        freq, scale = _int_arg("--freq-hz", args.freq_hz, 1, kclock.M32), 1
    name = args.name
    if not name or any(c.isspace() for c in name):
        raise InputError(f"--name {name!r} must be a non-empty name without spaces")
    cs = kclock.clocksource_register(name, freq, bits, scale=scale, rating=rating)
    print(cs.dmesg_line())
    print(f"mult: {cs.mult}")
    print(f"shift: {cs.shift}")
    print(f"maxadj: {cs.maxadj}")
    return 0


def _run_clockevent(args) -> int:
    freq = _int_arg("--freq-hz", args.freq_hz, 1, kclock.M32)
    # 0 is allowed: clockevents_config_and_register takes 0/0 (a periodic-only device registers so); for a
    # oneshot device cev_delta2ns(0) is then the 1 us floor
    lo = _int_arg("--min-ticks", args.min_ticks, 0, kclock.M64)
    hi = _int_arg("--max-ticks", args.max_ticks, 0, kclock.M64)
    if lo > hi:
        raise InputError(f"--min-ticks {lo} is above --max-ticks {hi} (need min <= max)")
    for line in kclock.clockevents_config(freq, lo, hi).timer_list_lines():
        print(line)
    return 0


def _run_pvclock(args) -> int:
    tsc_hz = _int_arg("--tsc-hz", args.tsc_hz, 1, kclock.M64)
    delta = None if args.delta is None else _int_arg("--delta", args.delta, 0, kclock.M64)
    mul, shift = kclock.kvm_get_time_scale(tsc_hz)
    print(f"mul: 0x{mul:08x} shift: {shift}")
    print(f"tsc_khz: {kclock.pvclock_tsc_khz(mul, shift)}")
    if delta is not None:
        print(f"ns: {kclock.pvclock_scale_delta(delta, mul, shift)}")
    return 0


def _run_hyperv(args) -> int:
    tsc_hz = _int_arg("--tsc-hz", args.tsc_hz, kclock.HV_CLOCK_HZ + 1, kclock.M64)
    offset = _int_arg("--offset", args.offset, -(2**63), 2**63 - 1)
    tsc = None if args.tsc is None else _int_arg("--tsc", args.tsc, 0, kclock.M64)
    scale = kclock.hyperv_tsc_scale(tsc_hz)
    print(f"scale: 0x{scale:016x}")
    if tsc is not None:
        ref = kclock.hyperv_reference_time(tsc, scale, offset)
        print(f"reference_time: {ref}")
        print(f"ns: {ref * 100}")
    return 0
