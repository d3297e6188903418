"""``tickscope export`` and ``tickscope demo``: the subcommands that draw with Qt.

The launcher passes :func:`register` to the CLI.  This module imports no Qt at
import time, so ``tickscope run`` and friends never load it; each command
checks its arguments first (bad input: one line, exit 2), then starts a
QApplication on the offscreen platform when there is no display.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from tickscope.sim.errors import InputError

VIEW_CHOICES = ("raster", "histograms", "drift", "graph", "all")


def register(sub) -> None:
    """Add ``export`` and ``demo`` to the CLI's subparsers, and list ``gui`` in ``tickscope --help``."""
    # the launcher hands `tickscope gui ...` (and `tickscope` alone) to the app before the CLI parses anything;
    # this entry only makes `tickscope --help` name it
    g = sub.add_parser("gui", help="open the desktop app (also `tickscope` alone; `tickscope gui --help` for its options)",
                       add_help=False)
    g.set_defaults(func=_gui)
    p = sub.add_parser("export", help="export a recording's plots (PNG/SVG/PDF), CSV, trace, review bundle or video")
    p.add_argument("recording", metavar="REC", help="a .tickrec recording")
    p.add_argument("--png", metavar="F.png", help="the view as PNG at --dpi")
    p.add_argument("--svg", metavar="F.svg", help="the view as SVG (vector, text as text)")
    p.add_argument("--pdf", metavar="F.pdf", help="the view as PDF (one page per view for --view all)")
    p.add_argument("--csv", metavar="DIR", help="CSV of the data behind each plot, the event log and per-CPU table")
    p.add_argument("--trace", metavar="F.json", help="Chrome/Perfetto JSON trace")
    p.add_argument("--bundle", metavar="DIR|F.zip", help="review bundle: every plot as SVG+PNG, CSVs, scenario, summary.md")
    p.add_argument("--video", metavar="F.mp4|F.gif", help="the view revealed over the run as a video")
    p.add_argument("--view", default="all", choices=VIEW_CHOICES, help="which view to draw (default all)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", metavar="WxH", help="figure size in pixels at 96 DPI (default 1200x750)")
    size.add_argument("--page", choices=("a4", "slide-16x9"), help="figure size: A4 landscape or a 16:9 slide")
    p.add_argument("--dpi", type=int, default=96, metavar="N", help="PNG resolution (default 96: --size pixels exactly)")
    p.add_argument("--fps", type=int, default=15, metavar="N", help="video frames per second (default 15)")
    p.add_argument("--title", metavar="TEXT", help="caption title (default: tickscope: <scenario>)")
    p.add_argument("--caption", metavar="TEXT", help="caption body (default: the scenario's description)")
    p.add_argument("--marker", action="append", default=[], metavar="T[:NAME]",
                   help="a marker line at simulated time T, e.g. 120ms:change (repeatable; adds to the recording's)")
    p.set_defaults(func=_export)

    d = sub.add_parser("demo", help="play a scripted demo in the app, or render it to video")
    d.add_argument("demo", nargs="?", metavar="NAME|FILE", help="built-in demo name or a .toml/.jsonl script")
    d.add_argument("--video", metavar="OUT.mp4|OUT.gif", help="render headless to a video instead of opening the app")
    d.add_argument("--fps", type=int, default=15, metavar="N", help="video frames per second (default 15)")
    d.add_argument("--size", default="960x540", metavar="WxH", help="video size in pixels (default 960x540)")
    d.add_argument("--list", action="store_true", help="list the built-in demos")
    d.add_argument("--check", action="store_true", help="validate the script and exit")
    d.set_defaults(func=_demo)


def _gui(args) -> int:   # pragma: no cover - the launcher routes `gui` to the app itself
    from tickscope.gui import app

    return app.main([])


def _qt_app(widgets: bool = False):
    from tickscope.gui.app import unreachable_x_display

    if "QT_QPA_PLATFORM" not in os.environ and (
            not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or unreachable_x_display()):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"   # a stale DISPLAY made Qt abort (exit 134) before drawing
    from PySide6 import QtGui, QtWidgets

    app = QtWidgets.QApplication.instance() or QtGui.QGuiApplication.instance()
    if app is None:
        app = (QtWidgets.QApplication if widgets else QtGui.QGuiApplication)([sys.argv[0] if sys.argv else "tickscope"])
    return app


class _Bar:
    """A rich progress bar on a terminal; silent otherwise.  Returns True (go on) to the exporters."""

    def __init__(self, label: str):
        self.label = label
        self._prog = None

    def __enter__(self):
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._prog = Progress(TextColumn(f"[bold]{self.label}[/]"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), transient=True, console=Console(stderr=True))
            self._prog.__enter__()
            self._task = self._prog.add_task(self.label, total=None)
        return self

    def __call__(self, done, total):
        if self._prog is not None:
            self._prog.update(self._task, completed=done, total=total)
        return True

    def __exit__(self, *exc):
        if self._prog is not None:
            self._prog.__exit__(*exc)
        return False


