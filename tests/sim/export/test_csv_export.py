"""CSV exports: event log, histograms, per-CPU summary."""
import csv

import numpy as np
import pytest

from tickscope.sim.export import ExportCancelled
from tickscope.sim.export import csv as csv_export
from tickscope.sim.export.csv import histogram_counts, write_cpu_summary, write_event_log, write_histogram


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_event_log_rows_equal_the_data(tmp_path, four_cpu_records, four_cpu_results):
    path = tmp_path / "events.csv"
    assert write_event_log(four_cpu_results, path) == 4502
    rows = read_rows(path)
    assert rows[0] == ["time_ns", "cpu", "kind", "kind_name", "source", "value"]
    expected = sorted(four_cpu_records, key=lambda r: r[0])
    assert [tuple(int(x) for x in (r[0], r[1], r[2], r[4], r[5])) for r in rows[1:]] == expected
    names = {(int(r[2]), r[3]) for r in rows[1:]}
    assert names == {(0, "TICK"), (1, "IRQ"), (2, "JIFFIES"), (200, "KIND_200")}


def test_event_log_in_small_chunks_is_identical(tmp_path, monkeypatch, four_cpu_results):
    write_event_log(four_cpu_results, tmp_path / "a.csv")
    monkeypatch.setattr(csv_export, "CHUNK_RECORDS", 13)
    write_event_log(four_cpu_results, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_event_log_extreme_values(tmp_path, build_results):
    results = build_results([(2**63 - 1, -1, 255, 255, -(2**63))])
    write_event_log(results, tmp_path / "e.csv")
    assert read_rows(tmp_path / "e.csv")[1] == [str(2**63 - 1), "-1", "255", "KIND_255", "255", str(-(2**63))]


def test_cancelled_event_log_leaves_no_file(tmp_path, monkeypatch, four_cpu_results):
    monkeypatch.setattr(csv_export, "CHUNK_RECORDS", 1000)
    with pytest.raises(ExportCancelled):
        write_event_log(four_cpu_results, tmp_path / "e.csv", progress=lambda done, total: done < 2000)
    assert list(tmp_path.iterdir()) == []


def test_histogram_counts_half_open_bins_with_underflow_and_overflow():
    counts, under, over = histogram_counts([-5, 0, 9, 10, 25, 30, 31, 19], [0, 10, 20, 30])
    assert counts.tolist() == [2, 2, 1]
    assert (under, over) == (1, 2)


def test_histogram_csv_has_explicit_underflow_and_overflow_rows(tmp_path):
    path = write_histogram([0, 1000, 2000], [7, 3], tmp_path / "h.csv", underflow=2, overflow=0)
    assert read_rows(path) == [
        ["bin_lo_ns", "bin_hi_ns", "count"],
        ["-inf", "0", "2"],
        ["0", "1000", "7"],
        ["1000", "2000", "3"],
        ["2000", "inf", "0"],
    ]


@pytest.mark.parametrize("edges, counts", [([0], []), ([0, 10, 10], [1, 2]), ([0, 10, 20], [1])])
def test_histogram_refuses_bad_edges_or_counts(tmp_path, edges, counts):
    with pytest.raises(ValueError):
        write_histogram(edges, counts, tmp_path / "h.csv")
    assert list(tmp_path.iterdir()) == []


def test_cpu_summary_columns_from_per_cpu_dicts(tmp_path):
    cpus = [
        {"cpu": 0, "tick_device": "lapic-deadline", "ticks_expected": 500, "latency_ns_p50": 1000},
        {"tick_device": "hpet", "cpu": 1, "ticks_expected": 499, "future_field": [1, 2]},
    ]
    path = write_cpu_summary(cpus, tmp_path / "cpus.csv")
    assert read_rows(path) == [
        ["cpu", "tick_device", "ticks_expected", "latency_ns_p50", "future_field"],
        ["0", "lapic-deadline", "500", "1000", ""],
        ["1", "hpet", "499", "", "[1,2]"],
    ]


def test_cpu_summary_accepts_the_whole_summary_object(tmp_path):
    path = write_cpu_summary({"scenario": "x", "cpus": [{"cpu": 3, "ticks_lost": 2}]}, tmp_path / "c.csv")
    assert read_rows(path) == [["cpu", "ticks_lost"], ["3", "2"]]


def test_cpu_summary_quotes_commas(tmp_path):
    path = write_cpu_summary([{"cpu": 0, "tick_device": 'Hyper-V, "stimer0"'}], tmp_path / "c.csv")
    assert read_rows(path)[1] == ["0", 'Hyper-V, "stimer0"']
    assert np.loadtxt(path, delimiter=",", skiprows=1, usecols=0, ndmin=1).tolist() == [0.0]
