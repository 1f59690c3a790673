"""Same answer first: the sample shop's endpoints compared over real HTTP."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from pairbench.ab.answers import check_answers, equivalence_entry
from pairbench.ab.pair import Endpoint, make_pair
from pairbench.ab.serve import serving_sides
from pairbench.env.server import AppServer

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_APP = "tests.sample_app.main:app"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    log_dir = tmp_path_factory.mktemp("shop")
    sides = {"a": REPO_ROOT, "b": REPO_ROOT}
    with serving_sides(SAMPLE_APP, sides, log_dir, lambda _: None) as served:
        assert served["a"] is served["b"]  # one directory: one process for both sides
        yield served["a"]


def compare(shop: AppServer, a: str, b: str, ignore: tuple[str, ...] = (), customers: int = 30):
    pair = make_pair("p", Endpoint.parse(a), Endpoint.parse(b), ignore=ignore)
    urls = {"a": shop.base_url, "b": shop.base_url}
    return pair, check_answers(pair, urls, {"customers": customers}, f"customers={customers}")


def test_equal_answers_match_once_the_field_that_differs_by_design_is_ignored(
    shop: AppServer,
) -> None:
    pair, check = compare(shop, "/totals/per-customer-scan", "/totals/indexed", ("generated_at",))
    assert check.equal
    entry = equivalence_entry(pair, [check])
    assert entry["b"]["equivalent"]
    assert "ignoring generated_at (key name)" in entry["b"]["detail"]


def test_without_the_ignore_the_timestamp_is_the_first_difference(shop: AppServer) -> None:
    _, check = compare(shop, "/totals/per-customer-scan", "/totals/indexed")
    assert not check.equal
    assert str(check.difference).startswith("body.generated_at: ")


def test_a_wrong_shortcut_is_caught_where_it_first_differs(shop: AppServer) -> None:
    pair, check = compare(shop, "/totals/indexed", "/totals/from-orders", ("generated_at",), 10)
    assert check.difference == "body.customers: 10 items vs 8"
    entry = equivalence_entry(pair, [check])
    assert not entry["b"]["equivalent"]
    assert "customers=10: differs from a at body.customers: 10 items vs 8" in entry["b"]["detail"]


def test_a_refused_request_is_a_difference_naming_its_status(shop: AppServer) -> None:
    _, check = compare(shop, "/totals/indexed", "/totals/indexed", customers=0)
    assert str(check.difference).startswith("a answered HTTP 422")
