"""Per-request cost meter: what each request spent, reported on its own response.

A request's costs (SQL statements, DB time, Redis commands, upstream calls) are
deterministic, unlike its timing, so they explain the timings ("naive issued 51
queries") and make noise-free regression checks. The meter is a pure ASGI
middleware: BaseHTTPMiddleware runs the endpoint in another task, whose contextvar
changes would never reach the response.
"""

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench_app.routing import route_template
from bench_app.slow_queries import SlowQueryLog
from bench_app.streamed_costs import WHOLE_COST_HEADER, StreamedCosts

COST_HEADER = "x-cost"  # the one response header that carries a request's costs
# The meter's fields, in the order the harness's sample files keep them. The header names
# only those that are not zero (`x-cost: queries=1 db_ms=0.412 rows=1 app_ms=0.913`): one
# short header costs the app a fraction of what a header per field did.
COST_FIELDS = (
    "queries",
    "db_ms",
    "rows",
    "db_bytes",
    "connections",
    "redis_commands",
    "redis_round_trips",
    "redis_blocking_scans",
    "cache_hits",
    "cache_misses",
    "upstream_calls",
    "upstream_connections",
    "upstream_slow_calls",
    "listeners_kept",
    "job_records_kept",
    "memo_entries_kept",
    "tasks_started",
    "app_ms",
    "body_bytes",
    "wire_bytes",
    "encode_ms",
)
# Counted only where a route opts in: absent means "not counted" (""), never zero.
OPTIONAL_COST_FIELDS = frozenset({"db_bytes", "body_bytes", "wire_bytes", "encode_ms"})
_ABSENT = {field: "" if field in OPTIONAL_COST_FIELDS else "0" for field in COST_FIELDS}


def parse_cost_header(value: str | None) -> dict[str, str]:
    """Every cost field's value in an `x-cost` header, as text: "0" for a count the header
    leaves out, "" for an optional field it leaves out; all "" without a header (not metered)."""
    if value is None:
        return dict.fromkeys(COST_FIELDS, "")
    fields = dict(_ABSENT)
    for pair in value.split():
        name, _, number = pair.partition("=")
        if name in fields:
            fields[name] = number
    return fields


