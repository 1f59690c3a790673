"""The one definition of a measured, successful request, on rows whose answer is known."""

import pandas as pd

from pairbench.results import MEASURE_PHASE, WARMUP_PHASE
from pairbench.stats.requests import answered, failed, measured, measured_successful, sent


def rows() -> pd.DataFrame:
    """One request of each kind, named by what it is."""
    kinds = [
        ("ok", MEASURE_PHASE, 200, 0),
        ("not_modified", MEASURE_PHASE, 304, 0),
        ("server_error", MEASURE_PHASE, 500, 0),
        ("bad_request", MEASURE_PHASE, 422, 0),
        ("connection_error", MEASURE_PHASE, 0, 0),
        ("dropped", MEASURE_PHASE, 0, 1),  # an open-loop send the generator never made
        ("warm_up", WARMUP_PHASE, 200, 0),
    ]
    return pd.DataFrame(kinds, columns=["kind", "phase", "status", "dropped"])


def test_measured_means_sent_in_the_measure_phase() -> None:
    assert list(measured(rows())["kind"]) == [
        "ok",
        "not_modified",
        "server_error",
        "bad_request",
        "connection_error",
    ]
    assert "dropped" not in list(sent(rows())["kind"])


def test_successful_means_a_status_from_1_to_399() -> None:
    assert list(measured_successful(rows())["kind"]) == ["ok", "not_modified"]
    frame = measured(rows())
    assert list(frame[failed(frame)]["kind"]) == ["server_error", "bad_request", "connection_error"]


def test_runs_from_before_open_loop_mode_have_no_dropped_column() -> None:
    old = rows().drop(columns="dropped")
    assert len(measured(old)) == 6  # the dropped row counts as a connection error then


def test_the_probes_answered_requests_are_its_successful_ones_and_every_row_of_an_old_file() -> (
    None
):
    probe = pd.DataFrame({"kind": ["ok", "unknown", "bad_gateway", "gone"]}).assign(
        status=[200, float("nan"), 502, 0]
    )
    assert list(answered(probe)["kind"]) == ["ok", "unknown"]  # NaN: a row kept before statuses
    assert answered(probe.drop(columns="status")).equals(probe.drop(columns="status"))
