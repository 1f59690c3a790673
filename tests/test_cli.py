"""The command line's options and its errors a user can cause."""

from pathlib import Path

import pytest

from pairbench.cli import build_parser, main


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


def test_a_malformed_slo_table_stops_a_run_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the run reads the SLOs of the pyproject.toml beside it
    (tmp_path / "pyproject.toml").write_text("[tool.pairbench.slo]\np95_ms = 'fast'\n")
    assert main(["run", "--results-dir", str(tmp_path / "results")]) == 2
    assert "pyproject.toml [tool.pairbench.slo]: p95_ms must be a number" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()
