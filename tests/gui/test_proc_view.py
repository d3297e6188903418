"""Proc files panel: the simulated kernel's /proc/timer_list and /proc/interrupts where a run stopped."""
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


def test_a_recording_says_the_files_need_a_run(qtbot, tmp_path):
    from tickscope.gui.recording_actions import open_recording_from, save_recording_to

    win = _window(qtbot)
    saved = tmp_path / "a.tickrec"
    assert save_recording_to(win, saved)
    assert open_recording_from(win, saved)
    view = win.proc_view
    assert view.files() == {} and view.status.text() == RECORDING and not view.save_button.isEnabled()
    assert view.shown() == ""
    win.close()


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
