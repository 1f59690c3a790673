"""The measuring loop's memory hook: which segments get a fresh app, and their memory columns."""

import math
from pathlib import Path

from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.env.memory import MemoryReading
from pairbench.env.server import AppServer
from pairbench.load.app_memory import fresh_app_if_declared, segment_memory, watch_app

READING = MemoryReading(
    start_mb=80.0,
    peak_mb=150.0,
    end_mb=110.0,
    timeline=((100.0, 80.0), (101.0, 95.0), (102.0, 150.0), (103.0, 100.0), (104.0, 110.0)),
)
WINDOW = (100.5, 103.5)  # the measuring window: samples at 101.0 .. 103.0 fall in it


def test_the_columns_are_the_segment_tables_memory_columns() -> None:
    columns = segment_memory(READING, WINDOW, fresh=True)
    assert list(columns) == results.SEGMENT_MEMORY_COLUMNS
    assert set(results.SEGMENT_MEMORY_COLUMNS) <= set(results.SEGMENT_COLUMNS)


def test_growth_is_whole_segment_and_from_the_first_measured_request() -> None:
    columns = segment_memory(READING, WINDOW, fresh=True)
    assert columns["fresh_process"] is True
    assert (columns["rss_start_mb"], columns["rss_peak_mb"], columns["rss_end_mb"]) == (
        80.0,
        150.0,
        110.0,
    )
    assert columns["rss_growth_mb"] == 30.0
    assert columns["rss_measured_growth_mb"] == 100.0 - 95.0  # samples at 101.0 and 103.0


def test_without_a_reading_or_samples_in_the_window_the_figures_are_empty() -> None:
    empty = segment_memory(None, WINDOW, fresh=False)
    assert empty["fresh_process"] is False
    assert all(math.isnan(value) for name, value in empty.items() if name != "fresh_process")
    too_short = segment_memory(READING, (101.5, 102.5), fresh=False)  # one sample inside
    assert math.isnan(too_short["rss_measured_growth_mb"])
    assert too_short["rss_peak_mb"] == 150.0


def test_only_a_technique_that_declares_it_gets_a_fresh_process(tmp_path: Path) -> None:
    techniques = all_techniques()
    never_started = AppServer({}, tmp_path / "server.log")  # restarting it would fail loudly
    logged: list[str] = []
    assert not fresh_app_if_declared(never_started, techniques["n_plus_one"], logged.append)
    assert not fresh_app_if_declared(None, techniques["streaming_export"], logged.append)
    assert logged == [] and watch_app(None) is None
    assert {key for key, technique in techniques.items() if technique.fresh_process} >= {
        "streaming_export",
        "csv_import",
    }
