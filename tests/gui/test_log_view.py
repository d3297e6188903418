import pytest
from PySide6.QtGui import QFontInfo

from tickscope.gui.log_view import KernelLogView, line_time_cpu
from tickscope.sim import analysis, scenario, simulation


@pytest.fixture(scope="module")
def run():
    res = simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["run.until=100ms"]),
                              engine="reference")
    return res, analysis.summarize(res)


def test_log_view_shows_the_kernel_log_read_only(qtbot, run):
    res, summ = run
    view = KernelLogView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    assert view.text.toPlainText().splitlines() == analysis.kernel_log(res)
    assert view.text.isReadOnly()
    assert QFontInfo(view.text.font()).fixedPitch()


def test_search_counts_and_steps_through_matches(qtbot, run):
    res, summ = run
    view = KernelLogView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    lines = analysis.kernel_log(res)
    expected = sum(line.count("max_idle_ns") for line in lines)
    view.set_search("max_idle_ns")
    assert view.match_count() == expected > 1
    assert "match" in view.match_label.text()
    seen = []
    for _ in range(expected):
        assert view.find_next()
        seen.append(view.current_line())
    assert sorted(set(seen)) == [i for i, line in enumerate(lines) if "max_idle_ns" in line]


def test_no_match_finds_nothing(qtbot, run):
    res, summ = run
    view = KernelLogView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    view.set_search("no such text anywhere")
    assert view.match_count() == 0 and not view.find_next()


def test_printk_line_gives_time_and_cpu():
    assert line_time_cpu("[    1.234567] Switched to high resolution mode on CPU 3") == (1_234_567_000, 3)
    assert line_time_cpu("[    0.000023] tsc: Detected 2400.000 MHz processor") == (23_000, 0)
    assert line_time_cpu("no stamp") is None
