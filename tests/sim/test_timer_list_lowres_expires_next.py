"""/proc/timer_list's .expires_next while high-res is off: hrtimer_cpu_base.expires_next as the kernel keeps it.

kernel/time/hrtimer.c (4.16+): hrtimer_start -> hrtimer_reprogram stores a locally started first timer's expiry in
cpu_base->expires_next when it is earlier, whether or not high-res is active (only the device programming is
skipped); low-res expiry (hrtimer_run_queues) removes timers without reprogramming, so the value stays at the
earliest such expiry. It is KTIME_MAX only on a CPU that never started an hrtimer.
"""
import re

import pytest

from tickscope.sim.cli import main

KTIME_MAX = 2**63 - 1
LOWRES = ["--set", "kernel.highres=false"]


def _expires_next(capsys, *argv):
    assert main(["timer-list", *argv]) == 0
    text = capsys.readouterr().out
    return ([int(x) for x in re.findall(r"\.expires_next   : (\d+) nsecs", text)],
            [int(x) for x in re.findall(r"\.hres_active    : (\d)", text)])


@pytest.mark.parametrize("at", ["10ms", "1s"])
def test_lowres_expires_next_holds_the_first_user_timer_expiry(capsys, at):
    # bare-metal-hpet-c3 runs a 25 ms periodic user timer on every CPU: its first expiry is 25 000 000 ns,
    # pending at 10 ms, long past at 1 s, and no later start is earlier
    nexts, hres = _expires_next(capsys, "--preset", "bare-metal-hpet-c3", "--at", at, *LOWRES)
    assert hres == [0, 0, 0, 0] and nexts == [25_000_000] * 4


def test_lowres_expires_next_follows_the_timer_period(capsys):
    nexts, _ = _expires_next(capsys, "--preset", "bare-metal-hpet-c3", "--at", "300ms", *LOWRES, "--set",
                             'workload.timers=[{kind="periodic", period="7ms"}]', "--engine", "reference")
    assert nexts == [7_000_000] * 4


def test_a_cpu_that_never_started_an_hrtimer_keeps_ktime_max(capsys):
    nexts, hres = _expires_next(capsys, "--preset", "pit-only", "--at", "1s")
    assert hres == [0] and nexts == [KTIME_MAX]
