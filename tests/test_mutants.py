"""Proof by mutants: every technique's equivalence check catches a subtly wrong variant.

One app serves every technique's mutant at once (bench_app.mutants; each touches only its
own technique's routes); for each technique, the check the run uses (body, status,
Content-Type and declared effects) must find its mutated variant not equivalent, naming
it, while its other variants stay equivalent.
"""

import asyncio
import json
import subprocess
import sys
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
from pairbench import results
from pairbench.env.server import free_port
from pairbench.load.answer_sample import answer_record
from pairbench.load.answers_under_load import check_answers_under_load
from pairbench.load.effects import Services
from pairbench.load.measure import keep_answers, reset
from pairbench.load.segment import REPO_ROOT, LoadWorkers, SegmentResult, running_generator
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


def load_then_check(
    base_url: str,
    point: Point,
    variants: list[str],
    run_dir: Path,
    workers: LoadWorkers | None = None,
) -> tuple[dict[str, Any], list[SegmentResult]]:
    """A segment of each of `variants` by the run's load generator (open loop unless given
    Locust workers, then closed loop on them), their sampled answers kept as a run keeps
    them, then checked as a run checks them."""
    technique, segments = point.technique, []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        log_path = run_dir / "generator.log"
        with running_generator(base_url, log_path, workers or LoadWorkers()) as load:
            for variant in variants:
                reset(client, technique, point.params)
                target, raw = technique.target(variant, point.params), run_dir / f"{variant}.csv"
                answers = raw.with_suffix(".answers.jsonl")
                if workers is None:
                    segments.append(load.open(target, 20.0, 0.2, 0.8, raw, answers_path=answers))
                else:
                    segments.append(
                        load.closed(
                            technique.key, target, 4, (0.1, 0.5), 0.5, raw, answers_path=answers
                        )
                    )
                keep_answers(answers, run_dir / results.ANSWERS, point, variant)
        return check_answers_under_load(client, [point], run_dir / results.ANSWERS), segments


@pytest.mark.slow
async def test_a_mutant_is_caught_in_the_answers_sampled_under_open_loop_load(
    mutated: tuple[str, Services], tmp_path: Path
) -> None:
    """n_plus_one's joined (mutated) and selectin (not) loaded open-loop: the open loop's
    sampled answers are compared with the baseline's; joined's differs, selectin's does not."""
    base_url, _ = mutated
    technique = all_techniques()["n_plus_one"]
    point = Point(technique, dict(technique.params))
    found, _ = await asyncio.to_thread(
        load_then_check, base_url, point, ["selectin", "joined"], tmp_path
    )
    # 20 answers in a second: the 10th of each variant's compared; selectin's is right.
    assert found["n_plus_one"]["selectin"] == {"equivalent": True, "answers": 1}
    verdict = found["n_plus_one"]["joined"]
    assert not verdict["equivalent"], verdict
    assert verdict["detail"] == (
        "authors=50: under load, its answer to /n-plus-one/joined?authors=50 differs from "
        "naive's at body: 50 items vs 49"
    )


@pytest.mark.slow
async def test_a_mutant_is_caught_in_the_answers_a_remote_locust_worker_sampled(
    mutated: tuple[str, Services], tmp_path: Path
) -> None:
    """route_cache's decorated_cache, mutated to serve one caller's entry to every other,
    loaded by a Locust worker started as on another host: the answers it sampled reach the
    master, and the baseline asked as the same callers answers otherwise."""
    base_url, _ = mutated
    technique = all_techniques()["route_cache"]
    point = Point(technique, dict(technique.params))
    port = free_port()
    command = [sys.executable, "-m", "pairbench.load.worker", "--master", f"127.0.0.1:{port}"]
    with open(tmp_path / "remote.log", "wb") as log:
        remote = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=log)
    try:
        workers = LoadWorkers(remote=1, bind="127.0.0.1", port=port)
        found, (segment,) = await asyncio.to_thread(
            load_then_check, base_url, point, ["decorated_cache"], tmp_path, workers
        )
    finally:
        remote.kill()
        remote.wait()
    assert segment.load_workers == 1
    verdict = found["route_cache"]["decorated_cache"]
    assert not verdict["equivalent"], verdict
    # Some other caller's author: which field differs first depends on who it is (two
    # authors may share a first name), but it is the body, not the status.
    assert verdict["detail"].startswith(
        "posts=10: under load, its answer to /route-cache/decorated-cache?posts=10 differs "
        "from no_cache's at body."
    ), verdict
