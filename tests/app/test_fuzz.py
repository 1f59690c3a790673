"""Schema fuzzing: every operation in the app's OpenAPI keeps its contract, whatever it is sent.

schemathesis reads /openapi.json and sends each operation generated requests, valid and
invalid (boundaries of every bound, every enum, wrong types, junk), then call sequences
that feed one answer's values into the next request. Every answer must be no server
error, a status the operation declares, a body that matches its declared schema, a
rejection (4xx) for invalid input and an acceptance for valid input. Operations come
from the schema, so a new technique is fuzzed as soon as it is mounted.

The app is a real uvicorn server on real PostgreSQL and Redis, but with data of its own:
its tables live in a schema of their own (PAIRBENCH_SCHEMA, seeded here, dropped after)
and it gets a redis-server of its own, so whatever the writing endpoints do (resets,
bulk inserts, invalidations) cannot touch what the other tests read.

Bounded: FUZZ_EXAMPLES generated requests per operation and phase, plus the boundary
cases; about a minute in all. The seed is printed; PAIRBENCH_FUZZ_SEED=<seed> replays it.
"""

import asyncio
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import unregister_string_format
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.models import MAX_ID
from bench_app.settings import Settings
from bench_app.techniques.pagination import CURSOR_FORMAT, Cursor
from pairbench.env.server import app_environment, running_app
from pairbench.env.services import ServiceUrls
from pairbench.env.upstream import Upstream
from tests.conftest import TEST_SCALE
from tests.throwaway_redis import throwaway_redis

FUZZ_SCHEMA = "pairbench_fuzz"
FUZZ_EXAMPLES = 6  # generated requests per operation in the fuzzing phase
CALL_SEQUENCES = 10  # stateful phase: scenarios of linked calls ...
SEQUENCE_STEPS = 6  # ... of at most this many requests each
REQUEST_TIMEOUT_S = 20.0  # a request slower than this fails the test: the fuzz must stay bounded
SEED_TIMEOUT_S = 120.0
SEED = int(os.environ.get("PAIRBENCH_FUZZ_SEED") or random.SystemRandom().getrandbits(32))

# Valid requests too slow to send by the dozen, skipped above a size: their answer has the
# same shape at any size, and the technique's own tests cover the sizes. row_by_row commits
# each row: at its 10,000-row bound a request takes about a minute on a disk that syncs.
COSTLY = {("GET", "/bulk-insert/row-by-row"): ("rows", 100)}

# The formats JSON Schema and OpenAPI define, which schemathesis generates by itself.
STANDARD_FORMATS = {
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uri-template", "uuid",
    "json-pointer", "relative-json-pointer", "regex", "int32", "int64", "float", "double",
    "byte", "binary", "password",
}  # fmt: skip
# Values of the string formats the app's schema defines itself, each what the app
# accepts: here, any cursor it could have returned.
CUSTOM_FORMATS: dict[str, st.SearchStrategy[str]] = {
    CURSOR_FORMAT: st.builds(
        Cursor, st.datetimes(timezones=st.just(UTC)), st.integers(1, MAX_ID)
    ).map(Cursor.encode),
}


@dataclass
class Tally:
    """What the fuzzing sent, for the summary line: requests per operation, failures."""

    requests: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # per operation, for COSTLY
    skipped_costly: int = 0
    failed: set[str] = field(default_factory=set)


def drop_schema(settings: Settings, schema: str) -> None:
    async def drop() -> None:
        engine = make_engine(settings)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await engine.dispose()

    asyncio.run(drop())


@pytest.fixture(scope="module")
def fuzzed_app(
    service_urls: ServiceUrls,
    settings: Settings,
    upstream: Upstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A uvicorn server of the app on data and a Redis of its own; yields its base URL."""
    directory = tmp_path_factory.mktemp("fuzz")
    with throwaway_redis(directory) as (redis_url, _):
        environment = app_environment(
            service_urls.database_url, redis_url, TEST_SCALE, upstream.url
        )
        environment["PAIRBENCH_SCHEMA"] = FUZZ_SCHEMA
        drop_schema(settings, FUZZ_SCHEMA)  # a run killed before its clean-up left it
        try:
            seeding = subprocess.run(
                [sys.executable, "-m", "bench_app.seed"],
                env=environment, capture_output=True, text=True, timeout=SEED_TIMEOUT_S,
            )  # fmt: skip
            assert seeding.returncode == 0, seeding.stderr[-2000:]
            with running_app(environment, directory / "server.log", log=lambda _: None) as url:
                yield url
        finally:
            drop_schema(settings, FUZZ_SCHEMA)


def show(request: pytest.FixtureRequest, line: str) -> None:
    """Print past pytest's capture: the seed and the totals are wanted on a passing run too."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(line, flush=True)


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    found = Tally()
    yield found
    failed = f" ({', '.join(sorted(found.failed))})" if found.failed else ""
    show(
        request,
        f"\nschema fuzzing, seed {SEED}: {len(found.requests)} operations, "
        f"{sum(found.requests.values())} requests ({found.skipped_costly} costly ones skipped), "
        f"{len(found.failed)} failed{failed}; slowest: "
        + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in found.seconds.most_common(4)),
    )


