"""The measuring loop's memory hook: a segment's memory columns, and which app serves it."""

import math

import httpx

from bench_app.memory_limit import host_memory_bytes
from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.env.memory import MB, MemoryReading
from pairbench.load.app_memory import segment_memory, watch_app
from pairbench.load.segment_apps import SegmentApps

READING = MemoryReading(
    start_mb=80.0,
    peak_mb=150.0,
    end_mb=110.0,
    timeline=((100.0, 80.0), (101.0, 95.0), (102.0, 150.0), (103.0, 100.0), (104.0, 110.0)),
)
WINDOW = (100.5, 103.5)  # the measuring window: samples at 101.0 .. 103.0 fall in it


def test_the_columns_are_the_segment_tables_memory_columns() -> None:
    columns = segment_memory(READING, WINDOW, results.APP_FRESH, pid=4321)
    assert list(columns) == results.SEGMENT_MEMORY_COLUMNS
    assert set(results.SEGMENT_MEMORY_COLUMNS) <= set(results.SEGMENT_COLUMNS)


def test_growth_is_whole_segment_and_from_the_first_measured_request() -> None:
    columns = segment_memory(READING, WINDOW, results.APP_FRESH, pid=4321)
    assert columns["app_process"] == "fresh" and columns["fresh_process"] is True
    assert columns["app_pid"] == 4321
    assert (columns["rss_start_mb"], columns["rss_peak_mb"], columns["rss_end_mb"]) == (
        80.0,
        150.0,
        110.0,
    )
    assert columns["rss_growth_mb"] == 30.0
    assert columns["rss_measured_growth_mb"] == 100.0 - 95.0  # samples at 101.0 and 103.0


def test_without_a_reading_or_samples_in_the_window_the_figures_are_empty() -> None:
    empty = segment_memory(None, WINDOW, results.APP_SHARED, pid=None)
    assert (empty["app_process"], empty["fresh_process"]) == ("shared", False)
    served = ("app_process", "fresh_process")
    assert all(math.isnan(value) for name, value in empty.items() if name not in served)
    one_sample_inside = (101.5, 102.5)
    too_short = segment_memory(READING, one_sample_inside, results.APP_OWN, pid=4321)
    assert math.isnan(too_short["rss_measured_growth_mb"])
    assert too_short["rss_peak_mb"] == 150.0


def test_without_an_app_server_every_segment_goes_to_the_base_url_unwatched() -> None:
    techniques = all_techniques()
    logged: list[str] = []
    with httpx.Client(base_url="http://127.0.0.1:9") as client:
        apps = SegmentApps("http://127.0.0.1:9", client, None, logged.append)
        for key in ("n_plus_one", "streaming_export", "bounded_cache"):
            with apps.serving(techniques[key], techniques[key].baseline) as app:
                assert app.base_url == "http://127.0.0.1:9" and app.client is client
                assert app.pid is None and app.process == results.APP_SHARED and not app.fresh
        apps.close()
    assert logged == [] and watch_app(None) is None


def test_the_memory_techniques_declare_a_process_of_their_own() -> None:
    techniques = all_techniques()
    fresh = {key for key, technique in techniques.items() if technique.fresh_process}
    soak = {key for key, technique in techniques.items() if technique.soak_process}
    assert fresh >= {"streaming_export", "csv_import"}
    assert soak == {"bounded_cache", "listener_leak"}


def test_the_memory_available_to_the_app_is_recorded() -> None:
    columns = segment_memory(READING, WINDOW, results.APP_OWN, pid=None)
    assert 0 < columns["memory_available_mb"] <= host_memory_bytes() / MB
