"""The ``tickscope`` command line.

Each subcommand lives in its own module here and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a callable taking the parsed args and
returning an exit status.  Bad input raises :class:`~tickscope.sim.errors.InputError`;
:func:`main` prints it as one line and exits 2.  No traceback reaches the user
for bad input.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys

from tickscope.sim import __version__
from tickscope.sim.cli.negative_values import join_negative_values
from tickscope.sim.errors import InputError

# Subcommand modules, in the order their help is listed.
SUBCOMMAND_MODULES = [
    "run", "presets", "calc", "kernel_views", "import_cmd", "interrupts", "graph", "bench",
]


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line reason (its default is already 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(extra_modules=()) -> argparse.ArgumentParser:
    parser = _Parser(prog="tickscope", description="Simulate and inspect Linux x86 timer hardware, tick layers and paravirtual timer backends.")
    parser.add_argument("--version", action="version", version=f"tickscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in list(SUBCOMMAND_MODULES) + list(extra_modules):
        try:
            module = importlib.import_module(f"tickscope.sim.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tickscope.sim.cli.{name}":
                continue  # subcommand not built yet
            raise
        module.register(sub)
    return parser


def main(argv=None, extra_register=None) -> int:
    """Run the CLI; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.
    extra_register : callable, optional
        Called with the subparsers object to add subcommands that live outside
        ``sim`` (the GUI launcher adds ``gui``, ``demo`` and ``export``).
    """
    parser = build_parser()
    if extra_register is not None:
        extra_register(parser._subparsers._group_actions[0])
    args = parser.parse_args(join_negative_values(sys.argv[1:] if argv is None else argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away (`tickscope ... | head`): not bad input. BrokenPipeError is an OSError, so it
        # must be caught before the OSError clause below (which reported it as an error and exited 2); stdout is
        # pointed at /dev/null so the interpreter's final flush does not fail on the closed pipe again
        _silence_stdout()
        return 0
    except InputError as exc:
        print(f"tickscope: error: {_user_names(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written (a bad output path, a full disk)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"tickscope: error: {_user_names(where + str(exc.strerror or exc))}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # a run too long for this machine's memory (the engine names how far it got)
        print(f"tickscope: error: {exc or 'out of memory'}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tickscope: interrupted", file=sys.stderr)
        return 130


#: A staged output (sim/atomic.py, gui/export_dialog.py): ".NAME.<random>.part" beside NAME, renamed on success
_STAGED = re.compile(r"(^|/)\.([^/]+?)\.[A-Za-z0-9_]{8}\.part(?=/|:|$|\s)")


def _user_names(message: str) -> str:
    """*message* with staged temporary names turned back into the names the user gave."""
    return _STAGED.sub(r"\1\2", message)


def _silence_stdout() -> None:
    """Send what is left of stdout to /dev/null (its reader closed the pipe)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # no real stdout (captured in tests): nothing to flush
        pass


if __name__ == "__main__":
    sys.exit(main())
