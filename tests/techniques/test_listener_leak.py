"""listener_leak: every variant answers alike and sees a change made while it reads; only
the one that never unsubscribes leaves its listener (and reader) on the bus."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench_app.db import get_session, make_engine
from bench_app.event_bus import EventBus
from bench_app.metering import metered
from bench_app.models import User
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.listener_leak import USER_CHANGED, USER_EVENTS, ProfileReader
from tests.contract import assert_every_variant_answers, assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["listener_leak"]
USERS = User.__table__
LEFT_BEHIND = {"never_removed": 1, "unsubscribed": 0, "weak": 0}  # listeners per request


async def profile_of(settings: Settings, user_id: int) -> dict[str, Any]:
    """The contract's answer, read independently in plain SQL."""
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT id, first_name, last_name, role, bio "
                        f"FROM {USERS.schema}.{USERS.name} WHERE id = :id"
                    ),
                    {"id": user_id},
                )
            ).one()
    finally:
        await engine.dispose()
    return {**row._mapping, "changed_while_reading": False}


@pytest.fixture
def empty_bus() -> Iterator[None]:
    """The bus as a process just started has it (the harness never empties it)."""
    USER_EVENTS.clear()
    yield
    USER_EVENTS.clear()


@pytest.mark.parametrize("user_id", [1, 2, 17])
async def test_every_variant_answers_the_profile_and_costs_one_query(
    client: httpx.AsyncClient, seeded: Settings, empty_bus: None, user_id: int
) -> None:
    expected = await profile_of(seeded, user_id)
    responses = await assert_every_variant_answers(
        client, TECHNIQUE, {"user_id": user_id}, expected
    )
    assert {variant: costs_of(r)["queries"] for variant, r in responses.items()} == dict.fromkeys(
        TECHNIQUE.variants, "1"
    )


async def test_only_the_listener_never_removed_stays_on_the_bus(
    client: httpx.AsyncClient, empty_bus: None
) -> None:
    requests = 25
    for variant in TECHNIQUE.variants:
        before = USER_EVENTS.listener_count(USER_CHANGED)
        for _ in range(requests):
            assert (await client.get(TECHNIQUE.url(variant))).status_code == 200
        left = USER_EVENTS.listener_count(USER_CHANGED) - before
        assert left == LEFT_BEHIND[variant] * requests, variant
        # ... and each request's meter says what it left: the leak, counted
        kept = costs_of(await client.get(TECHNIQUE.url(variant)))["listeners_kept"]
        assert kept == str(LEFT_BEHIND[variant]), variant
    # The leaked listeners are live: a change calls every one of them (the metered
    # request's too).
    assert USER_EVENTS.publish(USER_CHANGED, 1) == requests + 1


async def test_a_request_for_no_user_is_a_404_and_only_never_removed_still_leaks(
    client: httpx.AsyncClient, empty_bus: None
) -> None:
    for variant in TECHNIQUE.variants:
        before = USER_EVENTS.listener_count(USER_CHANGED)
        response = await client.get(TECHNIQUE.url(variant, {"user_id": 2**62}))
        assert response.status_code == 404
        assert "no user has the id" in response.json()["detail"]
        assert USER_EVENTS.listener_count(USER_CHANGED) - before == LEFT_BEHIND[variant]
        # The meter reads the bus as the 404 leaves, while the error's traceback still holds
        # the weak listener's reader: it goes a moment later (just above), so only the
        # strong ones are sure.
        kept = int(costs_of(response)["listeners_kept"])
        assert kept == LEFT_BEHIND[variant] or variant == "weak", variant


class PublishingSession:
    """A session that publishes a change to `user_id` just before each statement: a write
    that lands while the request reads."""

    def __init__(self, session: AsyncSession, user_id: int) -> None:
        self.session = session
        self.user_id = user_id

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        USER_EVENTS.publish(USER_CHANGED, self.user_id + 1)  # another user's: not a change
        USER_EVENTS.publish(USER_CHANGED, self.user_id)
        return await self.session.execute(*args, **kwargs)


async def test_every_variant_sees_a_change_made_while_it_reads(
    app: FastAPI, client: httpx.AsyncClient, empty_bus: None
) -> None:
    async def publishing_session(request: Request) -> AsyncIterator[PublishingSession]:
        async with request.app.state.sessionmaker() as session:
            yield PublishingSession(session, 3)

    app.dependency_overrides[get_session] = publishing_session
    try:
        for variant in TECHNIQUE.variants:
            response = await client.get(TECHNIQUE.url(variant, {"user_id": 3}))
            assert response.status_code == 200
            assert response.json()["changed_while_reading"] is True, variant
    finally:
        del app.dependency_overrides[get_session]


def test_a_weak_listener_goes_with_its_reader_and_a_strong_one_keeps_it() -> None:
    bus = EventBus()
    reader = ProfileReader(5)
    bus.subscribe_weakly(USER_CHANGED, reader.on_user_changed)
    assert bus.publish(USER_CHANGED, 5) == 1 and reader.changes == [5]
    del reader
    assert bus.listener_count(USER_CHANGED) == 0 and bus.publish(USER_CHANGED, 5) == 0
    kept = ProfileReader(6)
    unsubscribe = bus.subscribe(USER_CHANGED, kept.on_user_changed)
    with bus.subscribed(USER_CHANGED, ProfileReader(6).on_user_changed):
        assert bus.publish(USER_CHANGED, 6) == 2
    assert bus.listener_count(USER_CHANGED) == 1
    unsubscribe()
    assert bus.listener_count(USER_CHANGED) == 0


def test_a_kept_listener_is_metered_on_the_request_that_left_it() -> None:
    bus = EventBus()
    with metered() as leaving:
        reader = ProfileReader(1)
        bus.subscribe_weakly(USER_CHANGED, reader.on_user_changed)
        unsubscribe = bus.subscribe(USER_CHANGED, ProfileReader(2).on_user_changed)
        with bus.subscribed(USER_CHANGED, ProfileReader(3).on_user_changed):
            pass
    assert leaving.listeners_kept == 2
    with metered() as later:  # another request lets them go: its own count is untouched
        unsubscribe()
        del reader
    assert later.listeners_kept == 0
    assert leaving.listeners_kept == 0 and bus.listener_count(USER_CHANGED) == 0


def test_the_run_is_a_soak_in_a_process_of_its_own() -> None:
    # Emptied between segments, or in a process shared with other techniques, the bus
    # would hide the leak in memory freed by others.
    assert TECHNIQUE.reset_path is None and not TECHNIQUE.fresh_process
    assert TECHNIQUE.soak_process and TECHNIQUE.memory_figures


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", str(2**63)])
async def test_a_bad_user_id_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, bad: str
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "user_id", bad)


async def test_the_openapi_declares_the_404_and_the_bounds(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path in TECHNIQUE.paths.values():
        operation = schema["paths"][path]["get"]
        (user_id,) = operation["parameters"]
        assert (user_id["schema"]["minimum"], user_id["schema"]["maximum"]) == (1, 2**63 - 1)
        assert {"200", "404", "422"} <= set(operation["responses"])
