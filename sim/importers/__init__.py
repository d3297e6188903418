"""Importers: read what a real Linux machine prints about its timers.

``/proc/timer_list`` (:func:`parse_timer_list`), dmesg (:func:`parse_dmesg`),
``/proc/interrupts`` (:func:`parse_interrupts`), ftrace/trace-cmd text
(:func:`parse_ftrace`), and :func:`infer_scenario`, which turns what they say
into a scenario that reproduces the machine.
"""
from tickscope.sim.importers.dmesg import parse_dmesg
from tickscope.sim.importers.ftrace import parse_ftrace
from tickscope.sim.importers.infer import infer_scenario
from tickscope.sim.importers.interrupts import parse_interrupts
from tickscope.sim.importers.timer_list import parse_timer_list

__all__ = ["parse_timer_list", "parse_dmesg", "parse_interrupts", "parse_ftrace", "infer_scenario"]
