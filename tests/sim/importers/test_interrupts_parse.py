"""parse_interrupts on the real file and on broken copies."""
import pytest

from tickscope.sim.errors import InputError
from tickscope.sim.importers import parse_interrupts


def test_real_interrupts(real_interrupts):
    d = parse_interrupts(real_interrupts)
    assert d["cpus"] == 2 and d["cpu_ids"] == [0, 1]
    assert d["by_label"]["LOC"] == [59524, 61691]
    assert d["by_label"]["CAL"] == [30008, 12647]
    assert d["by_label"]["ERR"] == [0] and d["by_label"]["MIS"] == [0]
    assert d["by_label"]["36"] == [0, 6554]
    first = d["rows"][0]
    assert (first["label"], first["description"]) == ("24", "IO-APIC   5-edge      ACPI:Ged")
    loc = next(r for r in d["rows"] if r["label"] == "LOC")
    assert loc["description"] == "Local timer interrupts"
    assert len(d["rows"]) == 35


def test_missing_header(real_interrupts):
    with pytest.raises(InputError, match=r"^irq:1: expected the 'CPU0 CPU1 \.\.\.' header"):
        parse_interrupts(real_interrupts.split("\n", 1)[1], "irq")


def test_non_numeric_count_names_the_line(real_interrupts):
    text = real_interrupts.replace("LOC:      59524", "LOC:      many!")
    line = text[: text.index("LOC:")].count("\n") + 1
    with pytest.raises(InputError, match=rf"^irq:{line}: LOC: expected 2 counts"):
        parse_interrupts(text, "irq")


def test_cut_mid_line(real_interrupts):
    cut = real_interrupts.index("LOC:") + 8
    with pytest.raises(InputError, match=rf"^irq:{real_interrupts[:cut].count(chr(10)) + 1}: file ends mid-line"):
        parse_interrupts(real_interrupts[:cut], "irq")


def test_garbage_row(real_interrupts):
    text = real_interrupts + "\x00\x00\x00\n"
    with pytest.raises(InputError, match=r"^irq:37: binary"):
        parse_interrupts(text, "irq")
