"""The command line's options and its errors a user can cause."""

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
