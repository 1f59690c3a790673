"""The tests-only switch that makes an optimized variant regress, for the gate's self-test."""

import httpx
import pytest

from bench_app.main import create_app
from bench_app.regression_switch import RegressionSwitchError, regressed_paths
from bench_app.settings import Settings
from tests.costs import costs_of
from tests.techniques.test_instrumentation import unseen_ids


async def test_the_switched_variant_is_served_by_its_baseline(seeded: Settings) -> None:
    app = create_app(seeded.model_copy(update={"inject_regression": "n_plus_one:selectin"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            switched = await client.get("/n-plus-one/selectin?authors=10")
            untouched = await client.get("/n-plus-one/joined?authors=10")
    assert switched.status_code == 200 and costs_of(switched)["queries"] == "11"
    assert costs_of(untouched)["queries"] == "1"


async def test_a_route_with_a_path_parameter_is_switched_with_its_value(seeded: Settings) -> None:
    # instrumentation's variants differ only in the middleware around their route, which a
    # request reaches by its path: /instrumentation/optimized/users/7 must become naive's.
    spec = "instrumentation:optimized"
    # An id no earlier test in this process asked for: the histogram is the module's.
    (user_id,) = unseen_ids(1)
    app = create_app(seeded.model_copy(update={"inject_regression": spec}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            before = (await client.get("/instrumentation/series")).json()["naive"]["label_sets"]
            switched = await client.get(f"/instrumentation/optimized/users/{user_id}")
            after = (await client.get("/instrumentation/series")).json()["naive"]["label_sets"]
            missing = await client.get("/instrumentation/optimized/users/999999")
    assert switched.status_code == 200 and switched.json()["id"] == user_id
    assert after == before + 1  # naive's raw-path histogram timed it: a label set for its path
    assert missing.status_code == 404  # the parameter reached the baseline's handler


@pytest.mark.parametrize("spec", ["n_plus_one:naive", "n_plus_one:nope", "nope:selectin", ""])
def test_a_switch_must_name_an_optimized_variant(spec: str) -> None:
    with pytest.raises(RegressionSwitchError, match="technique:variant"):
        regressed_paths(spec)
