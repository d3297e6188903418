"""A SCENARIO that is a device or a huge file is refused (one line, exit 2); a FIFO nobody writes to is not waited
on, and a pipe with a writer (a shell's process substitution) is read."""
import os
import threading

import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main


def _run(argv):
    """main(argv) in a thread, so that a read that blocks fails the test instead of hanging it."""
    result = {}
    t = threading.Thread(target=lambda: result.update(rc=main(argv)), daemon=True)
    t.start()
    t.join(20)
    return t, result


def test_a_fifo_nobody_writes_to_is_not_waited_on(tmp_path, capsys):
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    t, result = _run(["run", str(fifo), "--until", "1ms"])
    if t.is_alive():
        with open(fifo, "wb"):   # let the blocked reader go
            pass
        t.join(20)
        pytest.fail("reading a FIFO given as SCENARIO blocked")
    err = capsys.readouterr().err
    assert result["rc"] == 2 and "f.toml: a pipe nothing was written to" in err and err.count("\n") == 1, err


def test_a_pipe_with_a_writer_is_read_as_process_substitution_gives_it(tmp_path):
    # `tickscope run <(sed 's/hz = 250/hz = 1000/' kvm.toml)`: bash passes /dev/fd/63, a pipe its writer holds open
    r, w = os.pipe()
    text = scen.preset_text("kvm").encode()
    writer = threading.Thread(target=lambda: (os.write(w, text), os.close(w)), daemon=True)
    writer.start()
    try:
        assert scen.load(f"/proc/self/fd/{r}") == scen.preset("kvm")
    finally:
        os.close(r)
        writer.join(5)


def test_a_device_behind_a_symlink_is_refused(tmp_path, capsys):
    # /dev/zero was read until memory ran out; /dev/null (read as an empty scenario) shows the same check safely
    link = tmp_path / "z.toml"
    link.symlink_to("/dev/null")
    assert main(["run", str(link), "--until", "1ms"]) == 2
    err = capsys.readouterr().err
    assert "z.toml: not a regular file" in err and err.count("\n") == 1, err


def test_a_scenario_file_over_the_size_limit_is_refused(tmp_path, capsys):
    big = tmp_path / "big.toml"
    big.write_text("schema = 1\n" + "#" * scen.MAX_SCENARIO_BYTES + "\n")
    assert main(["run", str(big), "--until", "1ms"]) == 2
    err = capsys.readouterr().err
    assert "big.toml: over 8 MB, too large for a scenario file" in err and err.count("\n") == 1, err


def test_every_shipped_preset_is_far_below_the_size_limit():
    sizes = [len(scen.preset_text(name).encode()) for name in scen.presets()]
    assert sizes and max(sizes) * 100 < scen.MAX_SCENARIO_BYTES


def test_a_directory_and_a_symlink_to_a_scenario_read_as_before(tmp_path, capsys):
    (tmp_path / "d.toml").mkdir()
    assert main(["run", str(tmp_path / "d.toml")]) == 2
    assert "d.toml: is a directory, not a scenario file" in capsys.readouterr().err
    (tmp_path / "k.toml").write_text(scen.preset_text("kvm"))
    (tmp_path / "l.toml").symlink_to(tmp_path / "k.toml")
    assert scen.load(tmp_path / "l.toml") == scen.preset("kvm")
