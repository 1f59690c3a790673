"""Per-request cost meter: what each request spent, reported on its own response.

A request's costs (SQL statements, DB time, Redis commands, upstream calls) are
deterministic, unlike its timing, so they explain the timings ("naive issued 51
queries") and make noise-free regression checks. The meter is a pure ASGI
middleware: BaseHTTPMiddleware runs the endpoint in another task, whose contextvar
changes would never reach the headers.
"""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COST_HEADERS = {  # meter field -> the response header that carries it
    "queries": "x-queries",
    "db_ms": "x-db-ms",
    "rows": "x-db-rows",
    "db_bytes": "x-db-bytes",
    "connections": "x-db-connections",
    "redis_commands": "x-redis-commands",
    "redis_round_trips": "x-redis-round-trips",
    "cache_hits": "x-cache-hits",
    "cache_misses": "x-cache-misses",
    "upstream_calls": "x-upstream-calls",
    "upstream_connections": "x-upstream-connections",
    "app_ms": "x-app-ms",
    "body_bytes": "x-body-bytes",
    "wire_bytes": "x-wire-bytes",
    "encode_ms": "x-encode-ms",
}


@dataclass
class RequestCost:
    """What one request has spent so far."""

    queries: int = 0  # SQL statements sent (an executemany counts once: one round trip)
    db_seconds: float = 0.0
    rows: int = 0  # rows the database returned
    db_bytes: int | None = None  # bytes of those rows; None (header left empty): not counted
    connections: int = 0  # new database connections opened
    redis_commands: int = 0
    redis_round_trips: int = 0  # a pipeline or MGET is one round trip for many commands
    cache_hits: int = 0
    cache_misses: int = 0
    upstream_calls: int = 0  # HTTP requests sent to the upstream service
    upstream_connections: int = 0  # new TCP connections opened to it
    # Set only where a route encodes its body (bench_app.content_encoding); None (header left
    # empty) elsewhere. The body before and after content encoding, and the time spent on it.
    body_bytes: int | None = None
    wire_bytes: int | None = None
    encode_seconds: float | None = None

    def headers(self, app_seconds: float) -> list[tuple[bytes, bytes]]:
        """The cost as response headers: standard Server-Timing plus one plain header each."""
        db_ms, app_ms = self.db_seconds * 1000, app_seconds * 1000
        encode_ms = "" if self.encode_seconds is None else f"{self.encode_seconds * 1000:.3f}"
        server_timing = (
            f'db;dur={db_ms:.3f};desc="{self.queries} queries", '
            f'redis;desc="{self.redis_commands} commands", '
            + (f"encode;dur={encode_ms}, " if encode_ms else "")
            + f"app;dur={app_ms:.3f}"
        )
        counts = {name: _count_text(getattr(self, name)) for name in COUNTS}
        values = {**counts, "db_ms": f"{db_ms:.3f}", "app_ms": f"{app_ms:.3f}"}
        values["encode_ms"] = encode_ms
        pairs = [("server-timing", server_timing)]
        pairs += [(COST_HEADERS[name], value) for name, value in values.items()]
        return [(name.encode(), value.encode()) for name, value in pairs]


COUNTS = [name for name in COST_HEADERS if name not in ("db_ms", "app_ms", "encode_ms")]


def _count_text(value: int | None) -> str:
    return "" if value is None else str(value)


_current_cost: ContextVar[RequestCost | None] = ContextVar("pairbench_request_cost", default=None)


def current_cost() -> RequestCost | None:
    """The cost record of the request being served, or None outside a request."""
    return _current_cost.get()


@contextmanager
def metered() -> Iterator[RequestCost]:
    """Meter everything done inside the block (a request, or a test's direct call)."""
    cost = RequestCost()
    token = _current_cost.set(cost)
    try:
        yield cost
    finally:
        _current_cost.reset(token)


class CostMeterMiddleware:
    """Puts each HTTP request's cost on its response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        with metered() as cost:

            async def send_with_cost(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    headers += cost.headers(time.perf_counter() - started)
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_cost)


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


def _before_cursor_execute(conn: Connection, *_: Any) -> None:
    conn.info.setdefault("pairbench_query_started", []).append(time.perf_counter())


def _after_cursor_execute(conn: Connection, cursor: Any, *_: Any) -> None:
    started = conn.info["pairbench_query_started"].pop()
    cost = _current_cost.get()
    if cost is not None:
        cost.queries += 1
        cost.db_seconds += time.perf_counter() - started
        if cursor.description is not None:  # a statement that returns rows
            cost.rows += max(cursor.rowcount, 0)
            if cost.db_bytes is not None:
                # SQLAlchemy's asyncpg cursor has fetched all rows by now; they wait in its
                # buffer for the result to read them. (A server-side cursor, as stream()
                # uses, fetches later: its rows are not counted.)
                cost.db_bytes += result_bytes(cursor.description, cursor._rows)


def _handle_error(context: Any) -> None:
    connection = context.connection
    if connection is not None and connection.info.get("pairbench_query_started"):
        connection.info["pairbench_query_started"].pop()


def _connect(*_: Any) -> None:
    cost = _current_cost.get()
    if cost is not None:
        cost.connections += 1


def meter_engine(engine: AsyncEngine) -> None:
    """Count `engine`'s statements, their time and rows, and new connections, per request."""
    event.listen(engine.sync_engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(engine.sync_engine, "after_cursor_execute", _after_cursor_execute)
    event.listen(engine.sync_engine, "handle_error", _handle_error)
    event.listen(engine.sync_engine, "connect", _connect)
