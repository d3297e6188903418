"""Options shared by every subcommand that takes a scenario."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tickscope.sim import boot, scenario as scen, shipped, unused_settings
from tickscope.sim.errors import InputError


def add_scenario_args(parser, positional=True, scenario_help="scenario TOML file"):
    """Add ``SCENARIO``, ``--preset NAME`` and repeatable ``--set dotted.key=VALUE``."""
    if positional:
        parser.add_argument("scenario", nargs="?", metavar="SCENARIO", help=scenario_help)
    parser.add_argument("--preset", metavar="NAME", help="start from a shipped preset (see `tickscope presets`)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario key, e.g. --set machine.cpus=8 (repeatable)")


class _GivenOnce(argparse.Action):
    """Store an option's value, refusing a second one (``--at 1s --until 2s`` read at 2 s without a word)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest) is not None:
            parser.error(f"{option_string} {values}: the time is already given ({'/'.join(self.option_strings)} "
                         f"{getattr(namespace, self.dest)}); give it once")
        setattr(namespace, self.dest, values)


def add_read_time_arg(parser, what: str):
    """``--at T`` (alias ``--until``): the simulated time a /proc view is read at."""
    parser.add_argument("--at", "--until", metavar="T", dest="at", default=None, action=_GivenOnce,
                        help=f"simulated time to read {what} at, e.g. 500ms (default: the scenario's run.until)")


def preset_spelled_by(path) -> str | None:
    """The shipped preset a SCENARIO that is not a file spells (``assets/presets/NAME.toml`` from outside a
    checkout, ``NAME.toml``, ``NAME``), else None: a file that exists is always read as given."""
    return None if Path(path).is_file() else shipped.name_in("presets", str(path))


def preset_name(name: str) -> str:
    """``--preset NAME`` as the shipped preset it spells (``kvm.toml`` is ``kvm``), else as given."""
    return shipped.name_in("presets", name) or name


def scenario_from_args(args, default_preset=None) -> scen.Scenario:
    """Build the scenario the user asked for: a file or a preset, then ``--set`` overrides.

    A SCENARIO that is not a file but spells a shipped preset (``assets/presets/NAME.toml`` from outside a
    checkout, ``NAME.toml``) is that preset.

    Raises
    ------
    InputError
        If both or neither of SCENARIO/--preset are given (and no default), or
        any part is invalid.
    """
    path = getattr(args, "scenario", None)
    if path and args.preset:
        raise InputError("give either a SCENARIO file or --preset, not both")
    preset = args.preset and preset_name(args.preset)
    if path and (named := preset_spelled_by(path)):
        # a preset's file as a checkout holds it (assets/presets/NAME.toml), given from any directory
        path, preset = None, named
    if path:
        if str(path).endswith(".tickrec"):
            raise InputError(f"{path}: is a recording; this command takes a scenario (.toml)")
        sc = scen.load(Path(path))
    elif preset:
        sc = scen.preset(preset)
    elif default_preset:
        sc = scen.preset(default_preset)
    else:
        raise InputError("no scenario: give a SCENARIO file or --preset NAME")
    if args.sets:
        sc = scen.apply_sets(sc, args.sets)
    # what only booting the machine can check (a clocksource or broadcast device it does not register):
    # checked here so that the message says where the scenario came from
    where = str(path) if path else f"preset {preset or default_preset}"
    where = f"{where}{' with --set' if args.sets else ''}"
    boot.check_boots(sc, where)
    # settings the run never reads (hardware the guest's kernel does not use, a busy share with no mixed CPU) are
    # not errors (presets and saved files write them), but not silent either: print_notes says them once the
    # command's other options are checked (an error is then the only line)
    args.scenario_notes = [f"{where}: {note}" for note in unused_settings.notes(sc)]
    return sc


def print_notes(args) -> None:
    """Say on stderr the notes :func:`scenario_from_args` found (each ``tickscope: note: ...``), once."""
    for note in getattr(args, "scenario_notes", ()):
        print(f"tickscope: note: {note}", file=sys.stderr)
    args.scenario_notes = []


def duration_arg(text, flag: str, positive: bool = True, maximum: int | None = None) -> int:
    """A duration option (``--until 10s``) in ns; InputError naming *flag* when malformed, not positive or
    above *maximum* ns."""
    try:
        ns = scen.parse_duration(text)
    except ValueError as exc:
        if positive and isinstance(text, str) and text.strip().startswith("-") and _is_duration(text.strip()[1:]):
            # one message for zero and below: a general duration may be 0, this option may not
            raise InputError(f"{flag}: {text!r} is negative; it must be more than 0 (e.g. \"250ms\")") from None
        raise InputError(f"{flag}: {exc}") from None
    if positive and ns <= 0:
        raise InputError(f"{flag}: {text!r} is zero; it must be more than 0 (e.g. \"250ms\")")
    if maximum is not None and ns > maximum:
        raise InputError(f"{flag}: {text} is longer than {scen.format_duration(maximum)}")
    return ns


def _is_duration(text: str) -> bool:
    try:
        scen.parse_duration(text.strip())
    except ValueError:
        return False
    return True


def run_end_arg(text, flag: str) -> int:
    """``--until`` / ``--at``: a positive duration within what ``run.until`` allows."""
    return duration_arg(text, flag, maximum=scen.UNTIL_MAX_NS)


def seed_arg(seed: int | None) -> int | None:
    """``--seed``: None, or a seed ``run.seed`` allows."""
    if seed is not None and not 0 <= seed <= scen.SEED_MAX:
        raise InputError(f"--seed: {seed} is out of range (0..{scen.SEED_MAX})")
    return seed
