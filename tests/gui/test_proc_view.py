"""Proc files panel: the simulated kernel's /proc/timer_list and /proc/interrupts where a run stopped."""
import time

from tickscope.gui.main_window import MainWindow
from tickscope.gui.proc_view import RECORDING
from tickscope.sim import scenario as scen
from tickscope.sim.cli import main

SETS = ["run.until=\"300ms\""]


def _window(qtbot):
    win = MainWindow(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), SETS), engine="cython", persistent=False)
    qtbot.addWidget(win)
    win.show()
    win.run_to_end()
    return win


def test_the_panel_shows_what_the_cli_prints_for_the_same_run(qtbot, capsys):
    win = _window(qtbot)
    view = win.proc_view
    assert list(view.files()) == ["/proc/timer_list (v0.10)", "/proc/timer_list (v0.9)", "/proc/interrupts"]
    assert main(["interrupts", "--preset", "bare-metal-hpet-c3", "--set", SETS[0]]) == 0
    assert view.files()["/proc/interrupts"] == capsys.readouterr().out
    assert view.shown().startswith("Timer List Version: v0.10\n")
    view.choice.setCurrentText("/proc/timer_list (v0.9)")
    assert view.shown().startswith("Timer List Version: v0.9\n") and ".nohz_mode      : 2" in view.shown()
    assert "read where the run stopped" in view.status.text() and view.save_button.isEnabled()
    win.close()


def test_the_timer_list_is_the_one_the_cli_prints_where_the_run_ended(qtbot, capsys):
    # read after the end delivered the interrupts in flight, the panel showed a C-state exit's idle times past
    # "now at" (and one more nr_events) where `tickscope timer-list --at 300ms` shows the CPU still asleep
    win = _window(qtbot)
    files = win.proc_view.files()
    for fmt in ("v0.10", "v0.9"):
        assert main(["timer-list", "--preset", "bare-metal-hpet-c3", "--set", SETS[0], "--at", "300ms",
                     "--format", fmt]) == 0
        assert files[f"/proc/timer_list ({fmt})"] == capsys.readouterr().out
    assert main(["interrupts", "--preset", "bare-metal-hpet-c3", "--set", SETS[0]]) == 0
    assert files["/proc/interrupts"] == capsys.readouterr().out
    win.close()


def test_the_status_names_the_instant_timer_list_reads(qtbot):
    # the end delivered interrupts in flight until 300.07 ms, but the files are read where the kernel's clock read
    # the end ("now at 300000014 nsecs": the first TSC read at or past it); the status said "(300.073 ms simulated)"
    win = _window(qtbot)
    assert win.results.meta["now_ns"] > 300_050_000
    assert "now at 300000014 nsecs" in win.proc_view.files()["/proc/timer_list (v0.10)"]
    assert win.proc_view.status.text() == "read where the run stopped (300.000 ms simulated)"
    win.close()


def test_save_writes_the_file_on_show(qtbot, tmp_path):
    win = _window(qtbot)
    win.proc_view.choice.setCurrentText("/proc/interrupts")
    path = tmp_path / "interrupts.txt"
    win.proc_view.save(path)
    assert path.read_text() == win.proc_view.shown() and "LOC:" in path.read_text()
    win.close()


def test_a_recording_says_the_files_need_a_run_or_a_reading(qtbot, tmp_path):
    from tickscope.gui.proc_view import RECORDING_READABLE
    from tickscope.gui.recording_actions import open_recording_from, save_recording_to

    win = _window(qtbot)
    saved = tmp_path / "a.tickrec"
    assert save_recording_to(win, saved)
    assert open_recording_from(win, saved)
    view = win.proc_view
    assert view.files() == {} and view.status.text() == RECORDING_READABLE and not view.save_button.isEnabled()
    assert view.shown() == "" and view.read_button.isEnabled()
    win.close()


def test_a_recording_of_another_model_version_cannot_be_read(qtbot, tmp_path, monkeypatch):
    from tickscope.gui import main_window
    from tickscope.gui.recording_actions import open_recording_from, save_recording_to

    win = _window(qtbot)
    saved = tmp_path / "a.tickrec"
    assert save_recording_to(win, saved)
    monkeypatch.setattr(main_window, "SEMANTICS", main_window.SEMANTICS + 1)   # recorded by an older model
    assert open_recording_from(win, saved)
    view = win.proc_view
    assert view.status.text() == RECORDING and not view.read_button.isEnabled() and not view.at_edit.isEnabled()
    win.close()