def _parse_marker(text: str) -> dict:
    from tickscope.sim import scenario as scen

    t, _, name = text.partition(":")
    try:
        ns = scen.parse_duration(t)
    except (ValueError, TypeError) as exc:
        raise InputError(f"--marker: {text!r}: {exc}") from None
    if ns < 0:
        raise InputError(f"--marker: {text!r}: time must not be negative")
    return {"time_ns": ns, "name": name or t}


def _export(args) -> int:
    from tickscope.sim import scenario as scen
    from tickscope.sim.record import load_recording

    markers = [_parse_marker(m) for m in args.marker]
    if Path(args.recording).is_dir():
        raise InputError(f"{args.recording}: is a directory, not a recording (a .tickrec file)")
    if not str(args.recording).endswith(".tickrec") and not Path(args.recording).is_file():
        raise InputError(f"{args.recording}: no such recording")
    rec = load_recording(args.recording)
    until = int(rec.results.meta.get("until_ns") or rec.scenario.run.until)
    for text, m in zip(args.marker, markers):
        if m["time_ns"] > until:   # drawn nowhere: the figures end at the run's end
            raise InputError(f"--marker: {text!r} is after the end of the recorded run ({scen.format_duration(until)})")
    _qt_app()
    from tickscope.gui import export_dialog, plot_export as pe
    from tickscope.gui.recording_actions import markers_from_actions

    if args.page:
        w, h = pe.page_size(args.page)
    else:
        w, h = pe.parse_size(args.size) if args.size else (pe.PlotOptions().width_pt, pe.PlotOptions().height_pt)
    pe.check_dpi(args.dpi)
    sc = rec.scenario
    caption = pe.Caption(args.title or f"tickscope: {sc.name}", args.caption if args.caption is not None else sc.description)
    opts = pe.PlotOptions(width_pt=w, height_pt=h, dpi=args.dpi, caption=caption,
                          markers=sorted(markers_from_actions(rec.actions) + markers, key=lambda m: m["time_ns"]))
    req = export_dialog.ExportRequest(png=args.png, svg=args.svg, pdf=args.pdf, csv_dir=args.csv, trace=args.trace,
                                      bundle=args.bundle, video=args.video, view=args.view, options=opts, fps=args.fps)
    export_dialog.validate(req)
    src = pe.PlotSource(rec.results, name=sc.name, scenario_toml=sc.to_toml())
    with _Bar("exporting") as bar:
        written = export_dialog.run_export(src, req, bar)
    for path in written:
        print(path)
    return 0


def _demo(args) -> int:
    from tickscope.sim import demo as demo_mod

    if args.list:
        for name, title in demo_mod.builtin_demos().items():
            print(f"{name:16} {title.removeprefix(f'{name}: ')}")   # a title card's title starts with the name
        return 0
    if not args.demo:
        raise InputError(f"give a demo NAME or FILE (built-in: {', '.join(demo_mod.builtin_demos())})")
    demo = demo_mod.load(args.demo)
    if args.check:
        print(f"{demo.source}: {len(demo.steps)} steps OK")
        return 0
    if args.video:
        from tickscope.gui import video

        video.check_video_path(args.video)
        video.check_fps(args.fps)
        import re

        m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", args.size)
        if not m:
            raise InputError(f"--size: {args.size!r} is not WIDTHxHEIGHT in pixels (e.g. 960x540)")
        size = int(m.group(1)), int(m.group(2))
        if not (160 <= size[0] <= 3840 and 120 <= size[1] <= 2160):
            raise InputError(f"--size: {size[0]}x{size[1]} is out of range (allowed 160..3840 x 120..2160)")
        if args.video.lower().endswith(".mp4") and (size[0] % 2 or size[1] % 2):
            raise InputError(f"--size: {size[0]}x{size[1]}: MP4 needs an even width and height")
        _qt_app()
        from tickscope.gui.demo_player import render_demo_video

        with _Bar("rendering") as bar:
            n = render_demo_video(demo, args.video, args.fps, size, bar)
        print(f"{args.video}: {n} frames at {args.fps} fps")
        return 0
    from tickscope.gui.app import display_problem, exec_until_quit

    # an offscreen window nobody sees would play and then wait forever: say so, as `tickscope gui` does
    if (problem := display_problem("play the demo on", "xvfb-run tickscope demo ...", "render it with --video OUT.mp4")):
        raise InputError(problem)
    app = _qt_app(widgets=True)
    from tickscope.gui.main_window import MainWindow
    from tickscope.sim import scenario as scen

    first = next((s["name"] for s in demo.steps if s["action"] == "preset"), scen.DEFAULT_PRESET)
    win = MainWindow(scen.preset(first), persistent=False)
    win.show()
    player = getattr(win, "demo_player", None)
    if player is None:
        raise InputError("the demo player is not installed in this build")
    player.play(demo)
    return exec_until_quit(app, win)   # Ctrl+C closes the window (exit 130), as in `tickscope gui`
