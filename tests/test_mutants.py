"""Proof by mutants: every technique's equivalence check catches a subtly wrong variant.

One app serves every technique's mutant at once (bench_app.mutants; each touches only its
own technique's routes); for each technique, the check the run uses (body, status,
Content-Type and declared effects) must find its mutated variant not equivalent, naming
it, while its other variants stay equivalent.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bench_app.main import create_app
from bench_app.mutants import MUTANTS, MutantSwitchError, install_mutants
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from pairbench.load.answer_sample import answer_record
from pairbench.load.answers_under_load import check_answers_under_load
from pairbench.load.effects import Services
from pairbench.plan import Point, resolve_points
from pairbench.runner import check_all_equivalent
from tests.served import served


def test_every_technique_has_a_mutant_of_an_optimized_variant() -> None:
    techniques = all_techniques()
    assert set(MUTANTS) == set(techniques)
    for key, (variant, _) in MUTANTS.items():
        assert variant in techniques[key].variants and variant != techniques[key].baseline


def test_the_switch_refuses_a_name_that_has_no_mutant() -> None:
    with pytest.raises(MutantSwitchError, match="PAIRBENCH_MUTANT='nope'"):
        install_mutants(FastAPI(), "nope")


@pytest.fixture(scope="module")
async def mutated(seeded: Settings) -> AsyncIterator[tuple[str, Services]]:
    """Every technique's mutant served at once; its base URL and the services behind it."""
    settings = seeded.model_copy(update={"mutant": ",".join(MUTANTS)})
    app = create_app(settings)
    async with app.router.lifespan_context(app), served(app) as base_url:
        yield base_url, Services(settings.redis_url, settings.database_url)


@pytest.mark.parametrize("key", sorted(MUTANTS))
async def test_the_equivalence_check_catches_the_mutant(
    key: str, mutated: tuple[str, Services]
) -> None:
    base_url, services = mutated
    technique, variant = all_techniques()[key], MUTANTS[key][0]
    logged: list[str] = []

    def check() -> dict[str, Any]:
        points = resolve_points(base_url, [Point(technique, dict(technique.params))])
        verdicts: dict[str, Any] = check_all_equivalent(base_url, points, logged.append, services)
        return verdicts

    verdicts = (await asyncio.to_thread(check))[key]
    assert not verdicts[variant]["equivalent"], verdicts[variant]
    assert verdicts[variant]["difference"] in verdicts[variant]["detail"]
    assert [line for line in logged if line.startswith(f"NOT EQUIVALENT {key}/")] == [
        f"NOT EQUIVALENT {key}/{variant}: {verdicts[variant]['detail']}"
    ]
    others = {name: found for name, found in verdicts.items() if name != variant}
    assert all(found["equivalent"] for found in others.values()), others


async def test_an_answer_sampled_under_load_is_compared_with_the_baselines(
    mutated: tuple[str, Services], tmp_path: Path
) -> None:
    """n_plus_one's joined (mutated) and selectin (not) as the generator samples them."""
    base_url, _ = mutated
    technique = all_techniques()["n_plus_one"]
    point = Point(technique, dict(technique.params))
    answers = tmp_path / "answers.jsonl"

    def sample_then_check() -> dict[str, Any]:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            with answers.open("w") as out:
                for variant in ("selectin", "joined"):
                    url = technique.url(variant, {"authors": 7})
                    response = client.get(url)
                    record = answer_record({"url": url, "response": response, "exception": None})
                    labels = {"technique": technique.key, "variant": variant, "point": point.label}
                    out.write(json.dumps({**labels, **(record or {})}) + "\n")
            return check_answers_under_load(client, [point], answers)

    verdicts = (await asyncio.to_thread(sample_then_check))["n_plus_one"]
    assert verdicts["selectin"] == {"equivalent": True, "answers": 1}
    joined = verdicts["joined"]
    assert not joined["equivalent"]
    assert joined["detail"] == (
        "authors=50: under load, its answer to /n-plus-one/joined?authors=7 differs from "
        "naive's at body: 7 items vs 6"
    )