@dataclass(slots=True)
class RequestCost:
    """What one request has spent so far."""

    queries: int = 0  # SQL statements sent (an executemany counts once: one round trip)
    db_seconds: float = 0.0
    rows: int = 0  # rows the database returned
    db_bytes: int | None = None  # bytes of those rows; None (left out of the header): not counted
    connections: int = 0  # new database connections opened
    redis_commands: int = 0
    redis_round_trips: int = 0  # a pipeline or MGET is one round trip for many commands
    # Commands that walk the whole keyspace in one call (KEYS), while every other client of
    # that Redis waits (bench_app.redis_metering): what invalidation's readers pay for.
    redis_blocking_scans: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    upstream_calls: int = 0  # HTTP requests sent to the upstream service
    upstream_connections: int = 0  # new TCP connections opened to it
    upstream_slow_calls: int = 0  # answered SLOW_CALL_S or more after getting a connection
    # Listeners the request subscribed to an app-level event bus and left there when it
    # answered (bench_app.event_bus): a leak's count, one kept listener at a time.
    listeners_kept: int = 0
    # Finished jobs' records the request's jobs left in the job queue's Redis when it answered
    # (bench_app.job_batches): what a queue piles up, one record at a time.
    job_records_kept: int = 0
    # Entries the request added to an in-process memo, less those its insert evicted
    # (bench_app.techniques.bounded_cache): a leak's count, one kept entry at a time.
    memo_entries_kept: int = 0
    # asyncio tasks the request's code started (bench_app.task_count).
    tasks_started: int = 0
    # Set only where a route encodes its body (bench_app.content_encoding); None (left out of
    # the header) elsewhere. The body before and after content encoding, and the time spent on it.
    body_bytes: int | None = None
    wire_bytes: int | None = None
    encode_seconds: float | None = None
    # Statements slower than the slow-query threshold: (SQL, seconds); None until one is.
    slow_statements: list[tuple[str, float]] | None = None

    def header(self, app_seconds: float) -> tuple[bytes, bytes]:
        """The cost as the `x-cost` response header, naming only what is not zero.

        Written out rather than looped over COST_FIELDS: this runs on every response.
        """
        parts = []
        if self.queries:
            parts.append(b"queries=%d db_ms=%.3f" % (self.queries, self.db_seconds * 1000))
        if self.rows:
            parts.append(b"rows=%d" % self.rows)
        if self.db_bytes is not None:
            parts.append(b"db_bytes=%d" % self.db_bytes)
        if self.connections:
            parts.append(b"connections=%d" % self.connections)
        if self.redis_commands:
            parts.append(b"redis_commands=%d" % self.redis_commands)
        if self.redis_round_trips:
            parts.append(b"redis_round_trips=%d" % self.redis_round_trips)
        if self.redis_blocking_scans:
            parts.append(b"redis_blocking_scans=%d" % self.redis_blocking_scans)
        if self.cache_hits:
            parts.append(b"cache_hits=%d" % self.cache_hits)
        if self.cache_misses:
            parts.append(b"cache_misses=%d" % self.cache_misses)
        if self.upstream_calls:
            parts.append(b"upstream_calls=%d" % self.upstream_calls)
        if self.upstream_connections:
            parts.append(b"upstream_connections=%d" % self.upstream_connections)
        if self.upstream_slow_calls:
            parts.append(b"upstream_slow_calls=%d" % self.upstream_slow_calls)
        if self.listeners_kept:
            parts.append(b"listeners_kept=%d" % self.listeners_kept)
        if self.job_records_kept:
            parts.append(b"job_records_kept=%d" % self.job_records_kept)
        if self.memo_entries_kept:
            parts.append(b"memo_entries_kept=%d" % self.memo_entries_kept)
        if self.tasks_started:
            parts.append(b"tasks_started=%d" % self.tasks_started)
        if self.body_bytes is not None:
            parts.append(b"body_bytes=%d" % self.body_bytes)
        if self.wire_bytes is not None:
            parts.append(b"wire_bytes=%d" % self.wire_bytes)
        if self.encode_seconds is not None:
            parts.append(b"encode_ms=%.3f" % (self.encode_seconds * 1000))
        parts.append(b"app_ms=%.3f" % (app_seconds * 1000))
        return b"x-cost", b" ".join(parts)


_current_cost: ContextVar[RequestCost | None] = ContextVar("pairbench_request_cost", default=None)


def current_cost() -> RequestCost | None:
    """The cost record of the request being served, or None outside a request."""
    return _current_cost.get()


@contextmanager
def metered() -> Iterator[RequestCost]:
    """Meter everything done inside the block (a test's direct call)."""
    cost = RequestCost()
    token = _current_cost.set(cost)
    try:
        yield cost
    finally:
        _current_cost.reset(token)


class RequestObserver(Protocol):
    """Told when each HTTP request starts and ends (the app's metrics are one)."""

    def started(self) -> None: ...

    def finished(self, scope: Scope, status: int, seconds: float, cost: RequestCost | None) -> None:
        """`scope` has been routed by now; `cost` is None when nothing was metered."""


