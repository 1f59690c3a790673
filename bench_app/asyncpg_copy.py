"""COPY through asyncpg under a SQLAlchemy session, metered like any other statement."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bench_app.metering import current_cost


@contextmanager
def metered_as_one_statement() -> Iterator[None]:
    """Meter a statement SQLAlchemy never sees (asyncpg's COPY) as its events would."""
    started = time.perf_counter()
    try:
        yield
    finally:
        cost = current_cost()
        if cost is not None:
            cost.queries += 1
            cost.db_seconds += time.perf_counter() - started


async def asyncpg_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's, for what only asyncpg can do (COPY)."""
    raw = await (await session.connection()).get_raw_connection()
    return raw.driver_connection
