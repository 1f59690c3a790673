"""retries: the same record when the upstream has room; the same declared 503 when it is full,
after 1, ATTEMPTS or as many calls as the retry budget pays for; backoff waits for it to drain."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from bench_app.retry_budget import RetryBudget, full_jitter_s
from bench_app.techniques import all_techniques
from bench_app.techniques import retries as lesson
from pairbench.env.upstream import Upstream
from pairbench.env.upstream_stub import item_value
from tests.contract import assert_every_variant_answers, assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["retries"]
FILL_TIMEOUT_S = 5.0


@asynccontextmanager
async def upstream_full(upstream: Upstream, hold_ms: float) -> AsyncIterator[None]:
    """The stub's /overloaded route held full (its capacity of slow calls in flight) until
    they answer, `hold_ms` after they were sent."""
    capacity = upstream.config.capacity
    before = upstream.counts()
    async with httpx.AsyncClient(base_url=upstream.url, timeout=30) as direct:
        holders = [
            asyncio.create_task(
                direct.get(f"{lesson.ROUTE}/items/h{n}", params={"latency_ms": hold_ms})
            )
            for n in range(capacity)
        ]
        async with asyncio.timeout(FILL_TIMEOUT_S):  # until the stub has them all
            while (await asyncio.to_thread(upstream.counts)).requests - before.requests < capacity:
                await asyncio.sleep(0.005)
        assert (await direct.get(f"{lesson.ROUTE}/items/probe")).status_code == 503, "it is full"
        try:
            yield
        finally:
            held = await asyncio.gather(*holders)
            assert [response.status_code for response in held] == [200] * capacity


@pytest.fixture
def fresh_budget(app: FastAPI) -> RetryBudget:
    app.state.retry_budget = budget = RetryBudget(lesson.BUDGET_RATIO, lesson.BUDGET_RESERVE)
    return budget


@pytest.mark.parametrize("item", [1, 77, 1_000_000])
async def test_with_room_upstream_every_variant_answers_the_record_in_one_call(
    client: httpx.AsyncClient, upstream: Upstream, fresh_budget: RetryBudget, item: int
) -> None:
    expected = {"key": str(item), "value": item_value(str(item))}
    before = upstream.counts()
    answers = await assert_every_variant_answers(client, TECHNIQUE, {"item": item}, expected)
    assert {costs_of(response)["upstream_calls"] for response in answers.values()} == {"1"}
    assert (upstream.counts() - before).requests == len(TECHNIQUE.variants)


async def test_a_full_upstream_is_the_same_declared_503_after_each_strategys_calls(
    client: httpx.AsyncClient,
    upstream: Upstream,
    fresh_budget: RetryBudget,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lesson, "full_jitter_s", lambda *_: 0.0)  # retry at once: calls only
    calls = {}
    answers = set()
    async with upstream_full(upstream, hold_ms=2000):
        for variant in TECHNIQUE.variants:
            before = upstream.counts()
            response = await client.get(TECHNIQUE.url(variant))
            assert response.status_code == 503, variant
            assert response.headers["retry-after"] == str(lesson.RETRY_AFTER_S)
            answers.add(response.text)
            calls[variant] = (
                int(costs_of(response)["upstream_calls"]),
                (upstream.counts() - before).requests,
            )
    assert answers == {f'{{"detail":"{lesson.OVERLOADED}"}}'}
    assert calls == {
        "no_retry": (1, 1),
        "immediate_retries": (lesson.ATTEMPTS, lesson.ATTEMPTS),
        "backoff_with_budget": (lesson.ATTEMPTS, lesson.ATTEMPTS),  # the reserve pays
    }


async def test_the_budget_bounds_the_calls_a_full_upstream_gets(
    client: httpx.AsyncClient, upstream: Upstream, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lesson, "full_jitter_s", lambda *_: 0.0)
    requests, reserve = 20, 2.0
    app.state.retry_budget = RetryBudget(lesson.BUDGET_RATIO, reserve)
    async with upstream_full(upstream, hold_ms=2000):
        before = upstream.counts()
        for _ in range(requests):
            response = await client.get(TECHNIQUE.url("backoff_with_budget"))
            assert response.status_code == 503
        calls = (upstream.counts() - before).requests
    # Each request: one call; retries: what the reserve and the deposits paid for, no more.
    assert requests < calls <= requests + reserve + lesson.BUDGET_RATIO * requests


async def test_backoff_gives_a_full_upstream_time_to_drain_where_immediate_retries_do_not(
    client: httpx.AsyncClient,
    upstream: Upstream,
    fresh_budget: RetryBudget,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The upstream stays full for about a second: immediate retries spend their
    attempts within it; backoff, its draws at their upper bound (0.5, 1 and 2 s: scaled up,
    so that a busy machine's delays stay well inside them), tries again after it."""
    monkeypatch.setattr(lesson, "BACKOFF_BASE_S", 0.5)
    monkeypatch.setattr(lesson, "BACKOFF_CAP_S", 2.0)
    monkeypatch.setattr("bench_app.retry_budget.random.uniform", lambda low, high: high)
    async with upstream_full(upstream, hold_ms=1000):
        immediate = await client.get(TECHNIQUE.url("immediate_retries"))
    assert immediate.status_code == 503
    async with upstream_full(upstream, hold_ms=1000):
        backoff = await client.get(TECHNIQUE.url("backoff_with_budget"))
    assert backoff.status_code == 200  # by its third call at the latest, 1.5 s on
    assert 1 < int(costs_of(backoff)["upstream_calls"]) < lesson.ATTEMPTS


def test_the_budget_pays_retries_a_share_of_first_attempts() -> None:
    budget = RetryBudget(ratio=0.25, reserve=1.0)
    assert budget.withdraw() and not budget.withdraw()  # the reserve, then nothing
    retries = 0
    for _ in range(100):
        budget.deposit()
        retries += budget.withdraw()
    assert retries == 25
    for _ in range(100):
        budget.deposit()
    assert budget.balance == 1.0  # a quiet spell saves up no more than the reserve


def test_the_backoff_doubles_under_its_cap() -> None:
    draws = [[full_jitter_s(retry, 0.01, 0.05) for _ in range(200)] for retry in (1, 2, 3, 4)]
    assert [max(d) <= bound for d, bound in zip(draws, (0.01, 0.02, 0.04, 0.05), strict=True)] == [
        True
    ] * 4
    assert all(min(d) >= 0 for d in draws)
    assert max(draws[2]) > 0.02  # the third retry's wait reaches past the second's cap


@pytest.mark.parametrize("bad", ["0", "1000001", "x"])
async def test_bad_item_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "item", bad)
