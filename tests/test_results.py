"""The run directory: never reused, appended safely, errors name the file."""

import gzip
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from pairbench import results
from tests.unwritable_dirs import read_only_dir


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


def test_a_writable_directory_passes_and_is_made_if_missing(tmp_path: Path) -> None:
    root = tmp_path / "results" / "nested"
    results.require_writable(root)
    assert root.is_dir() and list(root.iterdir()) == []  # the probe file is gone


def test_a_read_only_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "read-only") as read_only:
        with pytest.raises(results.ResultsError, match=f"cannot write to {read_only}/results"):
            results.require_writable(read_only / "results")


def test_too_little_free_space_is_an_error_saying_how_much_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nearly_full(path: object) -> SimpleNamespace:
        return SimpleNamespace(total=2**40, used=2**40 - 10 * 2**20, free=10 * 2**20)

    monkeypatch.setattr(results.shutil, "disk_usage", nearly_full)
    needed = f"needs {results.MIN_FREE_BYTES // 2**20} MB"
    with pytest.raises(results.ResultsError, match=f"only 10 MB free in {tmp_path}.*{needed}"):
        results.require_writable(tmp_path)