class CostMeterMiddleware:
    """Puts each HTTP request's cost on its response (`x-cost`), files its slow statements,
    and tells an observer (the metrics) when it ends: one middleware layer, not two.

    A streamed response's header carries its costs up to the first byte; its whole costs
    go to `streamed_costs` as its body ends (bench_app.streamed_costs). A body's first piece
    is held until the next message says whether more follow: a body whose second piece ends
    it is no stream (Starlette's BaseHTTPMiddleware sends every body as a piece and an empty
    end), and its header carries its whole cost."""

    def __init__(
        self,
        app: ASGIApp,
        slow_queries: SlowQueryLog | None = None,
        observer: RequestObserver | None = None,
        streamed_costs: StreamedCosts | None = None,
    ) -> None:
        self.app = app
        self.slow_queries = slow_queries
        self.observer = observer
        self.streamed_costs = streamed_costs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        cost = RequestCost()
        token = _current_cost.set(cost)  # set and reset by hand: cheaper than metered()
        status = 500  # what the client gets if the app raises before it answers
        # The start is held until the body says whether it streams (more than two pieces): a
        # streamed body does its work after the headers have left. Its first piece is held
        # with it until the second shows whether that one ends the body.
        held: Message | None = None
        first_piece: Message | None = None
        streamed_costs, streamed_id = self.streamed_costs, ""

        async def release(streams: bool) -> None:
            nonlocal held, streamed_id
            assert held is not None
            headers = [*held.get("headers", ()), cost.header(time.perf_counter() - started)]
            if streams and streamed_costs is not None:
                streamed_id, path = streamed_costs.new_path()
                headers.append((WHOLE_COST_HEADER.encode(), path))
            message, held = {**held, "headers": headers}, None
            await send(message)

        async def send_with_cost(message: Message) -> None:
            nonlocal status, held, first_piece
            if message["type"] == "http.response.start":
                status, held = message["status"], message
                return
            more = message["type"] == "http.response.body" and bool(message.get("more_body"))
            if held is not None and first_piece is None and more:
                first_piece = message  # held until the next message says if the body streams
                return
            if held is not None:
                await release(first_piece is not None and more)
                if first_piece is not None:
                    await send(first_piece)
                    first_piece = None
            elif streamed_id and streamed_costs is not None and not message.get("more_body"):
                # Recorded before the last piece leaves, so it is there when the client asks.
                streamed_costs.record(streamed_id, cost.header(time.perf_counter() - started)[1])
            await send(message)

        observer = self.observer
        if observer is not None:
            observer.started()
        try:
            await self.app(scope, receive, send_with_cost)
            if held is not None:  # a start with no body message, or one piece, after it
                await release(False)
                if first_piece is not None:
                    await send(first_piece)
        finally:
            _current_cost.reset(token)
            if observer is not None:
                observer.finished(scope, status, time.perf_counter() - started, cost)
            if cost.slow_statements and self.slow_queries is not None:
                self.slow_queries.record_all(route_template(scope), cost.slow_statements)


async def count_db_bytes() -> None:
    """Also count the bytes of the rows the current request reads (a FastAPI dependency).

    Opt-in, because sizing every value costs the request CPU time that other
    techniques' timings should not carry.
    """
    cost = _current_cost.get()
    if cost is not None and cost.db_bytes is None:
        cost.db_bytes = 0


# Binary widths, by type OID, of the fixed-size types: bool, int8, int2, int4, float4, float8,
# date, timestamp, timestamptz, uuid. Text types count their UTF-8 bytes, bytea its bytes.
FIXED_WIDTHS = {16: 1, 20: 8, 21: 2, 23: 4, 700: 4, 701: 8, 1082: 4, 1114: 8, 1184: 8, 2950: 16}
TEXT_TYPES = {19, 25, 1042, 1043}  # name, text, char(n), varchar
BYTEA = 17
ROW_HEADER_BYTES = 7  # a DataRow message: type byte, int32 length, int16 value count
VALUE_HEADER_BYTES = 4  # before each value: its int32 length (-1 and no bytes for NULL)


def result_bytes(description: Sequence[Sequence[Any]], rows: Sequence[Sequence[Any]]) -> int:
    """The size of `rows` as PostgreSQL sent them to asyncpg: DataRow messages, binary format.

    Exact for the fixed-size, text and bytea types; any other type (numeric, json, arrays)
    is counted by its text form, an approximation. The row description and the command
    tag, a few dozen bytes per statement, are left out.
    """
    if not rows:
        return 0
    total = len(rows) * (ROW_HEADER_BYTES + VALUE_HEADER_BYTES * len(description))
    for column, values in zip(description, zip(*rows, strict=True), strict=True):
        type_oid = column[1]
        if type_oid in FIXED_WIDTHS:
            total += FIXED_WIDTHS[type_oid] * (len(values) - values.count(None))
        elif type_oid in TEXT_TYPES:
            total += _utf8_length([value for value in values if value is not None])
        elif type_oid == BYTEA:
            total += sum(len(value) for value in values if value is not None)
        else:
            total += sum(len(str(value).encode()) for value in values if value is not None)
    return total


def _utf8_length(texts: list[str]) -> int:
    """Total UTF-8 size of `texts`; for ASCII, the usual case, without encoding anything."""
    if all(map(str.isascii, texts)):
        return sum(map(len, texts))
    return sum(len(text.encode()) for text in texts)


