"""[tool.pairbench.pairs]: the pairs a team keeps in its pyproject.toml."""

from pathlib import Path

import pytest

from pairbench.ab.config import PairsError, read_pairs


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


def test_pairs_are_read_in_the_files_order_with_their_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[tool.pairbench.pairs.totals]
a = "/totals/per-customer-scan"
b = "/totals/indexed"
params = { customers = 40 }
ignore = ["generated_at"]

[tool.pairbench.pairs.upload]
a = "/v1/orders"
b = "/v2/orders"
method = "post"
headers = { authorization = "Bearer t" }
body = '{"n": 1}'
sweep = { n = [1, 10] }
""",
    )
    totals, upload = read_pairs(path)
    assert (totals.name, totals.a, totals.b) == (
        "totals",
        "/totals/per-customer-scan",
        "/totals/indexed",
    )
    assert totals.params == {"customers": 40} and totals.ignore == ("generated_at",)
    assert (upload.method, upload.headers, upload.body) == (
        "POST",
        {"authorization": "Bearer t"},
        '{"n": 1}',
    )
    assert upload.sweep == ("n", [1, 10])


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('[tool.pairbench.pairs.p]\na = "/a"\n', "[tool.pairbench.pairs.p]: 'b'"),
        ('[tool.pairbench.pairs.p]\na = "/a"\nb = "/b"\nignore = "ts"\n', "'ignore'"),
        ('[tool.pairbench.pairs.p]\na = "/a"\nb = "/b"\nparams = { n = [1] }\n', "'params'"),
        ('[tool.pairbench.pairs.p]\na = "/a"\nb = "/b"\nwhat = 1\n', "unknown key 'what'"),
        ('[tool.pairbench.pairs.p]\na = "/a"\nb = "/b"\nsweep = { n = 3 }\n', "'sweep.n'"),
        ("[tool.pairbench.pairs]\np = 3\n", "[tool.pairbench.pairs.p] must be a table"),
        ("[tool.pairbench]\nslo = {}\n", "no [tool.pairbench.pairs] table"),
        ("[tool.pairbench.pairs\n", "is not valid TOML"),
    ],
)
def test_a_malformed_table_is_an_error_naming_the_file_and_the_key(
    tmp_path: Path, table: str, named: str
) -> None:
    path = write(tmp_path, table)
    with pytest.raises(PairsError) as raised:
        read_pairs(path)
    assert str(path) in str(raised.value)
    assert named in str(raised.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PairsError, match="no such file"):
        read_pairs(tmp_path / "pyproject.toml")
