"""wrk run and read back: its real reports parsed, its calls bounded and kept on loopback."""

import stat
from pathlib import Path

import pytest

from pairbench.load import wrk
from pairbench.load.wrk import (
    WrkError,
    WrkMissing,
    find_wrk,
    parse_report,
    run_wrk,
    wrk_command,
    wrk_version,
)

# Real reports of wrk 4.1.0 (Debian's debian/4.1.0-3+b2) on the 2-core test machine, against
# `pairbench serve --profile smoke`: `wrk -t1 -c8 -d2s --latency URL` (and -c64 --timeout 1s
# for the socket timeouts).
REPORT = """\
Running 2s test @ http://127.0.0.1:8765/aggregation/group-by?more_than=12
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    21.00ms    8.33ms  96.16ms   95.00%
    Req/Sec   390.65     76.16   440.00     95.00%
  Latency Distribution
     50%   19.27ms
     75%   21.46ms
     90%   25.17ms
     99%   75.18ms
  781 requests in 2.01s, 15.39MB read
Requests/sec:    389.47
Transfer/sec:      7.68MB
"""
# retries' no_retry, whose upstream refuses some calls: the contract's 503s.
REPORT_WITH_ERRORS = """\
Running 2s test @ http://127.0.0.1:8765/retries/no-retry?item=1
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.16ms    4.43ms  21.77ms   78.41%
    Req/Sec     1.41k    87.83     1.58k    70.00%
  Latency Distribution
     50%    3.71ms
     75%    8.89ms
     90%   13.50ms
     99%   16.25ms
  2817 requests in 2.00s, 646.05KB read
  Non-2xx or 3xx responses: 2138
Requests/sec:   1406.34
Transfer/sec:    322.53KB
"""
# n_plus_one's naive at 64 connections with a 1 s timeout: requests not answered in time.
REPORT_WITH_TIMEOUTS = """\
Running 2s test @ http://127.0.0.1:8765/n-plus-one/naive?authors=50
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   937.41ms    0.00us 937.41ms  100.00%
    Req/Sec    29.09     22.56    70.00     72.73%
  Latency Distribution
     50%  937.41ms
     75%  937.41ms
     90%  937.41ms
     99%  937.41ms
  33 requests in 2.00s, 1.13MB read
  Socket errors: connect 0, read 0, write 0, timeout 32
Requests/sec:     16.47
Transfer/sec:    578.80KB
"""


def test_a_report_gives_its_rate_requests_and_median() -> None:
    report = parse_report(REPORT)
    assert report.requests == 781
    assert report.seconds == pytest.approx(2.01)
    assert report.requests_per_second == pytest.approx(389.47)
    assert report.p50_ms == pytest.approx(19.27)
    assert report.errors == 0 and report.describe_errors() == ""


def test_answers_that_were_not_2xx_or_3xx_are_errors() -> None:
    report = parse_report(REPORT_WITH_ERRORS)
    assert report.requests_per_second == pytest.approx(1406.34)
    assert report.non_2xx == 2138 and report.errors == 2138
    assert report.describe_errors() == "2138 non-2xx/3xx answers of 2817 requests"


def test_socket_errors_are_errors() -> None:
    report = parse_report(REPORT_WITH_TIMEOUTS)
    assert report.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 32}
    assert report.p50_ms == pytest.approx(937.41)
    assert report.errors == 32
    assert report.describe_errors() == "32 socket timeout errors of 33 requests"


def test_output_that_is_no_report_is_an_error() -> None:
    with pytest.raises(WrkError, match="no report: unable to connect"):
        parse_report("unable to connect to 127.0.0.1:8799 Connection refused\n")


def test_wrk_is_only_aimed_at_loopback_for_whole_seconds() -> None:
    command = wrk_command("wrk", "http://127.0.0.1:8000/a?b=1", 8, 2, {"x-user": "7"})
    assert command == [
        "wrk", "-t1", "-c8", "-d2s", "--latency", "-H", "x-user: 7", "http://127.0.0.1:8000/a?b=1"
    ]  # fmt: skip
    with pytest.raises(WrkError, match="only ever aimed at 127.0.0.1"):
        wrk_command("wrk", "http://10.0.0.5:8000/a", 8, 2, {})
    with pytest.raises(WrkError, match="whole seconds, at least 1"):
        wrk_command("wrk", "http://127.0.0.1:8000/a", 8, 0, {})


def fake_wrk(directory: Path, script: str) -> str:
    """An executable named wrk that runs `script` (sh) instead."""
    path = directory / "wrk"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_wrk_call_that_does_not_return_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wrk, "EXIT_SLACK_S", 0.5)
    stuck = fake_wrk(tmp_path, "exec sleep 30")
    with pytest.raises(WrkError, match="did not return within 2 s"):
        run_wrk(stuck, "http://127.0.0.1:9/", 8, 1)


def test_wrk_failing_is_an_error_with_its_output(tmp_path: Path) -> None:
    failing = fake_wrk(
        tmp_path, "echo 'unable to connect to 127.0.0.1:9 Connection refused'; exit 1"
    )
    with pytest.raises(WrkError, match="exited 1 at http://127.0.0.1:9/: unable to connect"):
        run_wrk(failing, "http://127.0.0.1:9/", 8, 1)


def test_missing_wrk_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(WrkMissing, match=r"install wrk \(Debian: apt-get install wrk\)"):
        find_wrk()


def test_the_version_is_read_from_wrk_v(tmp_path: Path) -> None:
    # `wrk -v` prints this (and its usage) and exits 1
    version = fake_wrk(
        tmp_path, "echo 'wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer'; exit 1"
    )
    assert wrk_version(version) == "debian/4.1.0-3+b2"
