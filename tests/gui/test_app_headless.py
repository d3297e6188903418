"""`tickscope gui --screenshot`: a non-blank PNG of the whole window; bad input exits 2 in one line."""
import os
import subprocess
import sys

import numpy as np
import pytest


def _gui(*args, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TICKSCOPE_CONFIG_DIR=str(tmp_path / "cfg"))
    return subprocess.run([sys.executable, "-m", "tickscope.gui.launcher", "gui", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_screenshot_has_the_size_asked_and_is_not_blank(tmp_path):
    from PySide6 import QtGui

    out = tmp_path / "shot.png"
    r = _gui("--preset", "bare-metal-lapic", "--run-until", "100ms", "--screenshot", str(out), "--size", "1200x800",
             tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    rgba = img.convertToFormat(QtGui.QImage.Format_RGBA8888)  # keep a reference: constBits() does not
    arr = np.array(rgba.constBits(), dtype=np.uint8).reshape(800, rgba.bytesPerLine())[:, :4800].reshape(800, 1200, 4)
    assert len(np.unique(arr.reshape(-1, 4)[::97], axis=0)) > 20
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("args, needle", [
    (["--preset", "nope"], "no preset named 'nope'"),
    (["--set", "machine.cpus=3000"], "machine.cpus: 3000 is out of range (allowed 1..1024)"),
    (["--run-until", "soon"], "--run-until: 'soon' is not a duration"),
    (["--run-until", "-1s"], "--run-until: '-1s' is negative"),   # argparse said "expected one argument"
    (["--run-until=-1s"], "--run-until: '-1s' is negative"),
    (["--size", "big"], "--size"),
    (["--compare", "nope"], "--compare: no preset named 'nope'"),
    (["--compare", "kvm", "--compare-set", "kernel.hz=7"], "--compare-set: kernel.hz: 7 is not allowed"),
    (["--preset", "kvm", "--compare-set", "kernel.hz=100"], "--compare-set changes run B: give --compare NAME"),
    (["--preset", "kvm", "--run-until", "10ms", "--show", "idle"],
     "--show: 'idle' is no panel or tab here (one of: scenario, measure, histograms, drift, interrupt-rate, "
     "idle-residency, events, kernel-log, proc-files, graph, ticks, compare)"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    r = _gui(*args, "--screenshot", str(tmp_path / "x.png"), tmp_path=tmp_path)
    assert r.returncode == 2
    assert needle in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_hardware_lanes_flag_adds_the_device_lanes(tmp_path):
    out = tmp_path / "hw.png"
    r = _gui("--preset", "bare-metal-hpet-c3", "--run-until", "50ms", "--hardware-lanes", "--screenshot", str(out),
             tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 10_000


def test_no_display_is_a_clear_error_not_a_qt_abort(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    p = subprocess.run([sys.executable, "-m", "tickscope.gui.launcher", "--preset", "pit-only"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "no display" in p.stderr and "--screenshot" in p.stderr and "Traceback" not in p.stderr
    shot = tmp_path / "s.png"
    p = subprocess.run([sys.executable, "-m", "tickscope.gui.launcher", "gui", "--preset", "pit-only",
                        "--run-until", "50ms", "--screenshot", str(shot)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unwritable_screenshot_path_is_one_line_and_exit_2(tmp_path):
    # a folder that cannot be made (its parent is a file): the run happens, the PNG cannot be written
    (tmp_path / "plain-file").write_text("x")
    target = tmp_path / "plain-file" / "shot.png"
    r = _gui("--preset", "pit-only", "--run-until", "20ms", "--screenshot", str(target), tmp_path=tmp_path)
    assert r.returncode == 2, r.stderr
    err = [line for line in r.stderr.splitlines() if "propagateSizeHints" not in line]   # the offscreen plugin's note
    assert len(err) == 1 and "Traceback" not in r.stderr and "QThread" not in r.stderr
    assert err[0].startswith("tickscope gui: error: --screenshot:") and str(target) in err[0]


@pytest.mark.parametrize("flag", [["--compare", "kvm"], ["--run-until", "1s"], ["--compare-set", "kernel.hz=100"]])
def test_run_options_with_a_recording_are_refused(tmp_path, flag):
    # a recording shows stored results: --compare left an empty Compare A/B tab, --run-until did nothing
    from tickscope.sim import record, scenario, simulation

    sc = scenario.apply_sets(scenario.preset("pit-only"), ['run.until="50ms"'])
    rec = tmp_path / "r.tickrec"
    record.save_recording(rec, sc, simulation.simulate(sc, engine="reference"))
    r = _gui(str(rec), *flag, "--screenshot", str(tmp_path / "x.png"), tmp_path=tmp_path)
    assert r.returncode == 2
    assert f"{flag[0]} does not apply to a recording" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_interactive_bad_input_is_also_said_on_stderr(monkeypatch, capsys):
    # the window opens on the default scenario with the error in a dialog; a terminal user saw nothing
    from tickscope.gui import app

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    seen = []
    monkeypatch.setattr(app, "_run_app", lambda args, prepared, error, headless: seen.append((error, headless)) or 0)
    assert app.main(["--preset", "nope"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("tickscope gui: error: no preset named 'nope'") and err.count("\n") == 1
    assert seen and seen[0][1] is False and "no preset named 'nope'" in seen[0][0]


def test_interactive_bad_option_opens_the_preset_asked_for_and_says_so(monkeypatch, capsys):
    # --preset many-cores with a bad --set opened a 4-CPU bare-metal-lapic, the dialog saying only what was wrong
    from tickscope.gui import app

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    seen = []
    monkeypatch.setattr(app, "_run_app", lambda args, prepared, error, headless: seen.append((args, prepared, error)) or 0)
    assert app.main(["--preset", "many-cores", "--set", "machine.cpus=abc", "--run-until", "1s"]) == 0
    args, prepared, error = seen[0]
    assert prepared[0].name == "many-cores" and prepared[0].machine.cpus == 256
    assert prepared[3] is None and not args.sets   # nothing of the refused options is applied
    assert error.startswith("--set: machine.cpus") and error.endswith("The window shows many-cores without --set, --run-until.")
    assert capsys.readouterr().err.count("\n") == 1   # the terminal still gets the one line
    seen.clear()
    assert app.main(["--preset", "nope"]) == 0          # nothing to fall back on: the default, and it says so
    assert seen[0][1] is None and seen[0][2].endswith(f"the default scenario ({app.scen.DEFAULT_PRESET}) instead.")


def test_tickscope_help_lists_the_gui_command(capsys):
    from tickscope.gui import launcher

    with pytest.raises(SystemExit) as exc:
        launcher.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "\n    gui " in out and "open the desktop app" in out   # the README's first command was missing here


def test_demo_without_a_display_is_a_clear_error_not_a_hang(tmp_path):
    # it opened an offscreen window nobody could see and never exited
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["TICKSCOPE_CONFIG_DIR"] = str(tmp_path / "cfg")
    p = subprocess.run([sys.executable, "-m", "tickscope.gui.launcher", "demo", "tickless-idle"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "no display" in p.stderr and "--video" in p.stderr and "Traceback" not in p.stderr


def test_ctrl_c_stops_a_playing_demo_with_exit_130(tmp_path):
    # Ctrl+C printed a KeyboardInterrupt traceback from a Qt slot and the demo went on
    import signal
    import threading
    import time

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TICKSCOPE_CONFIG_DIR=str(tmp_path / "cfg"))
    p = subprocess.Popen([sys.executable, "-m", "tickscope.gui.launcher", "demo", "tickless-idle"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(p.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not err and p.poll() is None and time.monotonic() < deadline:   # the offscreen window shows
            time.sleep(0.1)
        time.sleep(3)   # the demo plays in the app's event loop
        assert p.poll() is None, "".join(err)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 130, "".join(err)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    reader.join(timeout=5)
    assert "Traceback" not in "".join(err)


@pytest.mark.parametrize("args", [["kvm.toml"], ["assets/presets/kvm.toml"], ["--preset", "kvm.toml"],
                                  ["--preset", "bare-metal-lapic", "--compare", "kvm.toml"],
                                  ["--preset", "bare-metal-lapic", "--compare", "assets/presets/kvm.toml"]])
def test_a_shipped_preset_file_is_named_from_any_directory_as_run_does(tmp_path, monkeypatch, args):
    # `tickscope run kvm.toml` ran the preset from any directory; `tickscope gui kvm.toml` said "no such file"
    from tickscope.gui import app

    monkeypatch.chdir(tmp_path)
    a, b, _rec, _until, _size = app._prepare(app.build_parser().parse_args(args))
    assert "kvm" in {a.name, b.name if b is not None else None}


def test_a_recording_given_to_compare_is_named_as_one(tmp_path, monkeypatch):
    # it was read as TOML: "--compare: r.tickrec:1: not UTF-8 text (byte 0x85); scenarios are UTF-8 TOML"
    from tickscope.gui import app
    from tickscope.sim.errors import InputError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.tickrec").write_bytes(b"PK\x03\x04\x85\x00")
    with pytest.raises(InputError, match=r"--compare: r\.tickrec: is a recording; run B is a preset or a scenario"):
        app._prepare(app.build_parser().parse_args(["--preset", "kvm", "--compare", "r.tickrec"]))


def test_an_unreachable_x_display_is_a_clear_error_not_a_qt_abort(tmp_path):
    # a stale DISPLAY (no X server there, ssh without X forwarding): Qt aborted with exit 134 and "xcb-cursor0 ...
    # is needed" although it was installed, for the window and for --screenshot, export and --video alike
    import ctypes.util

    if not ctypes.util.find_library("xcb"):
        pytest.skip("no libxcb to ask the display with")
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(DISPLAY=":987", TICKSCOPE_CONFIG_DIR=str(tmp_path / "cfg"))

    def tickscope(*args):
        return subprocess.run([sys.executable, "-m", "tickscope.gui.launcher", *args], env=env, capture_output=True,
                              text=True, timeout=180, cwd=tmp_path)

    for args, what in ((["--preset", "pit-only"], "tickscope gui"), (["demo", "reachout-2007"], "the demo")):
        p = tickscope(*args)
        assert p.returncode == 2, (what, p.returncode, p.stderr[-500:])
        assert "cannot connect to the X display ':987'" in p.stderr and p.stderr.count("\n") == 1, what
    p = tickscope("gui", "--preset", "pit-only", "--run-until", "50ms", "--screenshot", "s.png")
    assert p.returncode == 0 and (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = tickscope("run", "--preset", "pit-only", "--until", "50ms", "-o", "r.tickrec")
    assert p.returncode == 0, p.stderr
    p = tickscope("export", "r.tickrec", "--png", "r.png")
    assert p.returncode == 0 and (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p.stderr[-500:]
