"""The command line's options and its errors a user can cause; `serve` end to end."""

import signal
import threading
from pathlib import Path

import httpx
import psutil
import pytest

from bench_app.settings import Settings
from pairbench.cli import build_parser, main
from pairbench.env.server import free_port
from pairbench.env.services import ServiceUrls
from tests.test_run_faults import still_running
from tests.test_runner import pairbench

SERVE_TIMEOUT_S = 180  # a start is mostly CPU: minutes on a loaded machine


def test_run_help_explains_the_load_modes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = capsys.readouterr().out
    for needle in ("--mode", "--rate", "--no-micro", "coordinated omission", "intended send"):
        assert needle in text


def test_a_bad_rate_or_technique_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--rate", "0"]) == 2
    assert "--rate must be a positive" in capsys.readouterr().err
    for bad in ("0", "-1", "601"):
        assert main(["run", "--round-s", bad]) == 2
        assert "--round-s must be more than 0 and at most 600 seconds" in capsys.readouterr().err
    assert main(["run", "--only", "no_such_trick"]) == 2
    assert "unknown technique(s): no_such_trick" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option", ["--db-rtt=0.5", "--redis-rtt=soon", "--upstream-rtt=-1ms", "--rtt-sweep=1ms"]
)
def test_a_bad_round_trip_exits_2_naming_the_fix(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_code:
        main(["run", option])
    assert exit_code.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option.split('=')[0]}" in error
    assert "e.g. 0.5ms" in error or "at least two distinct" in error


def test_round_trips_reach_the_run_as_a_distance() -> None:
    from pairbench.cli import distance_from

    args = build_parser().parse_args(["run", "--db-rtt", "500us", "--rtt-sweep"])
    distance = distance_from(args)
    assert distance.rtt_ms == {"database": 0.5}
    assert distance.sweep_ms == (0.0, 0.25, 0.5, 1.0)
    assert distance.proxied() == ["database", "redis"]
    assert distance_from(build_parser().parse_args(["run"])).proxied() == []


def test_round_length_and_sweep_override_the_profiles() -> None:
    from pairbench.cli import profile_from

    args = build_parser().parse_args(["run", "--profile", "standard", "--sweep", "load"])
    assert (profile_from(args).sweep, profile_from(args).round_s) == ("load", 1.5)
    args = build_parser().parse_args(["run", "--round-s", "2"])
    assert (profile_from(args).sweep, profile_from(args).round_s) == ("probe", 2.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--sweep", "sometimes"])


def test_the_control_is_the_profiles_unless_the_command_line_or_environment_names_another(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pairbench.cli import profile_from

    monkeypatch.delenv("PAIRBENCH_CONTROL", raising=False)
    assert profile_from(build_parser().parse_args(["run"])).control == "projection/columns"
    chosen = build_parser().parse_args(["run", "--control", "n_plus_one/joined"])
    assert profile_from(chosen).control == "n_plus_one/joined"
    assert profile_from(build_parser().parse_args(["run", "--control", "none"])).control == ""
    monkeypatch.setenv("PAIRBENCH_CONTROL", "none")
    assert profile_from(build_parser().parse_args(["run"])).control == ""
    assert main(["run", "--control", "n_plus_one/nope"]) == 2  # refused before anything starts
    assert "'n_plus_one/nope' is no variant: give --control" in capsys.readouterr().err


def test_a_malformed_slo_table_stops_a_run_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the run reads the SLOs of the pyproject.toml beside it
    (tmp_path / "pyproject.toml").write_text("[tool.pairbench.slo]\np95_ms = 'fast'\n")
    assert main(["run", "--results-dir", str(tmp_path / "results")]) == 2
    assert "pyproject.toml [tool.pairbench.slo]: p95_ms must be a number" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_serve_refuses_a_bad_database_url_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://somewhere/db")
    assert main(["serve", "--results-dir", str(tmp_path)]) == 1
    assert "is not a PostgreSQL URL. Use postgresql://" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_brings_up_the_runs_environment_until_ctrl_c(
    seeded: Settings, service_urls: ServiceUrls, tmp_path: Path
) -> None:
    """The app, its job worker, the upstream stub and the database's delay proxy, which
    the app (not the harness) goes through; Ctrl-C stops them all."""
    port = free_port()
    process = pairbench(
        "serve",
        "--profile",
        "smoke",
        "--port",
        str(port),
        "--results-dir",
        str(tmp_path),
        "--db-rtt",
        "0.2ms",
        urls=service_urls,
        cwd=tmp_path,
    )
    watchdog = threading.Timer(SERVE_TIMEOUT_S, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        output = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("load it by hand"):
                break
        assert process.poll() is None, "".join(output)
        base_url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base_url}/n-plus-one/joined", timeout=30).status_code == 200
        children = psutil.Process(process.pid).children(recursive=True)
        commands = {child.pid: " ".join(child.cmdline()) for child in children}
        (proxy,) = [line for line in commands.values() if "pairbench.env.delay_proxy" in line]
        (app,) = [pid for pid, line in commands.items() if "uvicorn" in line]
        assert any("bench_app.worker" in line for line in commands.values())
        assert any("pairbench.env.upstream_stub" in line for line in commands.values())
        proxy_port = proxy.split("--port ")[1].split()[0]
        assert f"127.0.0.1:{proxy_port}" in psutil.Process(app).environ()["DATABASE_URL"]

        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        watchdog.cancel()
    assert process.returncode == 0 and rest.strip().endswith("stopped"), rest
    # a zombie has exited: an orphan (the app's multiprocessing resource tracker) waits for
    # the machine's init to reap it
    assert still_running(children) == []
