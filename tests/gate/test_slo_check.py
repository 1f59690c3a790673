"""The SLO gate: the optimized variants at their default point held to the SLOs, broken ones
named with value and limit, in the console, Markdown and JUnit."""

import json
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest

from pairbench import cli
from pairbench.gate.slo_check import check_slos, render_slo_markdown
from pairbench.slo import DEFAULT_SLOS, Slos


def summary(p95: dict[str, float], errors: float = 0.0) -> pd.DataFrame:
    """n_plus_one at its default point, and a sweep point where everything is slow."""
    rows = []
    for point, slow in (("authors=50", 1.0), ("authors=1000", 50.0)):
        for variant, value in p95.items():
            rows.append(
                {
                    "technique": "n_plus_one",
                    "variant": variant,
                    "point": point,
                    "mode": "closed",
                    "baseline": variant == "naive",
                    "p95_ms": value * slow,
                    "p99_ms": value * 2,
                    "error_rate": errors,
                    "cache_hits_per_request": float("nan"),
                }
            )
    return pd.DataFrame(rows)


DEFAULTS = {"n_plus_one": "authors=50"}


def test_only_optimized_variants_at_the_default_point_are_checked() -> None:
    checks = check_slos(summary({"naive": 900.0, "joined": 50.0}), DEFAULT_SLOS, DEFAULTS)
    assert {(check.variant, check.point) for check in checks} == {("joined", "authors=50")}
    assert all(check.met for check in checks)  # the slow naive and sweep point are not held
    assert {check.objective.name for check in checks} == {"p95_ms", "error_rate"}  # no cache


def test_a_broken_slo_is_named_with_its_value_and_limit() -> None:
    checks = check_slos(summary({"naive": 900.0, "joined": 250.0}, errors=0.02), Slos(), DEFAULTS)
    broken = [check.describe() for check in checks if not check.met]
    assert broken == [
        "BROKEN: n_plus_one/joined at authors=50 (closed loop): p95 250 ms (must be < 200 ms)",
        "BROKEN: n_plus_one/joined at authors=50 (closed loop): error rate 0.02 (must be < 0.01)",
    ]
    markdown = render_slo_markdown(checks, Slos())
    assert (
        "| BROKEN | n_plus_one | joined | authors=50 | closed | p95 | 250 ms | < 200 ms |"
        in markdown
    )


def write_run(run_dir: Path, frame: pd.DataFrame) -> Path:
    run_dir.mkdir(parents=True)
    points = {
        "n_plus_one": [
            {"label": "authors=50", "swept": None},
            {"label": "authors=1000", "swept": "authors"},
        ]
    }
    manifest = {"run_id": run_dir.name, "complete": True, "points": points}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    frame.assign(
        equivalent=True, verdict="", speedup_p50=1.0, speedup_ci_low=1.0, speedup_ci_high=1.0
    ).to_csv(run_dir / "summary.csv", index=False)
    return run_dir


def test_check_slo_exit_codes_and_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml here: the seed's SLOs
    run = write_run(tmp_path / "run", summary({"naive": 900.0, "joined": 120.0}))
    no_baseline = ["--baseline", str(tmp_path / "none.json")]
    assert cli.main(["check", "--slo", *no_baseline, str(run)]) == 0
    assert "| met | n_plus_one | joined | authors=50 | closed | p95 | 120 ms |" in (
        (run / "check.md").read_text()
    )
    assert cli.main(["check", "--slo-p95-ms", "100", *no_baseline, str(run)]) == 1
    suite = ElementTree.fromstring((run / "check.xml").read_text().split("?>", 1)[1])
    failed = [case for case in suite if case.find("failure") is not None]
    assert [(case.get("classname"), case.get("name")) for case in failed] == [
        ("n_plus_one.joined", "authors=50 closed loop SLO p95")
    ]
    assert "BROKEN: n_plus_one/joined at authors=50 (closed loop): p95 120 ms" in str(
        failed[0].find("failure").get("message")  # type: ignore[union-attr]
    )
    (tmp_path / "pyproject.toml").write_text("[tool.pairbench.slo]\np95_ms = 100\n")
    assert cli.main(["check", "--slo", *no_baseline, str(run)]) == 1
    assert cli.main(["check", "--slo-p95-ms", "150", *no_baseline, str(run)]) == 0  # flag wins
    (tmp_path / "pyproject.toml").write_text("[tool.pairbench.slo]\np95 = 100\n")
    assert cli.main(["check", "--slo", *no_baseline, str(run)]) == 2
    assert cli.main(["check", *no_baseline, str(run)]) == 2  # without --slo a baseline is needed


def test_the_memory_share_is_held_where_the_apps_process_was_watched() -> None:
    rows = summary({"naive": 900.0, "joined": 50.0})
    assert "memory_share" not in {c.objective.name for c in check_slos(rows, Slos(), DEFAULTS)}
    rows["memory_share"] = 0.85
    checks = check_slos(rows, Slos(), DEFAULTS)
    broken = [check.describe() for check in checks if not check.met]
    assert broken == [
        "BROKEN: n_plus_one/joined at authors=50 (closed loop): memory share 0.85 (must be < 0.8)"
    ]
    assert all(check.met for check in check_slos(rows, Slos(memory_share=0.9), DEFAULTS))
