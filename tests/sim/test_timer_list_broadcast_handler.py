"""The broadcast device's event_handler in /proc/timer_list, as kernel/time/tick-broadcast.c leaves it.

tick_broadcast_setup_oneshot installs tick_handle_oneshot_broadcast at the first oneshot switch;
tick_broadcast_start_periodic installs tick_handle_periodic_broadcast once tick_broadcast_mask is non-empty in
periodic mode. tick_install_broadcast_device itself sets no handler, so a device that is never started keeps the
one it had: on x86 the HPET (or PIT) was CPU 0's tick device from time_init until the local APIC timer replaced
it (tick_setup_periodic -> tick_handle_periodic); ce_broadcast_hrtimer never had one (%ps of NULL: 0x0).
"""
import pytest

from tickscope.sim.cli import main

PERIODIC = ["--set", 'kernel.nohz="off"', "--set", "kernel.highres=false"]


def _broadcast_section(capsys, preset, *sets):
    assert main(["timer-list", "--preset", preset, "--at", "500ms", *sets]) == 0
    text = capsys.readouterr().out
    return text[text.index("Broadcast device\n"):text.index("tick_broadcast_mask:")]


# without an HPET the PIT registers only where the LAPIC timer might need it (no TSC-deadline here)
@pytest.mark.parametrize("sets, name", [((), "hpet"),
                                        (("--set", "machine.hpet=false", "--set", "machine.tsc_deadline=false"), "pit")])
def test_an_unused_broadcast_device_of_a_periodic_kernel_keeps_its_boot_tick_handler(capsys, sets, name):
    # no C-state stops the LAPIC timer: the mask stays empty, the device stays shut down as installed
    sec = _broadcast_section(capsys, "bare-metal-lapic", *PERIODIC, *sets)
    assert f"Clock Event Device: {name}\n" in sec
    assert " mode:           1\n next_event:     9223372036854775807 nsecs\n" in sec
    assert " event_handler:  tick_handle_periodic\n" in sec


def test_an_unused_hrtimer_broadcast_has_no_handler(capsys):
    sec = _broadcast_section(capsys, "bare-metal-hpet-c3", *PERIODIC, "--set", "machine.arat=true",
                             "--set", 'machine.broadcast="hrtimer"')
    assert "Clock Event Device: bc_hrtimer\n" in sec and " event_handler:  0x0\n" in sec


def test_a_started_periodic_broadcast_and_a_oneshot_one_have_their_handlers(capsys):
    sec = _broadcast_section(capsys, "bare-metal-hpet-c3", *PERIODIC)        # C3 stops the LAPIC: mask f
    assert " mode:           2\n" in sec and " event_handler:  tick_handle_periodic_broadcast\n" in sec
    sec = _broadcast_section(capsys, "bare-metal-lapic")                    # oneshot switch, mask empty
    assert " mode:           1\n" in sec and " event_handler:  tick_handle_oneshot_broadcast\n" in sec
