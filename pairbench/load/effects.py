"""Observing a technique's declared effects (bench_app.effects) after a variant's request.

Each effect becomes an observation, a plain JSON-like value the equivalence check compares
with the baseline variant's the way it compares bodies: keys left, rows stored, the job's
state, the copy a revalidating client ends up holding, the answers concurrent callers (or
callers in turn) got.
"""

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import redis

from bench_app.effects import (
    CallersInTurn,
    ConcurrentCallers,
    DegradesTo,
    Effect,
    JobDone,
    KeysGone,
    PlainWhenNotAccepted,
    Revalidates,
    RowsStored,
)
from bench_app.technique import Technique

JOB_TIMEOUT_S = 30.0  # a job not done by then counts as not done (the worker retries for less)
JOB_POLL_S = 0.05
FINISHED_JOB = ("complete", "failed", "aborted")
STALE_TAG = '"pairbench-not-the-current-tag"'  # an ETag no representation has


@dataclass(frozen=True)
class Services:
    """The servers behind the app, for effects seen there rather than over HTTP."""

    redis_url: str | None = None
    database_url: str | None = None


@dataclass(frozen=True)
class Probe:
    """One variant's request at one point, and the means to look at what it left."""

    client: httpx.Client
    technique: Technique
    variant: str
    params: Mapping[str, Any]
    services: Services
    read: Callable[[httpx.Response], Any]  # a response's answer, as bodies are compared

    def send(
        self, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        request = self.technique.request(self.variant, params or self.params)
        return self.client.request(
            request.method,
            request.url,
            headers={**request.headers, **(headers or {})},
            content=request.content,
        )

    def answer(self, response: httpx.Response) -> Any:
        """The answer a client gets: its body, or its status where that is not a success."""
        if not 200 <= response.status_code < 300:
            return f"HTTP {response.status_code}"
        return self.read(response)


def name_of(effect: Effect) -> str:
    return f"effect {type(effect).__name__}"


def needs_reset(effect: Effect) -> bool:
    """Whether each variant's request must start from the technique's reset state."""
    return isinstance(effect, RowsStored | ConcurrentCallers | CallersInTurn)


def _redis(probe: Probe) -> redis.Redis:
    if probe.services.redis_url is None:
        raise ValueError("checking keys needs the Redis URL")
    return redis.Redis.from_url(probe.services.redis_url)


def _count_keys(probe: Probe, pattern: str) -> int:
    # One KEYS: nothing else runs while the equivalence check does, and SCAN takes ~100 trips.
    with _redis(probe) as client:
        return len(client.keys(pattern))


def _rows(probe: Probe, effect: RowsStored) -> dict[str, Any]:
    if probe.services.database_url is None:
        raise ValueError("checking rows needs the database URL")
    url = probe.services.database_url.replace("postgresql+asyncpg://", "postgresql://")
    columns = ", ".join(effect.columns)
    digest = (
        f"md5(coalesce(string_agg(concat_ws('|', {columns}), E'\\n' ORDER BY {effect.order_by}),"
        " ''))"
        if effect.columns
        else "''"
    )

    async def query() -> dict[str, Any]:
        connection = await asyncpg.connect(url)
        try:
            row = await connection.fetchrow(f"SELECT count(*), {digest} FROM {effect.table}")
        finally:
            await connection.close()
        assert row is not None  # an aggregate always answers one row
        return {"rows": row[0], "checksum": row[1]}

    return asyncio.run(query())


def _job(probe: Probe, response: httpx.Response, fields: tuple[str, ...]) -> Any:
    """The job's state once it finished (or JOB_TIMEOUT_S passed), read from its Location."""
    location = response.headers.get("location")
    if not location:
        return "no Location header naming the job"
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        state = probe.client.get(location)
        if state.status_code != 200:
            return f"the job's URL answers HTTP {state.status_code}"
        found = state.json()
        if found.get("status") in FINISHED_JOB or time.monotonic() > deadline:
            return {name: found.get(name) for name in fields}
        time.sleep(JOB_POLL_S)


def _revalidated(probe: Probe, response: httpx.Response) -> dict[str, Any]:
    tag = response.headers.get("etag")
    if tag is None:
        kept = probe.answer(probe.send())
    else:
        again = probe.send(headers={"If-None-Match": tag})
        if again.status_code == 304:
            same = again.headers.get("etag") == tag
            kept = probe.read(response) if same else f"304 with ETag {again.headers.get('etag')}"
        else:
            kept = probe.answer(again)
    stale = probe.send(headers={"If-None-Match": STALE_TAG})
    return {"copy after revalidating": kept, "answer to a stale tag": probe.answer(stale)}


def _concurrent(probe: Probe, effect: ConcurrentCallers) -> list[Any]:
    requests = [
        {**probe.params, name: value} for name, values in effect.vary.items() for value in values
    ]
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        responses = list(pool.map(probe.send, requests))
    return [probe.answer(response) for response in responses]


def _in_turn(probe: Probe, effect: CallersInTurn) -> list[Any]:
    return [probe.answer(probe.send(headers=caller)) for caller in effect.callers]


def prepare(effect: Effect, probe: Probe) -> Any:
    """What to note before the request (the keys there to drop)."""
    if isinstance(effect, KeysGone):
        probe.client.post(effect.refill_path, params=dict(probe.params)).raise_for_status()
        return _count_keys(probe, effect.pattern(probe.params))
    return None


def observe(effect: Effect, probe: Probe, response: httpx.Response, before: Any) -> Any:
    """The effect's observation after the variant answered `response`."""
    if isinstance(effect, KeysGone):
        left = _count_keys(probe, effect.pattern(probe.params))
        return {"keys there before": before > 0, "keys left after": left}
    if isinstance(effect, RowsStored):
        return _rows(probe, effect)
    if isinstance(effect, JobDone):
        return _job(probe, response, tuple(effect.fields))
    if isinstance(effect, Revalidates):
        return _revalidated(probe, response)
    if isinstance(effect, PlainWhenNotAccepted):
        plain = probe.send(headers={"Accept-Encoding": "identity"})
        encoding = plain.headers.get("content-encoding", "identity")
        return {"content-encoding": encoding, "answer": probe.answer(plain)}
    if isinstance(effect, DegradesTo):
        fallback = dict(effect.fallback(effect.params))
        return {"answer": probe.answer(probe.send(effect.params)), "fallback": fallback}
    if isinstance(effect, CallersInTurn):
        return _in_turn(probe, effect)
    return _concurrent(probe, effect)


def accepts(effect: Effect, expected: Any, actual: Any) -> Any:
    """The expected observation `actual` is held to: the baseline's, except where the
    effect allows another (the documented fallback)."""
    if isinstance(effect, DegradesTo) and actual["answer"] == actual["fallback"]:
        return actual
    return expected
