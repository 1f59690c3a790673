"""The alert rules (bench_app/alert_rules.yml): promtool's unit tests pass, and every metric
they read is one the app exports, so a renamed metric breaks a test, not a pager."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.served import served

RULES = Path(__file__).parents[2] / "bench_app" / "alert_rules.yml"
RULE_TESTS = Path(__file__).with_name("alert_rules_test.yml")
PROMTOOL_TIMEOUT_S = 60
# What a PromQL expression holds beside metric names: label matchers, ranges, strings,
# label lists of aggregations and matching, keywords, numbers.
LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
NOT_NAMES = re.compile(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]')
IDENTIFIER = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right"}


def require_promtool() -> str:
    """promtool's path; the calling test is skipped without it, unless CI=true: then fails."""
    found = shutil.which("promtool")
    if found is not None:
        return found
    reason = "promtool is not installed (Debian/Ubuntu: apt-get install prometheus)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: .ci/run installs it; the alert rules must be tested")
    pytest.skip(f"{reason}; the alert rules are not unit-tested")


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (functions and label names left out)."""
    bare = NOT_NAMES.sub(" ", LABEL_LISTS.sub(" ", expression))
    return {
        found.group()
        for found in IDENTIFIER.finditer(bare)
        if found.group() not in KEYWORDS
        and found.group() not in ("Inf", "NaN")
        and not bare[found.end() :].lstrip().startswith("(")  # a function
    }


def rule_expressions() -> dict[str, str]:
    """Each rule's name (alert or record) and its expression."""
    document = yaml.safe_load(RULES.read_text())
    return {
        str(rule.get("alert") or rule.get("record")): str(rule["expr"])
        for group in document["groups"]
        for rule in group["rules"]
    }


def test_promtool_runs_the_rules_unit_tests() -> None:
    promtool = require_promtool()
    result = subprocess.run(
        [promtool, "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_fails_a_rule_whose_threshold_moved(tmp_path: Path) -> None:
    """The rule tests can fail: a p95 threshold of 1 s keeps the slow route's alert quiet."""
    promtool = require_promtool()
    moved = RULES.read_text().replace(") > 0.2", ") > 1.0")
    assert moved != RULES.read_text()
    (tmp_path / "bench_app").mkdir()
    (tmp_path / "bench_app" / "alert_rules.yml").write_text(moved)
    (tmp_path / "tests" / "app").mkdir(parents=True)
    copied = tmp_path / "tests" / "app" / RULE_TESTS.name
    copied.write_text(RULE_TESTS.read_text())
    result = subprocess.run(
        [promtool, "test", "rules", str(copied)],
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        check=False,
    )
    assert result.returncode != 0
    assert "PairbenchSlowRoute" in result.stdout + result.stderr


def test_metric_names_are_read_from_promql() -> None:
    expression = (
        'sum by (route, le) (rate(a_bucket{status="5xx", route=~"/x.*"}[5m])) '
        "/ on (route) group_left b_total > 0.2 and c:recorded offset 5m unless d > bool 1e3"
    )
    assert metric_names(expression) == {"a_bucket", "b_total", "c:recorded", "d"}


async def test_every_metric_the_rules_read_is_exported(app: FastAPI) -> None:
    expressions = rule_expressions()
    assert set(expressions) == {
        "PairbenchSlowRoute",
        "PairbenchErrorRate",
        "PairbenchMemoryHigh",
        "PairbenchEventLoopLag",
        "PairbenchCacheHitRate",
    }
    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/batch-get/mget?users=5")).is_success  # times and a cache
        response = await client.get("/metrics")
    assert response.status_code == 200
    exported = {
        sample.name
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    for alert, expression in expressions.items():
        read = metric_names(expression)
        assert read, alert
        assert read <= exported, f"{alert} reads {sorted(read - exported)}, not on /metrics"
