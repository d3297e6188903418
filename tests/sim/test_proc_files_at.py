"""proc_files_at: the /proc files at an instant of a run, simulated again to there, as the CLI prints them."""
import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.errors import InputError
from tickscope.sim.simulation import ENGINES, Cancelled
from tickscope.sim.snapshot import TIMER_LIST_TITLES, proc_files_at

SETS = ['run.until="2s"', "run.seed=7"]


def _cli(capsys, *argv):
    assert main([*argv, "--preset", "bare-metal-hpet-c3", "--set", SETS[0], "--set", SETS[1]]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("engine", ENGINES)
def test_the_files_at_an_instant_are_what_the_cli_prints_there(engine, capsys):
    # 137.5 ms into a 2 s run: the run's length does not change what the kernel shows at 137.5 ms
    files = proc_files_at(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), SETS), 137_500_000, engine=engine)
    assert list(files) == [*TIMER_LIST_TITLES, "/proc/interrupts"]
    for title, fmt in zip(TIMER_LIST_TITLES, ("v0.10", "v0.9")):
        assert files[title] == _cli(capsys, "timer-list", "--at", "137.5ms", "--format", fmt, "--engine", engine)
    assert files["/proc/interrupts"] == _cli(capsys, "interrupts", "--at", "137.5ms", "--engine", engine)
    assert "now at 1375" in files[TIMER_LIST_TITLES[0]]


def test_a_seed_given_apart_from_the_scenario_is_the_one_read(capsys):
    sc = scen.preset("kvm")
    files = proc_files_at(sc, 50_000_000, seed=11)
    assert main(["interrupts", "--preset", "kvm", "--at", "50ms", "--seed", "11"]) == 0
    assert files["/proc/interrupts"] == capsys.readouterr().out


def test_progress_is_reported_and_a_cancel_stops_the_reading():
    seen = []
    with pytest.raises(Cancelled):
        proc_files_at(scen.preset("bare-metal-lapic"), 1_000_000_000,
                      on_progress=lambda now, at: seen.append((now, at)), cancel=lambda: len(seen) >= 3)
    assert len(seen) == 3 and all(at == 1_000_000_000 and 0 < now < at for now, at in seen)


@pytest.mark.parametrize("at_ns", [0, -1])
def test_an_instant_before_boot_is_refused_naming_it(at_ns):
    with pytest.raises(InputError, match=f"until: {at_ns} ns is out of range"):
        proc_files_at(scen.preset("bare-metal-lapic"), at_ns)
