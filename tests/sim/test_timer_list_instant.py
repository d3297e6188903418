"""/proc/timer_list is one instant: what it lists is queued at "now at", and nothing in it is later.

The kernel's print_cpu walks each clock base's timerqueue (every queued hrtimer, in expiry order), reads
``now`` first, and tick_sched's times are of events that already happened.  ``last_tick`` is written only when
the tick stops (tick_nohz_stop_tick), so a running tick shows the expiry it stopped at last time.
"""
import re

from tickscope.sim.cli import main


def _timer_list(capsys, preset, *sets, at="1500ms"):
    argv = ["timer-list", "--preset", preset, "--at", at]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    return capsys.readouterr().out


def _cpu_blocks(text):
    blocks = re.split(r"\ncpu: (\d+)\n", text)
    return {int(blocks[i]): blocks[i + 1].split("\nTick Device")[0] for i in range(1, len(blocks) - 1, 2)}


def _field(block, name):
    return int(re.search(rf"\.{name}\s*: (-?\d+)", block).group(1))


def _clock0_callbacks(block):
    clock0 = block.split(" clock 1:")[0]
    return re.findall(r"#\d+: <[0-9a-f]+>, (\w+), S:01", clock0)


def _expiries(block):
    clock0 = block.split(" clock 1:")[0]
    return [int(x) for x in re.findall(r"# expires at \d+-(\d+) nsecs", clock0)]


def test_no_idle_time_is_after_now(capsys):
    # bare-metal-hpet-c3 at 1.5 s: the run's end used to deliver in-flight C-state exits ~70 us later, and
    # .idle_entrytime / .idle_exittime read 1500070884 beside "now at 1500000000"
    for at in ("500ms", "1500ms"):
        text = _timer_list(capsys, "bare-metal-hpet-c3", at=at)
        now = int(re.search(r"now at (\d+) nsecs", text).group(1))
        for cpu, block in _cpu_blocks(text).items():
            for name in ("idle_entrytime", "idle_waketime", "idle_exittime", "last_tick"):
                assert _field(block, name) <= now, (at, cpu, name)


KTIME_MAX = 2**63 - 1
#: Instants of bare-metal-hpet-c3 (a mixed load) to look for a CPU in a given state at
INSTANTS = ("1490ms", "1210ms", "1730ms", "910ms", "1970ms")


def _cpus_at_instants(capsys, preset="bare-metal-hpet-c3"):
    for at in INSTANTS:
        yield from _cpu_blocks(_timer_list(capsys, preset, at=at)).values()


def test_user_timers_are_listed_with_the_tick_in_expiry_order(capsys):
    # bare-metal-hpet-c3: a CPU that ticks (busy) has its sched_timer and its user timer queued, in expiry order
    ticking = [b for b in _cpus_at_instants(capsys) if _field(b, "tick_stopped") == 0]
    assert ticking
    for block in ticking:
        assert sorted(_clock0_callbacks(block)) == ["hrtimer_wakeup", "tick_nohz_handler"]
        assert _expiries(block) == sorted(_expiries(block))


def test_a_stopped_tick_in_high_res_mode_leaves_the_hrtimers_to_themselves(capsys):
    # CPU 0 sleeps with the tick stopped and only its 25 ms user timer queued.  In high-res mode the tick stop
    # asks get_next_timer_interrupt, which looks at timer-wheel timers only, so the sched_timer is cancelled:
    # .next_timer and .idle_expires read KTIME_MAX, as cpu 1 of the real guest's /proc/timer_list shows beside
    # its queued hrtimer_wakeup, and the user timer programs the device by itself (it was re-queued at the
    # user timer, and its wake-up ran the tick handler and could take the do_timer duty)
    # (the CPU that last held the do_timer duty caps its sleep at max_idle_ns instead: left out here)
    stopped = [b for b in _cpus_at_instants(capsys) if _field(b, "tick_stopped") == 1
               and _field(b, "idle_expires") == KTIME_MAX]
    assert stopped
    for sleeping in stopped:
        assert _clock0_callbacks(sleeping) == ["hrtimer_wakeup"]
        assert _field(sleeping, "next_timer") == KTIME_MAX


