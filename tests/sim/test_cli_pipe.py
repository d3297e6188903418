"""A reader that closes the pipe early (`tickscope ... | head -1`) is not bad input."""
import io

import pytest

from tickscope.sim.cli import main


class _ClosedPipe(io.TextIOBase):
    """stdout whose reader has gone: every write fails as a closed pipe does."""

    def writable(self):
        return True

    def write(self, s):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv", [["presets"], ["run", "--preset", "pit-only", "--until", "50ms", "--json"],
                                  ["interrupts", "--preset", "bare-metal-hpet-c3", "--until", "50ms"]])
def test_a_closed_stdout_pipe_exits_0_without_an_error_line(monkeypatch, capsys, argv):
    monkeypatch.setattr("sys.stdout", _ClosedPipe())
    assert main(argv) == 0
    assert "error" not in capsys.readouterr().err   # (pit-only notes that NO_HZ is unavailable: not an error)