def test_a_recording_is_read_at_an_instant_as_the_cli_reads_its_scenario(qtbot, tmp_path, capsys):
    """A recording keeps no kernel state; Read at simulates its scenario again (its seed, its engine) to the instant,
    so the text is what `tickscope timer-list --at` prints for that run, here with a seed typed for the recording."""
    from tickscope.gui.recording_actions import open_recording_from, save_recording_to

    win = MainWindow(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), SETS), engine="cython", persistent=False)
    qtbot.addWidget(win)
    win.show()
    win.controller.set_seed(7)
    win.run_to_end()
    saved = tmp_path / "seed7.tickrec"
    assert save_recording_to(win, saved)
    win.controller.set_seed(None)
    assert open_recording_from(win, saved)
    view = _read_typed(qtbot, win, "137.5ms")
    qtbot.waitUntil(lambda: view.shown_at() == 137_500_000, timeout=10000)
    want = {}
    for title, argv in (("/proc/timer_list (v0.10)", ["timer-list", "--format", "v0.10"]),
                        ("/proc/timer_list (v0.9)", ["timer-list", "--format", "v0.9"]),
                        ("/proc/interrupts", ["interrupts"])):
        assert main([*argv, "--preset", "bare-metal-hpet-c3", "--set", SETS[0], "--seed", "7", "--at", "137.5ms",
                     "--engine", "cython"]) == 0
        want[title] = capsys.readouterr().out
    assert view.files() == want
    assert view.status.text() == ("read at 137.500 ms simulated (the recording's scenario simulated again to there; "
                                  "it was recorded to 300.000 ms)")
    assert _cli_seed_differs(capsys, want)
    win.close()


def _cli_seed_differs(capsys, files) -> bool:
    """The seed matters here: seed 1's files at the instant are not seed 7's (else the test above proves nothing)."""
    assert main(["interrupts", "--preset", "bare-metal-hpet-c3", "--set", SETS[0], "--at", "137.5ms",
                 "--engine", "cython"]) == 0
    return capsys.readouterr().out != files["/proc/interrupts"]


def test_a_hidden_panel_lays_its_text_out_when_shown(qtbot):
    win = _window(qtbot)
    view = win.proc_view
    # behind the Histograms tab: the text waits
    assert view.text.toPlainText() == "" and view.shown().startswith("Timer List Version")
    win.docks["Proc files"].raise_()
    qtbot.waitUntil(lambda: view.text.toPlainText().startswith("Timer List Version: v0.10\n"), timeout=3000)
    win.docks["Histograms"].raise_()
    win.run_until(400_000_000)
    qtbot.waitUntil(lambda: win.controller.state() in ("done", "paused"), timeout=10000)
    assert "now at 4000" in view.shown() and "now at 4000" not in view.text.toPlainText()
    win.close()


# -- "Read at": the files at an instant of the run, simulated again to there ------------------------------------

def _cli_files(capsys, at: str) -> dict[str, str]:
    """What `tickscope timer-list --at` (both layouts) and `interrupts --at` print for the panel's run."""
    out = {}
    for title, argv in (("/proc/timer_list (v0.10)", ["timer-list", "--format", "v0.10"]),
                        ("/proc/timer_list (v0.9)", ["timer-list", "--format", "v0.9"]),
                        ("/proc/interrupts", ["interrupts"])):
        assert main([*argv, "--preset", "bare-metal-hpet-c3", "--set", SETS[0], "--at", at, "--engine", "cython"]) == 0
        out[title] = capsys.readouterr().out
    return out


def _read_typed(qtbot, win, text: str):
    from PySide6.QtCore import Qt

    view = win.proc_view
    win.docks["Proc files"].raise_()
    view.at_edit.clear()
    qtbot.keyClicks(view.at_edit, text)
    qtbot.keyClick(view.at_edit, Qt.Key_Return)
    return view


def test_reading_at_an_instant_shows_what_the_cli_prints_there(qtbot, capsys):
    win = _window(qtbot)
    view = _read_typed(qtbot, win, "137.5ms")
    qtbot.waitUntil(lambda: view.shown_at() == 137_500_000, timeout=10000)
    assert view.files() == _cli_files(capsys, "137.5ms")
    assert "now at 1375" in view.shown()
    assert view.status.text() == ("read at 137.500 ms simulated (the run simulated again to there; it stopped at "
                                  "300.000 ms)")
    assert not view.progress.isVisible() and not view.error.isVisible() and view.end_button.isEnabled()
    win.close()


def test_the_reading_says_how_far_it_got_and_its_instant_to_the_ns(qtbot):
    from tickscope.gui.proc_reading import PROGRESS_EVERY_S

    win = _window(qtbot)
    view = win.proc_view
    seen = []
    win.controller.proc_read_progress.connect(lambda now, at: seen.append((now, at)))
    t0 = time.perf_counter()
    assert view.read_at(200_000_007)
    assert view.progress.format() == "reading at 200.000007 ms… %p%" and not view.progress.isHidden()
    qtbot.waitUntil(lambda: view.shown_at() == 200_000_007, timeout=10000)
    assert seen and all(at == 200_000_007 and now <= at + 1_000_000 for now, at in seen)
    # at most every PROGRESS_EVERY_S: each repaints the bar at once, and 200 of them stalled the window
    assert len(seen) <= (time.perf_counter() - t0) / PROGRESS_EVERY_S + 1
    assert view.status.text().startswith("read at 200.000007 ms simulated")
    win.close()