def test_laptop_timers_wake_through_listed_hrtimers(capsys):
    # laptop-deep-idle: idle CPUs with the tick stopped; their sleep ends at a user timer (.idle_expires)
    blocks = _cpu_blocks(_timer_list(capsys, "laptop-deep-idle", at="1500ms"))
    stopped = [b for b in blocks.values() if _field(b, "tick_stopped") == 1]
    assert stopped
    for block in stopped:
        callbacks = _clock0_callbacks(block)
        assert "hrtimer_wakeup" in callbacks
        if "tick_nohz_handler" in callbacks:
            # tick_nohz_stop_tick re-queues the sched_timer at the sleep's end (cancels it for KTIME_MAX)
            assert _expiries(block)[callbacks.index("tick_nohz_handler")] == _field(block, "idle_expires")


def test_the_broadcast_hrtimer_is_queued_on_the_cpu_holding_it(capsys):
    text = _timer_list(capsys, "bare-metal-hpet-c3", 'machine.broadcast="hrtimer"')
    holders = [cpu for cpu, block in _cpu_blocks(text).items() if "bc_handler" in _clock0_callbacks(block)]
    assert len(holders) == 1
    # ce_broadcast_hrtimer has set_next_ktime, no set_next_event: %ps prints the NULL pointer as 0x0
    bc = text.split("Broadcast device")[1].split("tick_broadcast_mask")[0]
    assert "bc_hrtimer" in bc and " set_next_event: 0x0\n" in bc and "bc_set_next" not in bc


def test_the_broadcast_hrtimer_has_one_address_on_whichever_cpu_holds_it(capsys):
    # bctimer is one static hrtimer (tick-broadcast-hrtimer.c): its hashed %p is the same on every CPU it moves
    # to, where a task's timers and the sched_timer are per CPU
    seen = {}
    for at in ("1s", "1300ms", "2s"):
        text = _timer_list(capsys, "laptop-deep-idle", "machine.arat=false", 'machine.broadcast="hrtimer"',
                           "machine.cpus=3", at=at)
        for cpu, block in _cpu_blocks(text).items():
            seen.update({cpu: m for m in re.findall(r"<([0-9a-f]{16})>, bc_handler,", block)})
    assert len(seen) >= 2, seen                 # it moved between CPUs over these instants
    assert len(set(seen.values())) == 1, seen


def test_a_running_tick_shows_the_last_tick_of_its_last_stop(capsys):
    # busy CPUs never stop their tick: last_tick stays 0 (it was printed as the next expiry minus a tick)
    text = _timer_list(capsys, "bare-metal-hpet-c3", 'workload.kind="busy"')
    for block in _cpu_blocks(text).values():
        assert _field(block, "tick_stopped") == 0
        assert _field(block, "last_tick") == 0


def test_idle_waketime_is_an_interrupt_entry_with_the_tick_stopped(capsys):
    # tick_nohz_irq_enter sets it (tick_nohz_update_jiffies) only while the tick is stopped: with NO_HZ off
    # a CPU leaves idle many times and never records a wake time, nor an exit time (tick_nohz_idle_exit sets
    # .idle_exittime only for a stopped tick, in tick_nohz_account_idle_time)
    text = _timer_list(capsys, "bare-metal-hpet-c3", 'kernel.nohz="off"', at="1s")
    for block in _cpu_blocks(text).values():
        assert _field(block, "idle_exittime") == 0
        assert _field(block, "idle_waketime") == 0
        assert _field(block, "idle_sleeptime") > 0   # it did leave idle many times
    # with NO_HZ idle the CPUs sleep with the tick stopped and are woken by interrupts: a wake time before now
    text = _timer_list(capsys, "laptop-deep-idle", at="1s")
    now = int(re.search(r"now at (\d+) nsecs", text).group(1))
    for block in _cpu_blocks(text).values():
        assert 0 < _field(block, "idle_waketime") <= now


