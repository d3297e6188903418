"""The ``tickscope`` console entry point.

Routes ``tickscope`` (no subcommand) and ``tickscope gui`` to the Qt app and
everything else to the Qt-free CLI in :mod:`tickscope.sim.cli`, so commands
such as ``tickscope run`` never import Qt.
"""
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "gui" or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        try:
            from tickscope.gui import app
        except ImportError as exc:  # pragma: no cover - only without the GUI packages
            print(f"tickscope: error: the desktop app cannot start: {exc}", file=sys.stderr)
            return 2
        if argv and argv[0] == "gui":
            argv = argv[1:]
        return app.main(argv)
    from tickscope.sim.cli import main as cli_main

    extra = None
    try:
        from tickscope.gui import commands  # demo / export / bench --gui live with the Qt code
        extra = commands.register
    except ImportError:
        pass
    return cli_main(argv, extra_register=extra)


if __name__ == "__main__":
    sys.exit(main())
