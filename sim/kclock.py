"""The kernel's timekeeping arithmetic, reproduced exactly in Python integers.

The one public module for the kernel math: shared constants, tick constants and
counter reads (:mod:`tickscope.sim.kclock_base`), clocksource registration
(:mod:`tickscope.sim.clocksource_registration`), clock event devices and x86 timers
(:mod:`tickscope.sim.clockevents_math`) and the shared paravirtual clock library
(:mod:`tickscope.sim.pvclock`).  Import everything from here.
"""
from tickscope.sim.kclock_base import *  # noqa: F401,F403
from tickscope.sim.kclock_base import _check_positive, _check_uint  # noqa: F401
from tickscope.sim.clocksource_registration import *  # noqa: F401,F403
from tickscope.sim.clockevents_math import *  # noqa: F401,F403
from tickscope.sim.pvclock import *  # noqa: F401,F403