def test_last_jiffies_and_next_timer_are_each_cpus_own_record_of_its_last_idle_entry(capsys):
    # tick_nohz_next_event stores ts->last_jiffies (jiffies then) and ts->next_timer per CPU: the real guest's
    # file shows 4296368004 and 4296368002 on its two CPUs.  They were the global jiffies and a next timer
    # recomputed at the read; a kernel that never went tickless (nohz off) shows 0 for both
    text = _timer_list(capsys, "bare-metal-hpet-c3", at="1490ms")
    jiffies = int(re.search(r"\njiffies: (\d+)", text).group(1))
    blocks = _cpu_blocks(text)
    last = {cpu: _field(b, "last_jiffies") for cpu, b in blocks.items()}
    assert all(0 < v <= jiffies for v in last.values()) and len(set(last.values())) > 1, last
    for block in blocks.values():
        if _field(block, "tick_stopped"):
            assert _field(block, "idle_expires") <= _field(block, "next_timer") or _field(block, "next_timer") == 2**63 - 1
    off = _cpu_blocks(_timer_list(capsys, "bare-metal-lapic", at="500ms"))
    assert all(_field(b, "last_jiffies") == 0 and _field(b, "next_timer") == 0 for b in off.values())


def test_idle_jiffies_is_zero_on_a_cpu_that_never_stopped_its_tick(capsys):
    # ts->idle_jiffies is written only when the tick stops (the jiffies then) and counted on while stopped; a
    # CPU that never stopped it (nohz off, a periodic PIT) prints 0 from the zeroed tick_sched, as .last_jiffies
    # does, not INITIAL_JIFFIES (4294937296 at HZ=100, 4294892296 at HZ=250)
    for preset in ("pit-only", "bare-metal-lapic"):
        blocks = _cpu_blocks(_timer_list(capsys, preset, at="500ms"))
        assert all(_field(b, "idle_jiffies") == 0 and _field(b, "idle_calls") == 0 for b in blocks.values())
    # a CPU that stopped its tick shows the jiffies of its stop: past INITIAL_JIFFIES, at most jiffies now
    text = _timer_list(capsys, "bare-metal-hpet-c3", 'workload.kind="idle"', "workload.timers=[]", at="1490ms")
    jiffies = int(re.search(r"\njiffies: (\d+)", text).group(1))
    stopped = [_field(b, "idle_jiffies") for b in _cpu_blocks(text).values() if _field(b, "idle_sleeps")]
    assert stopped and all(4294892296 < v <= jiffies for v in stopped), (stopped, jiffies)


def test_the_broadcast_mask_fills_when_the_cpus_are_offered_their_c_states(capsys):
    # bare-metal-hpet-c3 (no ARAT): the idle driver turns the broadcast on for a CPU when it offers it C3, after the
    # CPU's first tick (4 ms) switched it to oneshot (engine semantics 18).  At 2 ms every LAPIC still ticks
    # periodically by itself, so the mask is empty and the HPET keeps its boot handler (it read mask f with the
    # LAPICs periodic and the HPET shut down: tick_broadcast_control would have shut those LAPICs down)
    early = _timer_list(capsys, "bare-metal-hpet-c3", at="2ms")
    bc = early.split("Broadcast device")[1]
    assert "tick_broadcast_mask: 0\n" in bc and "event_handler:  tick_handle_periodic\n" in bc
    late = _timer_list(capsys, "bare-metal-hpet-c3", at="10ms")
    bc = late.split("Broadcast device")[1]
    assert "tick_broadcast_mask: f\n" in bc and "event_handler:  tick_handle_oneshot_broadcast\n" in bc


def test_a_tick_that_stays_periodic_has_the_broadcast_and_c_states_from_the_start(capsys):
    # nohz off, no high-res: the CPUs never switch to oneshot, so the periodic broadcast ticks for them from t = 0
    # and their C-states are offered from t = 0 too (the driver registered during the boot)
    sets = ['kernel.nohz="off"', "kernel.highres=false"]
    bc = _timer_list(capsys, "bare-metal-hpet-c3", *sets, at="2ms").split("Broadcast device")[1]
    assert "tick_broadcast_mask: f\n" in bc and "event_handler:  tick_handle_periodic_broadcast\n" in bc
