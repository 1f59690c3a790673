"""The pipeline's layering: stats computes and never renders; report and gate only read.

Report and gate depend on stats, never the reverse; nothing in stats draws or formats
HTML; nothing in report or gate calls a statistic (percentiles, bootstrap, fits); the
measuring (load, env, runner) never imports the report or the gate.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pairbench"
STATISTICS = {
    "percentile",
    "quantile",
    "median",
    "mean",
    "std",
    "var",
    "polyfit",
    "lstsq",
    "bootstrap_ci",
    "bootstrap_ratio_ci",
    "summarize",
    "fit_growth",
    "mann_whitney_u",
}
RENDERING = ("matplotlib", "jinja2", "markupsafe", "pygments", "pairbench.report", "pairbench.gate")


def modules(stage: str) -> list[Path]:
    return sorted((PACKAGE / stage).glob("*.py"))


def imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def called(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                names.add(function.attr)
            elif isinstance(function, ast.Name):
                names.add(function.id)
    return names


@pytest.mark.parametrize("path", modules("stats"), ids=lambda path: path.name)
def test_stats_neither_renders_nor_depends_on_its_readers(path: Path) -> None:
    wrong = {name for name in imported(path) if name.startswith(RENDERING)}
    wrong |= {
        name for name in imported(path) if name.startswith(("pairbench.load", "pairbench.cli"))
    }
    assert not wrong, f"{path.name} imports {sorted(wrong)}"


@pytest.mark.parametrize(
    "path", modules("report") + modules("gate"), ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_report_and_gate_compute_no_statistic(path: Path) -> None:
    assert not called(path) & STATISTICS, (
        f"{path.name} computes {sorted(called(path) & STATISTICS)}"
    )


MEASURING = [*modules("load"), *modules("env"), PACKAGE / "runner.py"]


@pytest.mark.parametrize("path", MEASURING, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_measuring_never_depends_on_the_report_or_the_gate(path: Path) -> None:
    wrong = {
        name for name in imported(path) if name.startswith(("pairbench.report", "pairbench.gate"))
    }
    assert not wrong, f"{path.name} imports {sorted(wrong)}"


# What writes a run's tables: the stats stage's entry points and pandas' and results' writers.
TABLE_WRITERS = {"write_tables", "compute_tables", "to_csv", "append_rows", "write_json"}


@pytest.mark.parametrize(
    "path", modules("report") + modules("gate"), ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_report_and_gate_write_no_tables(path: Path) -> None:
    """They read what the stats stage wrote; stale tables are an error that says to rebuild
    them (`pairbench stats RUN`), never a recompute behind the reader's back."""
    assert not called(path) & TABLE_WRITERS, (
        f"{path.name} calls {sorted(called(path) & TABLE_WRITERS)}"
    )


def test_the_readers_of_tables_never_write_them() -> None:
    """What the report and the gate call to read a run (read_tables, read_summary) reads only."""
    tree = ast.parse((PACKAGE / "stats" / "stage.py").read_text())
    readers = {"read_tables", "read_summary", "require_current_tables", "_read"}
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert readers <= set(functions)
    for name in readers:
        calls = {
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for node in ast.walk(functions[name])
            if isinstance(node, ast.Call)
        }
        assert not calls & TABLE_WRITERS, f"{name} calls {sorted(calls & TABLE_WRITERS)}"
