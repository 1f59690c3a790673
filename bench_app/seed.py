"""Deterministic data: the same seed and scale always load the same rows.

Rows are bulk-loaded with COPY, so the standard scale loads in seconds, and a
fingerprint row makes re-seeding the same data set a no-op (a different one is a
clean reset of the schema). A technique that needs tables of its own declares them
with the shared Base and fills them through its `load_data` hook, called here.
"""

import asyncio
import hashlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench_app.models import Base, Comment, Post, SeedInfo, User, quoted_name
from bench_app.settings import Settings, get_settings
from bench_app.techniques import all_techniques

FORMAT_VERSION = 1
USERS_PER_SCALE = 1000
POSTS_PER_USER = (5, 15)  # uniform, mean 10
COMMENTS_PER_POST = (0, 4)  # uniform, mean 2
ROLES = ("member", "member", "member", "editor", "admin")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
ADVISORY_LOCK_ID = 0x5EED_BE4C

WORDS = (
    "latency throughput cache index query pool stream batch queue worker request "
    "response database redis postgres session commit rollback cursor page offset "
    "keyset tuple buffer socket event loop thread process memory budget percentile "
    "median variance sample signal noise baseline variant contract proof measure"
).split()
FIRST_NAMES = "Ada Alan Barbara Edsger Grace Ken Linus Margaret Niklaus Radia Tim Yukihiro".split()
LAST_NAMES = "Lovelace Turing Liskov Dijkstra Hopper Thompson Torvalds Hamilton Wirth".split()


@dataclass(frozen=True)
class SeedResult:
    """What the database holds after seeding, and whether this call loaded it."""

    users: int
    posts: int
    comments: int
    loaded: bool
    seconds: float


def fingerprint(settings: Settings) -> str:
    """Identifies a data set: the generator's version, seed, scale, its tables and indexes."""
    tables = Base.metadata.tables.values()
    names = sorted(table.name for table in tables)
    names += sorted(str(index.name) for table in tables for index in table.indexes)
    schema = hashlib.sha256(",".join(names).encode()).hexdigest()[:8]
    return f"v{FORMAT_VERSION} seed={settings.seed} scale={settings.scale:g} schema={schema}"


def _paragraphs(rng: random.Random, count: int, words: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=words)).capitalize() + "." for _ in range(count)]


def generate_rows(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """All rows of the data set, per table, in COPY column order."""
    rng = random.Random(settings.seed)
    bodies = _paragraphs(rng, 512, 140)  # ~1 KB each
    bios = _paragraphs(rng, 256, 60)
    remarks = _paragraphs(rng, 256, 20)
    user_count = max(1, round(USERS_PER_SCALE * settings.scale))

    users: list[tuple[Any, ...]] = []
    for user_id in range(1, user_count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        users.append(
            (
                user_id,
                f"{first}.{last}.{user_id}@example.com".lower(),
                first,
                last,
                rng.random() < 0.8,
                rng.choice(ROLES),
                EPOCH - timedelta(days=rng.randrange(3650)),
                f"pbkdf2_sha256${rng.getrandbits(128):032x}",
                rng.choice(bios),
            )
        )

    posts: list[tuple[Any, ...]] = []
    comments: list[tuple[Any, ...]] = []
    for author_id in range(1, user_count + 1):
        for _ in range(rng.randint(*POSTS_PER_USER)):
            post_id = len(posts) + 1
            created = EPOCH - timedelta(minutes=rng.randrange(525_600))
            title = " ".join(rng.choices(WORDS, k=6)).capitalize()
            posts.append((post_id, author_id, title, rng.choice(bodies), created))
            for _ in range(rng.randint(*COMMENTS_PER_POST)):
                commenter = rng.randint(1, user_count)
                when = created + timedelta(minutes=rng.randrange(10_000))
                comments.append((len(comments) + 1, post_id, commenter, rng.choice(remarks), when))
    return {"users": users, "posts": posts, "comments": comments}


COLUMNS = {
    "users": [column.name for column in User.__table__.columns],
    "posts": [column.name for column in Post.__table__.columns],
    "comments": [column.name for column in Comment.__table__.columns],
}


async def _loaded_fingerprint(conn: AsyncConnection) -> str | None:
    seed_info = quoted_name(cast(Table, SeedInfo.__table__))
    exists = await conn.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": seed_info})
    if not exists:
        return None
    return await conn.scalar(select(SeedInfo.fingerprint))


async def copy_rows(
    conn: AsyncConnection, table: str, columns: list[str], records: Iterable[tuple[Any, ...]]
) -> None:
    """Bulk-load rows into a table of the app's schema with COPY (asyncpg)."""
    raw = await conn.get_raw_connection()
    asyncpg_connection = raw.driver_connection
    assert asyncpg_connection is not None
    await asyncpg_connection.copy_records_to_table(
        table, records=records, columns=columns, schema_name=get_settings().db_schema
    )


async def seed(
    engine: AsyncEngine, settings: Settings, log: Callable[[str], None] = print
) -> SeedResult:
    """Load the data set `settings` describes, unless it is already there."""
    started = time.perf_counter()
    techniques = all_techniques()  # imports every technique module: their tables join Base
    wanted = fingerprint(settings)
    schema = settings.db_schema
    async with engine.begin() as conn:
        # Two processes seeding at once (parallel tests, a run and a serve) take turns.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        if await _loaded_fingerprint(conn) == wanted:
            info = (await conn.execute(select(SeedInfo))).one()
            return SeedResult(
                info.users, info.posts, info.comments, False, time.perf_counter() - started
            )
        log(f"seeding {wanted} ...")
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(Base.metadata.create_all)
        rows = generate_rows(settings)
        for table, records in rows.items():
            await copy_rows(conn, table, COLUMNS[table], records)
        counts = {table: len(table_rows) for table, table_rows in rows.items()}
        technique_counts: dict[str, int] = {}
        for technique in techniques.values():
            if technique.load_data is not None:
                technique_counts.update(await technique.load_data(conn, settings))
        await conn.execute(
            insert(SeedInfo).values(id=1, fingerprint=wanted, loaded_at=datetime.now(UTC), **counts)
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        tables = ", ".join(quoted_name(table) for table in Base.metadata.sorted_tables)
        # VACUUM too: the visibility map it sets decides whether the planner can use
        # index-only scans (a COUNT(*), say), so a run does not depend on whether
        # autovacuum has come by yet. (It cannot mark rows that a transaction opened
        # before the load, on another connection to the database, might not see.)
        await conn.execute(text(f"VACUUM (ANALYZE) {tables}"))
    seconds = time.perf_counter() - started
    loaded = ", ".join(
        f"{count} {table}" for table, count in {**counts, **technique_counts}.items()
    )
    log(f"seeded {loaded} in {seconds:.1f} s")
    return SeedResult(counts["users"], counts["posts"], counts["comments"], True, seconds)


def _main() -> None:
    from bench_app.db import make_engine

    async def run() -> None:
        engine = make_engine(get_settings())
        try:
            await seed(engine, get_settings())
        finally:
            await engine.dispose()

    asyncio.run(run())


if __name__ == "__main__":
    _main()
