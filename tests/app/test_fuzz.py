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

As searching as `schemathesis run --max-examples 25 --checks all` against the served app:
the same phases, 25 generated requests per operation, values drawn from the schema alone
(no strategy of our own narrows what is sent). What keeps it within its time is
choosing where the time goes: the few operations whose cost grows with a parameter
(COSTLY) get their largest values a few times each, not 25 times. The seed is printed;
PAIRBENCH_FUZZ_SEED=<seed> replays it.
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
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from pairbench.env.server import app_environment, running_app
from pairbench.env.services import ServiceUrls
from pairbench.env.upstream import running_upstream
from pairbench.env.upstream_stub import StubConfig
from tests.conftest import TEST_SCALE
from tests.throwaway_redis import throwaway_redis

pytestmark = pytest.mark.slow  # a minute or more: the longest test
FUZZ_SCHEMA = "pairbench_fuzz"
FUZZ_EXAMPLES = 25  # generated requests per operation in the fuzzing phase, as the CLI's run
CALL_SEQUENCES = 10  # stateful phase: scenarios of linked calls ...
SEQUENCE_STEPS = 6  # ... of at most this many requests each
# A request slower than this fails the test: the fuzz must stay bounded. Above the CLI's
# 10 s, as the test shares the machine with make test's others.
REQUEST_TIMEOUT_S = 20.0
SEED_TIMEOUT_S = 120.0
SEED = int(os.environ.get("PAIRBENCH_FUZZ_SEED") or random.SystemRandom().getrandbits(32))

# Valid requests too slow to send by the dozen: above a size, only a few of them an
# operation are sent (the coverage phase's, which come first: the bound among them), and
# the rest are drawn again. Their answer has the same shape at any size, and the
# technique's own tests cover the sizes. n_plus_one's variants read every post of every
# author; an export reads every day. row_by_row waits for a disk sync a row, by design:
# seconds at its bound, far more on a busy disk; what its bound promises is a 422 past it
# (sent), and how long a batch takes is the benchmark's to say, not a test's.
COSTLY = {
    ("GET", "/bulk-insert/row-by-row"): ("rows", 100, 0),
    ("GET", "/n-plus-one/naive"): ("authors", 20, 2),
    ("GET", "/n-plus-one/selectin"): ("authors", 20, 2),
    ("GET", "/n-plus-one/joined"): ("authors", 20, 2),
    ("GET", "/streaming-export/naive"): ("days", 3, 2),
    ("GET", "/streaming-export/streaming"): ("days", 3, 2),
    # A batch of I/O-bound jobs one at a time waits 10 ms a job: 64 of them take a second.
    ("GET", "/queue-concurrency/one-at-a-time"): ("jobs", 8, 2),
    ("GET", "/queue-concurrency/concurrent"): ("jobs", 8, 2),
}

# The formats JSON Schema and OpenAPI define, which schemathesis generates by itself.
STANDARD_FORMATS = {
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uri-template",
    "uuid",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "password",
}


@dataclass
class Tally:
    """What the fuzzing sent, for the summary line: requests per operation, failures."""

    requests: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # per operation, for COSTLY
    costly_sent: Counter[str] = field(default_factory=Counter)
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
    service_urls: ServiceUrls, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A uvicorn server of the app on data, a Redis and an upstream stub of its own; yields
    its base URL. The stub answers without the run's latency: the contract does not depend
    on it, and thousands of requests would wait it out (fan_out's sequential variant, 10 ms
    a call, up to 100 calls a request)."""
    directory = tmp_path_factory.mktemp("fuzz")
    with (
        throwaway_redis(directory) as (redis_url, _),
        running_upstream(
            directory / "upstream.log", lambda _: None, StubConfig(latency_ms=0)
        ) as upstream,
    ):
        environment = app_environment(
            service_urls.database_url, redis_url, TEST_SCALE, upstream.url
        )
        environment["PAIRBENCH_SCHEMA"] = FUZZ_SCHEMA
        drop_schema(settings, FUZZ_SCHEMA)  # a run killed before its clean-up left it
        try:
            seeding = subprocess.run(
                [sys.executable, "-m", "bench_app.seed"],
                env=environment,
                capture_output=True,
                text=True,
                timeout=SEED_TIMEOUT_S,
            )
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
        + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in found.seconds.most_common(6)),
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
    yield schemathesis.openapi.from_url(f"{fuzzed_app}/openapi.json", config=config)


def send_unless_costly(case: Case, tally: Tally, **kwargs: Any) -> Any:
    """Send the case (counted), or reject it when COSTLY says its operation has had its
    share of large ones."""
    costly = COSTLY.get((case.method.upper(), case.path))
    if costly is not None:
        name, most, sends = costly
        value = str((case.query or {}).get(name, ""))
        if value.isdigit() and int(value) > most:
            if tally.costly_sent[case.operation.label] >= sends:
                tally.skipped_costly += 1
                hypothesis.reject()
            tally.costly_sent[case.operation.label] += 1
    tally.requests[case.operation.label] += 1
    started = time.perf_counter()
    try:
        return case.call(**kwargs)
    finally:
        tally.seconds[case.operation.label] += time.perf_counter() - started


def test_every_format_in_the_schema_is_a_standard_one(fuzzed_app: str) -> None:
    """A format of the app's own would make any fuzzer (schemathesis's CLI too) send any
    string where the app wants a value of its kind: declare its shape (a pattern) instead."""
    formats = set(formats_in(httpx.get(f"{fuzzed_app}/openapi.json", timeout=10).json()))
    unknown = formats - STANDARD_FORMATS
    assert not unknown, f"{unknown}: declare the values' shape with a pattern and a length"


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
# Costly values past their share are rejected on purpose (COSTLY); with some seeds that is most
# of an operation's draws, which hypothesis's health check takes for a mistake.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.filter_too_much])
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
