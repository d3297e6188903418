"""``tickscope gui``: open the desktop app, or render it headless to a PNG.

``tickscope gui [SCEN|REC] [--preset NAME] [--set K=V ...] [--compare NAME]
[--compare-set K=V ...] [--run-until T] [--hardware-lanes] [--show PANEL] [--screenshot FILE.png] [--size WxH]``

``--set`` applies to both A and B in compare mode; ``--compare-set`` only to B
(``--preset X --compare X --compare-set kernel.hz=1000`` compares one machine
with and without a change).  ``--compare`` takes a preset name or a scenario file.

With ``--screenshot`` the window is built at ``--size``, run to
``--run-until`` (default: the scenario's ``run.until``), rendered, grabbed
and written atomically; then the app exits 0.  Bad input prints one line on
stderr and exits 2 in that mode; otherwise it is shown in a dialog, over the file or preset named (without the
options) when only the options were wrong, else over the default scenario.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from tickscope.sim import scenario as scen
from tickscope.sim.boot import check_boots
from tickscope.sim.cli.common import duration_arg, preset_name, preset_spelled_by
from tickscope.sim.cli.negative_values import join_negative_values
from tickscope.sim.errors import InputError


# A 1 ms GIL switch interval (default 5 ms) shortens the GUI thread's waits while the engine thread
# runs Python; part of the UI stall figures in gui/bench.py.
SWITCH_INTERVAL_S = 0.001


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tickscope gui", description="Open the tickscope desktop app.")
    p.add_argument("path", nargs="?", help="scenario (.toml) or recording (.tickrec)")
    p.add_argument("--preset", help="start from a shipped preset")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="K=V", help="override a scenario key")
    p.add_argument("--compare", metavar="NAME", help="compare mode: preset name or scenario file for run B")
    p.add_argument("--compare-set", dest="compare_sets", action="append", default=[], metavar="K=V",
                   help="override a key of run B only")
    p.add_argument("--run-until", metavar="T", help="run to this simulated time (e.g. 200ms) before showing")
    p.add_argument("--engine", default="auto", choices=["auto", "cython", "reference"])
    p.add_argument("--screenshot", metavar="FILE.png", help="render the window to FILE.png and exit")
    p.add_argument("--size", default="1600x1000", metavar="WxH", help="window size (default 1600x1000)")
    p.add_argument("--theme", choices=["system", "light", "dark"], help="colour theme for this session")
    p.add_argument("--show", metavar="PANEL", help="bring a panel or tab to the front, e.g. idle-residency, "
                   "proc-files, events, graph, ticks, compare (with --screenshot: the one in the picture)")
    p.add_argument("--hardware-lanes", action="store_true",
                   help="show one lane per clock event device (with its interrupts) under the CPU lanes")
    return p


def _load_named(name_or_path: str) -> scen.Scenario:
    """A scenario file, or the shipped preset it spells (``kvm``, ``kvm.toml``, ``assets/presets/kvm.toml``
    from any directory, as ``tickscope run`` reads them) when no such file exists."""
    named = preset_spelled_by(name_or_path)
    return scen.preset(named) if named else scen.load(name_or_path)


def _scenario_from(name_or_path: str | None, preset: str | None, sets: list[str]) -> scen.Scenario:
    if name_or_path and preset:
        raise InputError("give a scenario file or --preset, not both")
    if name_or_path:
        sc = _load_named(name_or_path)
    else:
        sc = scen.preset(preset_name(preset) if preset else scen.DEFAULT_PRESET)
    return scen.apply_sets(sc, sets) if sets else sc


def _compare_scenario(name: str, sets: list[str], compare_sets: list[str]) -> scen.Scenario:
    """Run B: *name* (a preset or scenario file), then ``--set`` (both runs), then ``--compare-set`` (B only);
    errors name the option they come from (a bad --compare-set was reported as --set)."""
    if name.endswith(".tickrec"):   # read as TOML it failed with "not UTF-8 text (byte 0x85)"
        raise InputError(f"--compare: {name}: is a recording; run B is a preset or a scenario (.toml)")
    try:
        if Path(name).is_file() or preset_spelled_by(name):
            sc = _load_named(name)
        else:
            sc = scen.load(name) if name.endswith(".toml") else scen.preset(name)
    except InputError as exc:
        raise InputError(f"--compare: {exc}") from None
    sc = scen.apply_sets(sc, sets) if sets else sc
    return scen.apply_sets(sc, compare_sets, source="--compare-set") if compare_sets else sc


def _parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise InputError(f"--size: {text!r} is not WIDTHxHEIGHT (e.g. 1600x1000)")
    w, h = int(m.group(1)), int(m.group(2))
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise InputError(f"--size: {w}x{h} is out of range (allowed 320..8192 x 240..8192)")
    return w, h


def _prepare(args):
    """Everything derived from the arguments that can be wrong, checked before Qt starts."""
    recording = None
    if args.path and args.path.endswith(".tickrec"):
        from tickscope.sim.record import load_recording
        recording = load_recording(args.path)
        a = recording.scenario
        if args.preset:
            raise InputError("give a recording or --preset, not both")
        # a recording shows stored results: nothing runs, so these were silently ignored (--compare left an
        # empty Compare A/B tab in front)
        for flag, given in (("--set", args.sets), ("--compare", args.compare), ("--compare-set", args.compare_sets),
                            ("--run-until", args.run_until)):
            if given:
                raise InputError(f"{flag} does not apply to a recording (it shows stored results)")
    else:
        a = _scenario_from(args.path, args.preset, args.sets)
    if args.compare_sets and not args.compare:   # it changes run B: without one it was silently ignored
        raise InputError("--compare-set changes run B: give --compare NAME (e.g. --compare "
                         f"{args.preset or 'the same preset'}) with it")
    b = _compare_scenario(args.compare, args.sets, args.compare_sets) if args.compare else None
    # the window used to open on a scenario it cannot boot and fail (a traceback and an abort), or show an
    # empty compare view with no word why for such a run B
    if recording is None:
        check_boots(a, "--set" if args.sets else args.path)
    if b is not None:
        check_boots(b, "--compare" + ("/--compare-set" if args.compare_sets else ""))
    until = duration_arg(args.run_until, "--run-until") if args.run_until else None
    if args.screenshot and not args.screenshot.lower().endswith(".png"):
        raise InputError(f"--screenshot: {args.screenshot!r} must end in .png")
    return a, b, recording, until, _parse_size(args.size)


def main(argv=None) -> int:
    """Run the app; returns the exit status (0 ok, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    headless = "--screenshot" in argv or any(a.startswith("--screenshot=") for a in argv)
    helping = "-h" in argv or "--help" in argv
    problem = None if helping else display_problem("open the window on", "xvfb-run tickscope",
                                                   "headless with --screenshot FILE.png")
    if problem and headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    elif problem:
        print(f"tickscope gui: error: {problem}", file=sys.stderr)
        return 2
    if helping:
        build_parser().print_help()
        return 0
    try:
        args = build_parser().parse_args(join_negative_values(argv))   # --run-until -1s as --run-until=-1s
        prepared = _prepare(args)
        error = None
    except (InputError, ValueError) as exc:
        print(f"tickscope gui: error: {exc}", file=sys.stderr)   # started from a terminal, it is read there
        if headless:
            return 2
        # interactive: the window opens with the error in a dialog, on the file or preset asked for when only the
        # options were wrong, else on the default scenario; the dialog says which
        args, prepared, opened = _fallback(argv)
        error = f"{exc}\n\n{opened}"
    return _run_app(args, prepared, error, headless)


def _fallback(argv) -> tuple:
    """``(args, prepared, sentence)`` for a window after bad input: the scenario file or preset named, without
    its --set, --compare and --run-until options, when it loads and boots; else ``(None, None, ...)`` (the default
    scenario).  ``--preset many-cores --set machine.cpus=abc`` opened a 4-CPU bare-metal-lapic with only the error
    in the dialog, as if that were the preset asked for."""
    try:
        args = build_parser().parse_args(join_negative_values(argv))
        name = args.path or args.preset
        if name and not name.endswith(".tickrec"):
            sc = _scenario_from(args.path, args.preset, [])
            check_boots(sc, args.path)
            try:
                size = _parse_size(args.size)
            except InputError:
                size = (1600, 1000)
            dropped = [flag for flag, given in (("--set", args.sets), ("--compare", args.compare),
                                                ("--compare-set", args.compare_sets), ("--run-until", args.run_until))
                       if given]
            args.sets, args.compare, args.compare_sets, args.run_until = [], None, [], None
            return args, (sc, None, None, None, size), \
                f"The window shows {name}" + (f" without {', '.join(dropped)}." if dropped else ".")
    except (InputError, ValueError):
        pass
    return None, None, f"The window shows the default scenario ({scen.DEFAULT_PRESET}) instead."


def _run_app(args, prepared, error, headless) -> int:
    from PySide6 import QtCore, QtWidgets

    from tickscope.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app.setApplicationName("tickscope")
    app.setOrganizationName("tickscope")
    if error is not None:
        QtWidgets.QMessageBox.critical(None, "tickscope", error)
        if prepared is None:
            prepared = (scen.preset(scen.DEFAULT_PRESET), None, None, None, (1600, 1000))
            args = build_parser().parse_args([])
    a, b, recording, until, (w, h) = prepared
    source = None
    if not headless and error is None and args.path is None and args.preset is None and not args.sets:
        last = _last_scenario()
        if last is not None:
            a, source = last[0], (last[1], last[0], None)
    win = MainWindow(a, engine=args.engine, compare=b, persistent=not headless, theme=args.theme)
    if recording is None and error is None:
        # the TOML tab and Save keep the file's (or preset's) own text, comments and all; Save writes back to
        # the file the app was started on
        source = source or _source_of(args)
        if source is not None:
            win.model.adopt_source(*source)
    if args.hardware_lanes:
        win.actions_by_name["hardware"].setChecked(True)
    if recording is not None:
        win.show_recording(recording)
    if args.show:
        problem = win.bring_to_front(args.show)
        if problem is not None:
            print(f"tickscope gui: error: --show: {problem}", file=sys.stderr)
            win.close()
            return 2
    if headless:
        win.resize(w, h)
        win.show()
        app.processEvents()
        if recording is None:
            win.run_to_end(until)
        return _screenshot(win, args.screenshot, app)
    if args.size != "1600x1000":
        win.resize(w, h)
    win.show()
    if recording is None and until is not None:
        QtCore.QTimer.singleShot(0, lambda: win.run_until(until))
    return exec_until_quit(app, win)


def has_display() -> bool:
    """Whether a window can be shown: a display, or a Qt platform chosen (offscreen, a test's)."""
    return bool(os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def display_problem(purpose: str, xvfb: str, instead: str) -> str | None:
    """Why no window can be shown here (no display at all, or an X display no server answers on), as one
    sentence ending in what to do instead (*xvfb*: the command under Xvfb, *instead*: the headless way), else None."""
    if not has_display():
        return (f"no display to {purpose} (DISPLAY and WAYLAND_DISPLAY are unset); run it on a desktop, under "
                f"Xvfb ({xvfb}), or {instead}")
    if (unreachable := unreachable_x_display()):
        return (f"cannot connect to the X display {unreachable!r} (DISPLAY) to {purpose}: no X server answers "
                f"there; start one, fix DISPLAY (ssh -X), run it under Xvfb ({xvfb}), or {instead}")
    return None


def unreachable_x_display() -> str | None:
    """The X display named by DISPLAY when Qt would use it and it cannot be connected to (no server there, a
    stale DISPLAY in an ssh session without X forwarding), else None.  Qt aborted there (exit 134, a core dump
    and "xcb-cursor0 ... is needed" although it was installed), even for --screenshot, export and --video.
    Not checked (None) with a Qt platform chosen, on Wayland, or without libxcb to ask (Qt then says why)."""
    display = os.environ.get("DISPLAY")
    if not display or os.environ.get("QT_QPA_PLATFORM") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    import ctypes
    import ctypes.util

    try:
        xcb = ctypes.CDLL(ctypes.util.find_library("xcb") or "libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(None, None)   # DISPLAY and XAUTHORITY as Qt reads them
    try:
        return display if xcb.xcb_connection_has_error(conn) else None
    finally:
        xcb.xcb_disconnect(conn)


def exec_until_quit(app, win) -> int:
    """Qt's event loop (QApplication.exec, not Python's exec) until the window closes; Ctrl+C or SIGTERM close it
    (_quit_on_signals).  Returns the exit status: the app's, or 128 + the signal's number."""
    caught = _quit_on_signals(app, win)
    status = app.exec()
    return 128 + caught[0] if caught else status


def _quit_on_signals(app, win) -> list[int]:
    """Ctrl+C or SIGTERM from the terminal closes the window as the user would (session saved, engine threads
    stopped, no unsaved-changes question) and quits; the list receives the signal's number (exit 128+N).
    Without this the KeyboardInterrupt surfaced as a traceback in whichever slot ran next and the app went on."""
    import signal

    from PySide6 import QtCore

    caught: list[int] = []

    def handler(signum, _frame):
        if not caught:
            caught.append(signum)
            win.close_without_asking()
            app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    # Python runs its signal handlers only when it gets control: a timer gives it control while Qt's loop waits
    poll = QtCore.QTimer(app, interval=200)
    poll.timeout.connect(lambda: None)
    poll.start()
    return caught


def _last_scenario():
    """(scenario, its text) of the last session, or None."""
    from tickscope.gui.theme import settings

    text = settings().value("last_scenario")
    if not text:
        return None
    try:
        sc = scen.loads(str(text), "last session")
        check_boots(sc)   # one the machine cannot boot would stop the app from opening at every start
    except InputError:
        return None
    return sc, str(text)


def _source_of(args):
    """(text, scenario it reads as, file Save writes to) that the start-up scenario came from, or None."""
    try:
        if args.path:
            src, text = scen.load_with_text(args.path)
            return text, src, (None if args.sets else args.path)   # with --set it is no longer the file's
        src, text = scen.preset_with_text(args.preset or scen.DEFAULT_PRESET)
        return text, src, None
    except InputError:
        return None


def _screenshot(win, path, app) -> int:
    from tickscope.sim.atomic import atomic_path

    for _ in range(5):
        app.processEvents()
    win.raster.render_now()
    app.processEvents()
    pixmap = win.grab()
    try:
        with atomic_path(path) as tmp:
            ok = pixmap.save(str(tmp), "PNG")
            if not ok:
                raise OSError(f"{path}: could not write the PNG")
    except (InputError, OSError) as exc:
        # an unwritable --screenshot path: one line and exit 2, like every other output path (this raised out
        # of the app with a traceback, and the engine thread still running aborted the interpreter)
        if isinstance(exc, OSError) and exc.strerror:
            exc = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
        print(f"tickscope gui: error: --screenshot: {exc}", file=sys.stderr)
        win.close()
        return 2
    p99 = win.controller.probe.p99_ms()
    if os.environ.get("TICKSCOPE_PROFILE"):
        print(f"tickscope: ui stall p99 {p99:.1f} ms", file=sys.stderr)
    win.close()
    return 0