def test_a_bad_instant_is_said_beside_the_field_and_nothing_is_read(qtbot):
    win = _window(qtbot)
    view = win.proc_view
    before = view.files()
    cases = {"abc": "read at: 'abc' is not a duration; write a number and a unit: ns, us, ms or s",
             "-5ms": "read at: -5ms is before boot: allowed 1ns..300ms (where the run stopped)",
             "0": "read at: 0 is boot itself: allowed 1ns..300ms (where the run stopped)",
             "300000001ns": "read at: 300000001ns is past where the run stopped (300ms): allowed 1ns..300ms; to "
                            "read later, run further first (Run until)",
             "": "read at: give a time, e.g. 1.5s or 250ms; allowed 1ns..300ms"}
    for text, message in cases.items():
        _read_typed(qtbot, win, text)
        assert view.error.text().startswith(message), text
        assert not view.error.isHidden() and "d22" in view.at_edit.styleSheet()
        assert win.controller.proc_read_at() is None and view.reading_at() is None
        assert view.files() == before and view.status.text() == "read where the run stopped (300.000 ms simulated)"
    qtbot.keyClicks(view.at_edit, "1")   # typing again takes the message away
    assert view.error.isHidden() and view.at_edit.styleSheet() == ""
    win.close()


def test_nothing_can_be_read_before_a_run(qtbot):
    win = MainWindow(scen.preset("bare-metal-hpet-c3"), engine="cython", persistent=False)
    qtbot.addWidget(win)
    view = win.proc_view
    assert view.status.text() == "read at boot (0 ns simulated): no run yet (F5 runs the scenario)"
    assert not view.at_edit.isEnabled() and not view.read_button.isEnabled()
    assert not view.read_typed() and view.error.text() == "read at: no run to read yet: run the scenario (F5) first"
    win.close()


def test_a_reading_that_fails_says_why_beside_the_field(qtbot, monkeypatch):
    from tickscope.sim import snapshot
    from tickscope.sim.errors import InputError

    def refuse(*_a, **_k):
        raise InputError("machine.cpus: 0 is out of range")
    monkeypatch.setattr(snapshot, "proc_files_at", refuse)
    win = _window(qtbot)
    view = win.proc_view
    end = view.files()
    view.read_at(100_000_000)
    qtbot.waitUntil(lambda: view.reading_at() is None, timeout=10000)
    assert view.error.text() == "read at 100.000 ms: machine.cpus: 0 is out of range" and not view.error.isHidden()
    assert view.files() == end and view.progress.isHidden() and view.shown_at() == 300_000_000
    win.close()


def test_at_the_end_brings_back_the_files_where_the_run_stopped(qtbot):
    win = _window(qtbot)
    view = win.proc_view
    end = view.files()
    assert not view.end_button.isEnabled()
    view.read_at(100_000_000)
    qtbot.waitUntil(lambda: view.shown_at() == 100_000_000, timeout=10000)
    assert view.files() != end
    view.end_button.click()
    assert view.files() == end and view.shown_at() == 300_000_000
    assert view.status.text() == "read where the run stopped (300.000 ms simulated)"
    assert view.at_edit.text() == "" and not view.end_button.isEnabled()
    win.close()


def test_at_the_end_drops_a_reading_on_its_way(qtbot, monkeypatch):
    win = _window(qtbot)
    view = win.proc_view
    release = _blocked_reads(monkeypatch)
    end = view.files()
    view.read_at(100_000_000)
    assert view.end_button.isEnabled() and win.controller.proc_read_at() == 100_000_000
    view.end_button.click()
    assert win.controller.proc_read_at() is None and view.reading_at() is None and view.progress.isHidden()
    release.set()
    qtbot.wait(200)
    assert view.files() == end and view.shown_at() == 300_000_000
    win.close()


def _blocked_reads(monkeypatch):
    """Make every /proc reading wait for the returned event (then read as usual); the threads it ran in are
    listed in its ``threads``."""
    import threading

    from tickscope.sim import snapshot
    from tickscope.sim.simulation import Cancelled

    release = threading.Event()
    release.threads = []
    real = snapshot.proc_files_at

    def blocked(*args, **kwargs):
        release.threads.append(threading.current_thread())
        while not release.wait(0.02):
            if kwargs["cancel"]():
                raise Cancelled()
        return real(*args, **kwargs)
    monkeypatch.setattr(snapshot, "proc_files_at", blocked)
    return release


