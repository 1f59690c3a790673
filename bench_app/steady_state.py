"""The database brought to a steady state before it is measured, and kept there.

After a load (or a previous run's writes) PostgreSQL still has work of its own to do:
hint bits and the visibility map (which decide index-only scans), planner statistics,
dead rows. Autovacuum does it when it comes by, in the middle of some segment, so a
variant measured before it and one after it see different databases. `settle` does that
work up front (VACUUM (ANALYZE) of every table of the app's schema, every run, not only
after a fresh load), and `pause_autovacuum` keeps autovacuum off the app's tables while
the run measures, until `resume_autovacuum` hands them back to it. A run that was killed before it
could hand them back is healed by the next `settle`.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench_app.models import Base

AUTOVACUUM_OPTIONS = ("autovacuum_enabled", "toast.autovacuum_enabled")


async def _existing(engine: AsyncEngine, schema: str) -> list[str]:
    """The app's tables that exist in the database (a technique added since the seed: not)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}
        )
        names = {str(row[0]) for row in found}
    return [
        f'"{schema}"."{table.name}"' for table in Base.metadata.sorted_tables if table.name in names
    ]


async def _set_autovacuum(engine: AsyncEngine, tables: list[str], enabled: bool) -> None:
    options = ", ".join(AUTOVACUUM_OPTIONS)
    setting = ", ".join(f"{option} = false" for option in AUTOVACUUM_OPTIONS)
    async with engine.begin() as conn:
        for table in tables:
            change = f"RESET ({options})" if enabled else f"SET ({setting})"
            await conn.execute(text(f"ALTER TABLE {table} {change}"))


async def settle(engine: AsyncEngine, schema: str) -> list[str]:
    """VACUUM (ANALYZE) every app table, with autovacuum handed back to it first; returns
    the tables settled."""
    tables = await _existing(engine, schema)
    if not tables:
        return []
    await _set_autovacuum(engine, tables, enabled=True)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))
    return tables


async def pause_autovacuum(engine: AsyncEngine, schema: str) -> list[str]:
    """Autovacuum off the app's tables (it starts mid-segment otherwise); returns them, for
    `resume_autovacuum` when the measuring ends."""
    tables = await _existing(engine, schema)
    await _set_autovacuum(engine, tables, enabled=False)
    return tables


async def resume_autovacuum(engine: AsyncEngine, tables: list[str]) -> None:
    """Autovacuum back on the tables `pause_autovacuum` took it off."""
    await _set_autovacuum(engine, tables, enabled=True)