@pytest.fixture(scope="module")
def fuzzed_api(fuzzed_app: str, request: pytest.FixtureRequest) -> Iterator[OpenApiSchema]:
    """The app's OpenAPI as schemathesis loads it, with the fuzzing's bounds and seed."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "request-timeout": REQUEST_TIMEOUT_S,
            # No example database: the seed alone decides what is sent, and replays it.
            "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "database": "none"},
            "phases": {
                "examples": {"enabled": True},
                # Methods an operation does not serve must be a 405: two make the point
                # (FastAPI answers them alike), not all seven for every operation.
                "coverage": {"enabled": True, "unexpected-methods": ["GET", "POST", "DELETE"]},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": SEQUENCE_STEPS},
            },
        }
    )
    show(request, f"\nschema fuzzing with seed {SEED} (replay: PAIRBENCH_FUZZ_SEED={SEED})")
    for name, strategy in CUSTOM_FORMATS.items():
        schemathesis.openapi.format(name, strategy)
    try:
        yield schemathesis.openapi.from_url(f"{fuzzed_app}/openapi.json", config=config)
    finally:
        for name in CUSTOM_FORMATS:
            unregister_string_format(name)


def send_unless_costly(case: Case, tally: Tally, **kwargs: Any) -> Any:
    """Send the case (counted), or reject it when COSTLY says it is too slow to send."""
    costly = COSTLY.get((case.method.upper(), case.path))
    if costly is not None:
        name, most = costly
        value = str((case.query or {}).get(name, ""))
        if value.isdigit() and int(value) > most:
            tally.skipped_costly += 1
            hypothesis.reject()
    tally.requests[case.operation.label] += 1
    started = time.perf_counter()
    try:
        return case.call(**kwargs)
    finally:
        tally.seconds[case.operation.label] += time.perf_counter() - started


def test_every_format_in_the_schema_is_one_the_fuzzing_can_generate(fuzzed_app: str) -> None:
    """Else schemathesis would send any string where the app wants a value of its own kind."""
    formats = set(formats_in(httpx.get(f"{fuzzed_app}/openapi.json", timeout=10).json()))
    unknown = formats - STANDARD_FORMATS - CUSTOM_FORMATS.keys()
    assert not unknown, f"add a strategy for {unknown} to CUSTOM_FORMATS"
    assert CURSOR_FORMAT in formats


def formats_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield node["format"]
        for value in node.values():
            yield from formats_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from formats_in(value)


schema = schemathesis.pytest.from_fixture("fuzzed_api")


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 reads `node._nodeid`, which pytest 9.2 no longer has: give it one."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Case, tally: Tally) -> None:
    try:
        response = send_unless_costly(case, tally)
        case.validate_response(response)
    except hypothesis.errors.UnsatisfiedAssumption:
        raise
    except BaseException:  # schemathesis's FailureGroup is a BaseExceptionGroup
        tally.failed.add(case.operation.label)
        raise


def test_call_sequences_keep_the_contract(fuzzed_api: OpenApiSchema, tally: Tally) -> None:
    """Linked calls: values from one answer (ids, cursors) become the next request's input."""

    @hypothesis.seed(SEED)
    class CallSequences(fuzzed_api.as_state_machine()):  # type: ignore[misc]
        def call(self, case: Case, **kwargs: Any) -> Any:
            return send_unless_costly(case, tally, **kwargs)

    try:
        CallSequences.run(
            settings=hypothesis.settings(
                max_examples=CALL_SEQUENCES,
                stateful_step_count=SEQUENCE_STEPS,
                deadline=None,
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    except BaseException:
        tally.failed.add("call sequences")
        raise