def test_the_reading_runs_off_the_gui_thread_and_the_window_answers_meanwhile(qtbot, monkeypatch):
    import threading

    from PySide6.QtCore import QTimer

    win = _window(qtbot)
    view = win.proc_view
    release = _blocked_reads(monkeypatch)
    end = view.files()
    view.read_at(150_000_000)   # returns at once: the reading waits in its thread
    fired = []
    QTimer.singleShot(10, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired and release.threads), timeout=3000)
    assert release.threads[0] is not threading.main_thread()
    assert view.reading_at() == 150_000_000 and not view.progress.isHidden()
    assert view.files() == end and view.status.text().startswith("read where the run stopped")   # until it is read
    release.set()
    qtbot.waitUntil(lambda: view.shown_at() == 150_000_000, timeout=10000)
    win.close()


def test_a_new_run_drops_the_reading_and_the_one_on_its_way(qtbot, monkeypatch):
    win = _window(qtbot)
    view = win.proc_view
    view.read_at(120_000_000)
    qtbot.waitUntil(lambda: view.shown_at() == 120_000_000, timeout=10000)
    win.set_seed(99)   # a new run: what was read at 120 ms was the last run's
    assert view.shown_at() == 0 and view.status.text().endswith("the reading at 120.000 ms was of the run before")
    win.run_to_end()
    assert view.shown_at() == 300_000_000 and not view.end_button.isEnabled()
    # a reading on its way when the scenario changes never shows
    release = _blocked_reads(monkeypatch)
    view.read_at(50_000_000)
    win.model.set_scenario(scen.apply_sets(win.model.scenario(), ["machine.cpus=2"]))
    assert view.reading_at() is None and win.controller.proc_read_at() is None and view.progress.isHidden()
    release.set()
    qtbot.wait(300)
    assert view.shown_at() == 0 and view.files()["/proc/timer_list (v0.10)"].count("\ncpu: ") == 2
    win.close()


def test_the_same_run_going_on_keeps_the_reading(qtbot):
    win = MainWindow(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), SETS), engine="cython", persistent=False)
    qtbot.addWidget(win)
    view, ctl = win.proc_view, win.controller
    for _ in range(3):   # paused at 30 ms
        ctl.step()
        qtbot.waitUntil(lambda: ctl.state() == "paused", timeout=10000)
    assert view.shown_at() == 30_000_000
    view.read_at(20_000_000)
    qtbot.waitUntil(lambda: view.shown_at() == 20_000_000, timeout=10000)
    reading = view.files()
    win.run_to_end()   # resumed, the same run: what it showed at 20 ms it still shows
    assert ctl.state() == "done"
    assert view.files() == reading and view.shown_at() == 20_000_000
    assert view.status.text().endswith("it stopped at 300.000 ms)")
    view.end_button.click()
    assert view.shown_at() == 300_000_000
    win.close()


def test_at_cursor_a_reads_where_the_cursor_stands(qtbot, capsys):
    win = _window(qtbot)
    view = win.proc_view
    assert not view.cursor_button.isEnabled()
    win.measure.set_cursor("A", 5_000_000_000)   # outside the run
    assert not view.cursor_button.isEnabled() and "outside the run" in view.cursor_button.toolTip()
    win.measure.set_cursor("A", 123_456_789)
    assert view.cursor_button.isEnabled()
    view.cursor_button.click()
    assert view.at_edit.text() == "123456789ns"
    qtbot.waitUntil(lambda: view.shown_at() == 123_456_789, timeout=10000)
    assert view.files() == _cli_files(capsys, "123456789ns")
    win.close()


def test_save_as_names_the_instant_read(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    win = _window(qtbot)
    view = win.proc_view
    view.read_at(1_500_000)
    qtbot.waitUntil(lambda: view.shown_at() == 1_500_000, timeout=10000)
    view.choice.setCurrentText("/proc/interrupts")
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: asked.append(a[2]) or ("", ""))
    view.save_button.click()
    assert asked == ["proc_interrupts_at_1500us.txt"]
    path = tmp_path / "i.txt"
    view.save(path)
    assert path.read_text() == view.files()["/proc/interrupts"]
    win.close()


def test_ctrl_alt_k_brings_the_read_at_field_up(qtbot):
    win = _window(qtbot)
    act = win.actions_by_name["proc_read_at"]
    assert act.shortcut().toString() == "Ctrl+Alt+K" and act in win.all_actions()
    act.trigger()
    qtbot.waitUntil(lambda: win.proc_view.at_edit.hasFocus() or win.focusWidget() is win.proc_view.at_edit,
                    timeout=3000)
    assert not win.docks["Proc files"].visibleRegion().isEmpty()
    win.close()
