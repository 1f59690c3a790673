"""`pairbench ab`'s bad input: refused with exit 2 before any app starts or any load is sent."""

from pathlib import Path

import pytest

from pairbench.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://192.0.2.1:8000/a", "http://192.0.2.1:8000/b"], "--own-target 192.0.2.1"),
        (["/a", "/b"], "without --app, give two URLs"),
        (["http://127.0.0.1:1/a"], "give two endpoints"),
        (["--app", "shop:app", "http://127.0.0.1:1/a", "/b"], "with --app, give paths"),
        (["--rev", "HEAD", "http://127.0.0.1:1/a"], "--rev needs --app"),
        (["--app", "shop:app", "/a", "/b", "--mode", "open"], "open loop alone needs --rate"),
        (["--app", "shop:app", "/a", "/b", "--sweep", "n="], "--sweep 'n=' gives no values"),
        (["--app", "shop:app", "/a", "/b", "-p", "n"], "--param 'n' must be NAME=VALUE"),
        (["--app", "shop:app", "/a", "/b", "-H", "accept"], "--header 'accept' must be"),
        (["--all", "/a", "/b"], "give no paths or URLs"),
        (
            ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "--app-workers", "2"],
            "--app-workers and --app-host are how pairbench serves --app",
        ),
        (["--app", "shop:app", "/a", "/b", "--workers", "-1"], "--workers 0 or more"),
    ],
)
def test_bad_input_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["ab", *args, "--results-dir", str(tmp_path / "results")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_a_malformed_pairs_table_names_the_file_and_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.pairbench.pairs.orders]\na = "/a"\nb = 3\n')
    code = main(["ab", "--all", "--config", str(config), "--results-dir", str(tmp_path / "r")])
    assert code == 2
    assert f"{config}: [tool.pairbench.pairs.orders]: 'b'" in capsys.readouterr().err
