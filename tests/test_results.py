"""The run directory: never reused, appended safely, errors name the file."""

import gzip
from pathlib import Path

import pandas as pd
import pytest

from pairbench import results


def test_a_new_run_never_reuses_a_directory(tmp_path: Path) -> None:
    made = {results.new_run_dir(tmp_path, "smoke") for _ in range(3)}
    assert len(made) == 3 and all(path.is_dir() for path in made)


def test_appended_gzip_rows_read_back_with_one_header(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv.gz"
    results.append_rows(path, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    results.append_rows(path, pd.DataFrame({"a": [3], "b": ["z"]}))
    assert gzip.open(path, "rt").read().count("a,b") == 1
    assert pd.read_csv(path)["a"].tolist() == [1, 2, 3]


def test_malformed_files_are_errors_that_name_them(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(results.ResultsError, match="manifest.json is not valid JSON"):
        results.read_manifest(tmp_path)
    with pytest.raises(results.ResultsError, match="is not a directory"):
        results.read_manifest(tmp_path / "nope")
    (tmp_path / "table.csv").write_text("x,y\n1,2\n")
    with pytest.raises(results.ResultsError, match="table.csv lacks the columns latency_ms"):
        results.read_table(tmp_path / "table.csv", ["latency_ms"])
