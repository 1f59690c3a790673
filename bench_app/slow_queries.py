"""The slow-query log: statements slower than a threshold, by the route that sent them.

The seed's checklist says to monitor slow queries. The meter times every statement
already (bench_app.metering); one slower than the threshold is logged with its
duration and kept here, grouped by SQL text under the route template of the request
that sent it, so a run can list each variant's slowest statements: "why is naive
slow" answered in SQL. Memory is bounded: a few statements per route, the slowest.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

MAX_STATEMENTS_PER_ROUTE = 10
MAX_STATEMENT_CHARS = 2000

logger = logging.getLogger("bench_app.slow_queries")


@dataclass
class SlowStatement:
    """One SQL text's slow executions under one route."""

    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0


class SlowQueryLog:
    """Slow statements by route template, then SQL text; the slowest few per route."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self.routes: dict[str, dict[str, SlowStatement]] = {}

    def record_all(self, route: str, statements: Iterable[tuple[str, float]]) -> None:
        """Log and keep a request's slow statements (called once per request that had any)."""
        kept = self.routes.setdefault(route, {})
        for sql, seconds in statements:
            logger.warning("slow statement (%.1f ms) under %s: %s", seconds * 1000, route, sql)
            text = sql[:MAX_STATEMENT_CHARS]
            found = kept.get(text)
            if found is None:
                if len(kept) >= MAX_STATEMENTS_PER_ROUTE:
                    fastest = min(kept, key=lambda key: kept[key].max_s)
                    if kept[fastest].max_s >= seconds:
                        continue
                    del kept[fastest]
                found = kept[text] = SlowStatement()
            found.count += 1
            found.total_s += seconds
            found.max_s = max(found.max_s, seconds)

    def rows(self) -> list[dict[str, Any]]:
        """Every kept statement: route, statement, count, max_ms, mean_ms; slowest first."""
        found = [
            {
                "route": route,
                "statement": text,
                "count": statement.count,
                "max_ms": statement.max_s * 1000,
                "mean_ms": statement.total_s / statement.count * 1000,
            }
            for route, statements in self.routes.items()
            for text, statement in statements.items()
        ]
        return sorted(found, key=lambda row: -row["max_ms"])


def get_slow_query_log(request: Request) -> SlowQueryLog:
    log: SlowQueryLog = request.app.state.slow_queries
    return log


SlowQueryLogDep = Annotated[SlowQueryLog, Depends(get_slow_query_log)]
router = APIRouter(tags=["monitoring"])


@router.get("/slow-queries")
async def slow_queries(log: SlowQueryLogDep) -> dict[str, Any]:
    """Statements slower than the threshold since the app started, by route, slowest first."""
    return {"threshold_ms": log.threshold_s * 1000, "statements": log.rows()}
