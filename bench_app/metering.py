"""Per-request cost meter: what each request spent, reported on its own response.

A request's costs (SQL statements, DB time, Redis commands, upstream calls) are
deterministic, unlike its timing, so they explain the timings ("naive issued 51
queries") and make noise-free regression checks. The meter is a pure ASGI
middleware: BaseHTTPMiddleware runs the endpoint in another task, whose contextvar
changes would never reach the headers.
"""

import time
from collections.abc import Iterator
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
    "connections": "x-db-connections",
    "redis_commands": "x-redis-commands",
    "redis_round_trips": "x-redis-round-trips",
    "cache_hits": "x-cache-hits",
    "cache_misses": "x-cache-misses",
    "upstream_calls": "x-upstream-calls",
    "app_ms": "x-app-ms",
}


@dataclass
class RequestCost:
    """What one request has spent so far."""

    queries: int = 0  # SQL statements sent (an executemany counts once: one round trip)
    db_seconds: float = 0.0
    rows: int = 0  # rows the database returned
    connections: int = 0  # new database connections opened
    redis_commands: int = 0
    redis_round_trips: int = 0  # a pipeline or MGET is one round trip for many commands
    cache_hits: int = 0
    cache_misses: int = 0
    upstream_calls: int = 0

    def headers(self, app_seconds: float) -> list[tuple[bytes, bytes]]:
        """The cost as response headers: standard Server-Timing plus one plain header each."""
        db_ms, app_ms = self.db_seconds * 1000, app_seconds * 1000
        server_timing = (
            f'db;dur={db_ms:.3f};desc="{self.queries} queries", '
            f'redis;desc="{self.redis_commands} commands", '
            f"app;dur={app_ms:.3f}"
        )
        counts = {name: str(getattr(self, name)) for name in COST_HEADERS if name in COUNTS}
        values = {**counts, "db_ms": f"{db_ms:.3f}", "app_ms": f"{app_ms:.3f}"}
        pairs = [("server-timing", server_timing)]
        pairs += [(COST_HEADERS[name], value) for name, value in values.items()]
        return [(name.encode(), value.encode()) for name, value in pairs]


COUNTS = [name for name in COST_HEADERS if name not in ("db_ms", "app_ms")]

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