class StatementMeter:
    """Dialect `do_execute*` listeners that send each statement themselves, and meter it.

    Dialect events rather than the engine's before/after_cursor_execute: any engine
    listener switches SQLAlchemy to its evented path at every step of an execution
    (connect, begin, execute, commit), which costs a measurable share of a short
    statement; these sit only where the statement goes to the driver and cost far less.
    """

    def __init__(self, dialect: Dialect, slow_query_s: float) -> None:
        self.dialect = dialect
        self.slow_query_s = slow_query_s
        self.paused = False

    def connecting(self, *_: Any) -> None:
        """Stop counting while a connection is set up: the first one asks the server what
        it is (its version, schema), work no request asked for."""
        self.paused = True

    def connected(self, *_: Any) -> None:
        """Count the new connection against the request that opened it; count again."""
        self.paused = False
        cost = _current_cost.get()
        if cost is not None:
            cost.connections += 1

    def execute(self, cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        cost = _current_cost.get()
        if cost is None or self.paused:
            return False  # outside a request: the dialect executes it as usual
        started = time.perf_counter()
        self.dialect.do_execute(cursor, statement, parameters, context)
        self._count(cost, cursor, statement, time.perf_counter() - started)
        return True

    def execute_no_params(self, cursor: Any, statement: str, context: Any) -> bool:
        cost = _current_cost.get()
        if cost is None or self.paused:
            return False
        started = time.perf_counter()
        self.dialect.do_execute_no_params(cursor, statement, context)
        self._count(cost, cursor, statement, time.perf_counter() - started)
        return True

    def executemany(self, cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        cost = _current_cost.get()
        if cost is None or self.paused:
            return False
        started = time.perf_counter()
        self.dialect.do_executemany(cursor, statement, parameters, context)
        self._count(cost, cursor, statement, time.perf_counter() - started)
        return True

    def _count(self, cost: RequestCost, cursor: Any, statement: str, seconds: float) -> None:
        cost.queries += 1
        cost.db_seconds += seconds
        if seconds > self.slow_query_s:
            cost.slow_statements = [*(cost.slow_statements or ()), (statement, seconds)]
        if cursor.description is None:  # a statement that returns no rows
            return
        if getattr(cursor, "server_side", False):
            # A server-side cursor (stream(), yield_per) fetches its rows later, batch by batch,
            # often while the response streams: each fetch is counted as it comes.
            cursor._cursor = MeteredFetches(cursor._cursor, cost, cursor.description)
            return
        cost.rows += max(cursor.rowcount, 0)
        if cost.db_bytes is not None:
            # SQLAlchemy's asyncpg cursor has fetched all rows by now; they wait in its buffer
            # for the result to read them.
            cost.db_bytes += result_bytes(cursor.description, cursor._rows)


class MeteredFetches:
    """An asyncpg server-side cursor whose fetches count against the request that opened it:
    their rows, bytes and the time spent waiting for them."""

    def __init__(self, cursor: Any, cost: RequestCost, description: Sequence[Any]) -> None:
        self.cursor, self.cost, self.description = cursor, cost, description

    async def fetch(self, count: int, *, timeout: float | None = None) -> list[Any]:
        started = time.perf_counter()
        rows: list[Any] = await self.cursor.fetch(count, timeout=timeout)
        self.cost.db_seconds += time.perf_counter() - started
        self.cost.rows += len(rows)
        if self.cost.db_bytes is not None:
            self.cost.db_bytes += result_bytes(self.description, rows)
        return rows


def meter_engine(engine: AsyncEngine, slow_query_s: float = math.inf) -> None:
    """Count `engine`'s statements, their time and rows, and new connections, per request;
    keep those slower than `slow_query_s` for the slow-query log."""
    sync_engine = engine.sync_engine
    meter = StatementMeter(sync_engine.dialect, slow_query_s)
    event.listen(sync_engine, "do_execute", meter.execute)
    event.listen(sync_engine, "do_execute_no_params", meter.execute_no_params)
    event.listen(sync_engine, "do_executemany", meter.executemany)
    # Pool events, around SQLAlchemy's own "connect" listeners (the first one initializes
    # the dialect): they cost nothing per statement.
    event.listen(sync_engine, "connect", meter.connecting, insert=True)
    event.listen(sync_engine, "connect", meter.connected)
