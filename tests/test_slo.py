"""SLOs: the seed's by default, a project's own from pyproject.toml, bad settings named."""

from pathlib import Path

import pytest

from pairbench.slo import DEFAULT_SLOS, SloError, Slos, read_slos


def test_the_seeds_checklist_is_the_default(tmp_path: Path) -> None:
    assert read_slos(tmp_path / "missing.toml") == DEFAULT_SLOS
    assert DEFAULT_SLOS.describe() == (
        "p95 < 200 ms, error rate < 0.01, cache hit rate > 0.8, memory share < 0.8"
    )


def test_a_project_sets_its_own_in_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.pairbench.slo]\np95_ms = 150\np99_ms = 400\ncache_hit_rate = false\n"
    )
    assert read_slos(pyproject) == Slos(
        p95_ms=150, p99_ms=400, error_rate=0.01, cache_hit_rate=None
    )


@pytest.mark.parametrize(
    "table, message",
    [
        ("p95 = 150", r"unknown SLO\(s\) p95; known: p95_ms"),
        ("p95_ms = 'fast'", "p95_ms must be a number"),
        ("error_rate = 2", "error_rate must be between 0 and 1"),
        ("memory_share = 80", "memory_share must be between 0 and 1"),
        ("p99_ms = -5", "p99_ms must be positive"),
    ],
)
def test_a_bad_setting_is_an_error_naming_it(tmp_path: Path, table: str, message: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.pairbench.slo]\n{table}\n")
    with pytest.raises(SloError, match=message):
        read_slos(pyproject)
