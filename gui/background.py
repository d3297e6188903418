"""Work off the GUI thread that ends in a result or in a message for the user.

A :class:`BackgroundJob` runs :meth:`~BackgroundJob.work` in its own thread and signals ``done(result)``, or
``failed(message)``: an :class:`~tickscope.sim.errors.InputError`'s own text (bad input names what is wrong
and where), anything else by its type and text after :attr:`~BackgroundJob.failure_prefix`, so that nothing is
swallowed and no traceback reaches the user.  ``work`` returns :data:`NO_RESULT` for a job that ended without
one (cancelled): neither signal goes out.
"""
from __future__ import annotations

from PySide6 import QtCore

from tickscope.sim.errors import InputError

#: What :meth:`BackgroundJob.work` returns when the job ended without a result to give (it was cancelled).
NO_RESULT = object()


class BackgroundJob(QtCore.QThread):
    """A QThread that signals ``done(result)`` or ``failed(message)`` once :meth:`work` returns or raises."""

    done = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    #: put before the type and text of an unexpected exception (say what failed: "lib/: import failed: ")
    failure_prefix = ""

    def work(self):
        """The job, in the thread: its result, or :data:`NO_RESULT`."""
        raise NotImplementedError

    def run(self):
        try:
            result = self.work()
        except InputError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed
            self.failed.emit(f"{self.failure_prefix}{type(exc).__name__}: {exc}")
            return
        if result is not NO_RESULT:
            self.done.emit(result)
