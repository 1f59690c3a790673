"""Microbenchmark plans: every variant at its technique's default point."""

from bench_app.techniques import all_techniques
from pairbench.load.micro import micro_plan
from pairbench.plan import plan_points
from pairbench.profiles import PROFILES


def test_the_plan_has_every_variant_at_its_default_point_only() -> None:
    techniques = list(all_techniques().values())
    plan = micro_plan(plan_points(techniques, PROFILES["standard"]))
    assert len(plan) == sum(len(technique.variants) for technique in techniques)
    naive = next(
        case for case in plan if case["technique"] == "n_plus_one" and case["variant"] == "naive"
    )
    assert naive["url"] == "/n-plus-one/naive?authors=50"
