"""A write that fails half-way (a full disk) names the file the user gave, never the staged temporary one."""
import errno
import pathlib

import pytest

from tickscope.sim import atomic
from tickscope.sim.cli import main


def _full_disk(self, *args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")   # as write()/close() raise it: no file name


def test_atomic_write_on_a_full_disk_names_the_target_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(pathlib.Path, "write_text", _full_disk)
    target = tmp_path / "out.json"
    with pytest.raises(OSError) as info:
        atomic.write_text(target, "{}")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_cli_full_disk_error_is_one_line_naming_the_export(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pathlib.Path, "write_text", _full_disk)
    target = tmp_path / "g.json"
    assert main(["graph", "--model", "linux-6.x", "--export", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"tickscope: error: {target}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_cli_error_lines_turn_staged_names_back_into_the_users(tmp_path, monkeypatch, capsys):
    from tickscope.sim import cli
    from tickscope.sim.errors import InputError

    staged = tmp_path / ".r.png.cu1vdq1_.part"   # what atomic_path stages r.png as

    def fail(args):
        raise InputError(f"{staged}: could not write the PNG")

    real = cli.build_parser

    def build(extra_modules=()):   # the error printer is shared: `presets` stands in for an exporting command
        p = real(extra_modules)
        p._subparsers._group_actions[0].choices["presets"].set_defaults(func=fail)
        return p

    monkeypatch.setattr(cli, "build_parser", build)
    assert main(["presets"]) == 2
    assert capsys.readouterr().err == f"tickscope: error: {tmp_path / 'r.png'}: could not write the PNG\n"


@pytest.mark.parametrize("under", ["g.json", "deeper/g.json"])
def test_an_output_under_a_regular_file_names_the_file_in_the_way(tmp_path, capsys, under):
    # `--export notes.txt/g.json` said "notes.txt/g.json: File exists" (mkdir's EEXIST on notes.txt), and one
    # folder deeper "Not a directory": neither said which part of the path was a file
    (tmp_path / "notes.txt").write_text("a file\n")
    target = tmp_path / "notes.txt" / under
    assert main(["graph", "--model", "linux-6.x", "--export", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"tickscope: error: {target}: {tmp_path / 'notes.txt'} is not a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_import_under_a_regular_file_names_the_file_in_the_way(tmp_path, capsys):
    from importlib import resources

    sample = resources.files("tickscope.assets") / "sample" / "real-kvm-guest" / "real_timer_list.txt"
    (tmp_path / "notes.txt").write_text("a file\n")
    target = tmp_path / "notes.txt" / "m.toml"
    assert main(["import", "timer-list", str(sample), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"tickscope: error: {target}: {tmp_path / 'notes.txt'} is not a directory\n"
