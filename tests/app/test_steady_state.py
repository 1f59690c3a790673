"""The database settled before measuring: vacuumed and analysed, autovacuum paused, resumed."""

from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.models import Base
from bench_app.settings import Settings
from bench_app.steady_state import pause_autovacuum, resume_autovacuum, settle


async def reloptions(settings: Settings) -> dict[str, list[str]]:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :schema AND c.relkind = 'r'"
                ),
                {"schema": settings.db_schema},
            )
            return {str(name): list(options) for name, options in found}
    finally:
        await engine.dispose()


async def test_settle_vacuums_and_analyses_every_app_table(seeded: Settings) -> None:
    engine = make_engine(seeded)
    try:
        async with engine.begin() as conn:  # dead rows, as a previous run's writes leave
            await conn.execute(text(f'UPDATE "{seeded.db_schema}".users SET role = role'))
        tables = await settle(engine, seeded.db_schema)
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            found = await conn.execute(
                text(
                    "SELECT s.relname, s.last_vacuum IS NOT NULL, s.last_analyze IS NOT NULL, "
                    "c.relallvisible = c.relpages FROM pg_stat_user_tables s "
                    "JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = :schema"
                ),
                {"schema": seeded.db_schema},
            )
            stats = {str(name): tuple(flags) for name, *flags in found}
    finally:
        await engine.dispose()
    names = {table.name for table in Base.metadata.sorted_tables}
    assert len(tables) == len(names)
    assert all(stats[name][:2] == (True, True) for name in names), stats
    assert stats["users"][2], "the updated pages are all-visible again (index-only scans)"


async def test_autovacuum_is_paused_while_measuring_and_settle_heals_a_killed_run(
    seeded: Settings,
) -> None:
    engine = make_engine(seeded)
    try:
        paused = await pause_autovacuum(engine, seeded.db_schema)
        during = await reloptions(seeded)
        await resume_autovacuum(engine, paused)
        after = await reloptions(seeded)
        await pause_autovacuum(engine, seeded.db_schema)  # a run killed while measuring
        await settle(engine, seeded.db_schema)
        healed = await reloptions(seeded)
    finally:
        await engine.dispose()
    assert paused and all("autovacuum_enabled=false" in during[name] for name in during)
    assert all(options == [] for options in after.values()), after
    assert all(options == [] for options in healed.values()), healed
