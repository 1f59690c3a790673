"""The app's data: loaded (bench_app.seed), settled, and kept steady while a run measures.

The harness reaches the database directly, never through a delay proxy: seeding is not
measured, and a proxy's round trip would only slow it down.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench_app.db import make_engine
from bench_app.seed import seed
from bench_app.settings import Settings
from bench_app.steady_state import pause_autovacuum, resume_autovacuum, settle
from pairbench.console import Log


def seed_database(settings: Settings, log: Log) -> None:
    """The app's tables and rows at the settings' scale, unless they are there already."""

    async def load() -> None:
        engine = make_engine(settings)
        try:
            outcome = await seed(engine, settings, log)
            if not outcome.loaded:
                log(f"data already loaded: {outcome.users} users, {outcome.posts} posts")
        finally:
            await engine.dispose()

    asyncio.run(load())


def settle_database(settings: Settings, log: Log) -> None:
    """The database in a steady state before it is measured (bench_app.steady_state)."""

    async def work() -> list[str]:
        engine = make_engine(settings)
        try:
            return await settle(engine, settings.db_schema)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    tables = asyncio.run(work())
    log(
        f"database settled: VACUUM (ANALYZE) of {len(tables)} tables "
        f"({time.perf_counter() - started:.1f} s)"
    )


@contextmanager
def autovacuum_off(settings: Settings, log: Log) -> Iterator[None]:
    """Autovacuum off the app's tables while the run measures, back on afterwards."""

    async def change(tables: list[str] | None) -> list[str]:
        engine = make_engine(settings)
        try:
            if tables is None:
                return await pause_autovacuum(engine, settings.db_schema)
            await resume_autovacuum(engine, tables)
            return tables
        finally:
            await engine.dispose()

    paused = asyncio.run(change(None))
    log(f"autovacuum paused on {len(paused)} tables while measuring")
    try:
        yield
    finally:
        asyncio.run(change(paused))
