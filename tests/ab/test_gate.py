"""check --against's rules on a run's summary: HEAD (b) against REV (a), same job."""

import math

import pandas as pd

from pairbench.ab.gate import same_job_findings, slug
from pairbench.gate.check import Finding


def summary(head: dict[str, object], rev: dict[str, object] | None = None) -> pd.DataFrame:
    base = {"technique": "orders", "point": "default", "mode": "closed", "name": "target"}
    rev_row = {**base, "variant": "a", "equivalent": True, "speedup_p50": 1.0, **(rev or {})}
    head_row = {
        **base,
        "variant": "b",
        "equivalent": True,
        "speedup_p50": 1.0,
        "speedup_ci_low": 0.95,
        "speedup_ci_high": 1.05,
        **head,
    }
    return pd.DataFrame([rev_row, head_row])


def regressed(findings: list[Finding]) -> dict[str, bool]:
    return {finding.metric.split(" ")[0]: finding.regressed for finding in findings}


def test_an_unchanged_head_passes_every_check() -> None:
    found = same_job_findings(
        summary({"queries_per_request": 2.0}, {"queries_per_request": 2.0}), 0.1
    )
    assert regressed(found) == {"speedup_p50": False, "queries_per_request": False}


def test_a_head_significantly_slower_than_allowed_fails() -> None:
    found = same_job_findings(summary({"speedup_p50": 0.5, "speedup_ci_high": 0.6}), 0.1)
    assert regressed(found) == {"speedup_p50": True}
    # slower, but its CI reaches the allowance: not significantly beyond it
    found = same_job_findings(summary({"speedup_p50": 0.85, "speedup_ci_high": 0.95}), 0.1)
    assert regressed(found) == {"speedup_p50": False}


def test_a_cost_that_rose_fails_and_a_cost_not_reported_is_not_checked() -> None:
    head = {"queries_per_request": 21.0, "redis_commands_per_request": math.nan}
    rev = {"queries_per_request": 1.0, "redis_commands_per_request": math.nan}
    found = same_job_findings(summary(head, rev), 0.1)
    assert regressed(found) == {"speedup_p50": False, "queries_per_request": True}


def test_a_different_answer_fails() -> None:
    found = same_job_findings(summary({"equivalent": False}), 0.1)
    assert regressed(found)["same"]


def test_a_path_becomes_a_name() -> None:
    assert slug("/orders/{order_id}/lines") == "orders-order-id-lines"
    assert slug("/") == "root"
