"""Unindexed vs indexed lookups, including a partial index.

Contract: the account with `email` (or null), and the `limit` most recently seen
active accounts with `role`, newest first (ties by id, newest first). Both are
asked of an accounts table of 100,000 x scale rows (a million at the standard
scale), or of a prefix copy of it with `rows` rows. Two identical copies of each
table exist: one with only its primary key, one with the indexes these two
queries need. The queries are the same; only the schema differs.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Row,
    Select,
    String,
    Table,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bench_app.db import SessionDep
from bench_app.models import Base
from bench_app.seed import EPOCH, FIRST_NAMES, LAST_NAMES
from bench_app.settings import Settings
from bench_app.technique import Technique

router = APIRouter(prefix="/indexing", tags=["indexing"])

ACCOUNTS_PER_SCALE = 100_000
PREFIX_SIZES = (1_000, 10_000, 100_000)  # the sweep: smaller copies, same distribution
ROLE_SHARES = {"member": 85, "editor": 10, "admin": 4, "owner": 1}  # percent
ACTIVE_PERCENT = 30  # most sign-ups lapse: the partial index skips the 70% inactive
LAST_SEEN_WINDOW_S = 90 * 86_400
Role = Literal["member", "editor", "admin", "owner"]
# One @, and nothing blank or a control character (PostgreSQL text cannot hold NUL).
EMAIL_SHAPE = r"^[^@\x00-\x20]+@[^@\x00-\x20]+$"


def full_size(settings: Settings) -> int:
    """Rows in the full accounts table at this scale."""
    return max(1, round(ACCOUNTS_PER_SCALE * settings.scale))


def accounts_table(name: str) -> Table:
    """An accounts table as an ORM model would declare it: a primary key and nothing else."""
    return Table(
        name,
        Base.metadata,
        Column("id", BigInteger, primary_key=True),
        Column("email", String(200), nullable=False),
        Column("display_name", String(100), nullable=False),
        Column("role", String(20), nullable=False),
        Column("is_active", Boolean, nullable=False),
        Column("last_seen_at", DateTime(timezone=True), nullable=False),
    )


def indexed_accounts_table(name: str) -> Table:
    """The same table with the two indexes its lookups need."""
    table = accounts_table(name)
    Index(f"{name}_email_key", table.c.email, unique=True)
    # Only active accounts are ever listed: indexing just them keeps the index ~30% of
    # a full one, and (last_seen_at, id) in the key hands rows over already in order.
    Index(
        f"{name}_active_role_seen_idx",
        table.c.role,
        table.c.last_seen_at.desc(),
        table.c.id.desc(),
        postgresql_where=table.c.is_active,
    )
    return table


def copies(make: Callable[[str], Table], name: str) -> dict[int | None, Table]:
    """The full table (key None) and one prefix copy per sweep size."""
    return {None: make(name), **{size: make(f"{name}_{size}") for size in PREFIX_SIZES}}


UNINDEXED = copies(accounts_table, "indexing_accounts_unindexed")
INDEXED = copies(indexed_accounts_table, "indexing_accounts_indexed")


def known_size(rows: int | None) -> int | None:
    if rows is not None and rows not in PREFIX_SIZES:
        raise ValueError(f"rows must be one of {', '.join(map(str, PREFIX_SIZES))}, or omitted")
    return rows


# The schema lists the sizes as an enum, so a client knows them before it asks.
Rows = Annotated[
    int | None, AfterValidator(known_size), Field(json_schema_extra={"enum": list(PREFIX_SIZES)})
]
ROWS_DESCRIPTION = "Query the prefix copy with this many rows; the full table if omitted."


class LookupQuery(BaseModel):
    """The contract's parameters."""

    email: str = Field(
        min_length=3, max_length=200, pattern=EMAIL_SHAPE, description="The email to look up."
    )
    role: Role = Field("admin", description="List the active accounts with this role.")
    limit: int = Field(20, ge=1, le=100, description="How many recently seen accounts.")
    rows: Rows = Field(None, description=ROWS_DESCRIPTION)


LookupParams = Annotated[LookupQuery, Query()]


def table_size(request: Request, rows: int | None) -> int | None:
    """The copy to query: a prefix size, or None for the full table."""
    full = full_size(request.app.state.settings)
    if rows is None or rows == full:
        return None
    if rows > full:
        message = f"rows={rows} exceeds the {full} rows loaded at this scale; omit it or pick less"
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "rows"), "msg": message, "input": rows}]
        )
    return rows


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: str
    is_active: bool
    last_seen_at: datetime


class AccountLookup(BaseModel):
    account: AccountOut | None
    recently_seen: list[AccountOut]


def by_email(accounts: Table, email: str) -> Select[Any]:
    return select(accounts).where(accounts.c.email == email)


def recently_seen(accounts: Table, role: str, limit: int) -> Select[Any]:
    # `WHERE is_active` exactly as the partial index's predicate, so the planner can use it.
    return (
        select(accounts)
        .where(accounts.c.is_active, accounts.c.role == role)
        .order_by(accounts.c.last_seen_at.desc(), accounts.c.id.desc())
        .limit(limit)
    )


def _account(row: Row[Any]) -> AccountOut:
    return AccountOut.model_validate(row)


async def look_up(session: AsyncSession, accounts: Table, query: LookupQuery) -> AccountLookup:
    """The contract's two queries; every variant sends exactly these to its own copy."""
    found = (await session.execute(by_email(accounts, query.email))).one_or_none()
    recent = (await session.execute(recently_seen(accounts, query.role, query.limit))).all()
    return AccountLookup(
        account=_account(found) if found else None,
        recently_seen=[_account(row) for row in recent],
    )


@router.get("/unindexed", response_model=AccountLookup)
async def unindexed(request: Request, session: SessionDep, query: LookupParams) -> AccountLookup:
    """Query a table with only its primary key: each lookup reads every row."""
    accounts = UNINDEXED[table_size(request, query.rows)]
    return await look_up(session, accounts, query)


@router.get("/indexed", response_model=AccountLookup)
async def indexed(request: Request, session: SessionDep, query: LookupParams) -> AccountLookup:
    """Query a copy with a unique index on email and one on (role, last_seen_at) WHERE is_active."""
    accounts = INDEXED[table_size(request, query.rows)]
    return await look_up(session, accounts, query)


DEFAULT_PARAMS = {"email": "account777@example.com", "role": "admin"}


def default_queries(accounts: Table) -> dict[str, Select[Any]]:
    """The contract's two queries at the default parameters, by name."""
    email, role = DEFAULT_PARAMS["email"], DEFAULT_PARAMS["role"]
    return {
        "account by email": by_email(accounts, email),
        f"recently seen active {role}s": recently_seen(accounts, role, 20),
    }


async def explain(session: AsyncSession, query: Select[Any]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of `query` with its values inlined, as plain text."""
    connection = await session.connection()
    sql = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    result = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
    return "\n".join(str(line) for (line,) in result)


async def relation_sizes(session: AsyncSession, table: Table) -> str:
    """The table's size on disk and each of its indexes', one per line."""
    names = [table.name, *sorted(str(index.name) for index in table.indexes)]
    sizes = await session.execute(
        text(
            "SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)), c.relkind::text"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :schema AND c.relname = ANY(:names) ORDER BY c.relkind DESC"
        ),
        {"schema": table.schema, "names": names},
    )
    return "\n".join(
        f"{name}: {size} ({'index' if kind == 'i' else 'table'})" for name, size, kind in sizes
    )


@router.get("/plans")
async def plans(
    request: Request,
    session: SessionDep,
    rows: Annotated[Rows, Query(description=ROWS_DESCRIPTION)] = None,
) -> dict[str, str]:
    """Artifacts: both variants' plans at the default parameters, and the indexed copy's sizes.

    Without `rows`: on the full table and on the smallest copy, where an index buys least.
    Names are numbered because the run stores them sorted.
    """
    full = full_size(request.app.state.settings)
    sizes = [table_size(request, rows)] if rows else [None, *PREFIX_SIZES[:1]]
    found: dict[str, str] = {}

    def keep(name: str, artifact: str) -> None:
        found[f"{len(found) + 1:02d}. {name}"] = artifact

    for size in (size for size in sizes if size is None or size < full):
        label = f"{size or full:,} rows"
        indexed_queries = default_queries(INDEXED[size])
        for name, query in default_queries(UNINDEXED[size]).items():
            keep(f"unindexed, {label}: {name}", await explain(session, query))
            keep(f"indexed, {label}: {name}", await explain(session, indexed_queries[name]))
        keep(f"sizes, {label}", await relation_sizes(session, INDEXED[size]))
    return found


GENERATE_ACCOUNTS = """
INSERT INTO {table} (id, email, display_name, role, is_active, last_seen_at)
SELECT i,
       'account' || i || '@example.com',
       (CAST(:first_names AS text[]))[1 + (h & 65535) % :first_count]
         || ' ' || (CAST(:last_names AS text[]))[1 + (h >> 16 & 65535) % :last_count],
       (CAST(:roles AS text[]))[1 + (h >> 32 & 65535) % 100],
       (h >> 48 & 65535) % 100 < :active_percent,
       CAST(:epoch AS timestamptz) - ((h2 & 2147483647) % :window_s) * interval '1 second'
FROM generate_series(1, CAST(:rows AS bigint)) AS i,
     LATERAL (SELECT hashint8extended(i, CAST(:seed AS bigint)),
                     hashint8extended(i, CAST(:seed AS bigint) + 1)) AS hashes(h, h2)
"""
COLUMNS = "id, email, display_name, role, is_active, last_seen_at"


async def generate_accounts(conn: AsyncConnection, table: str, rows: int, seed: int) -> None:
    """Insert accounts 1..rows into `table` (a quoted name), each drawn from a hash of its id."""
    await conn.execute(
        text(GENERATE_ACCOUNTS.format(table=table)),
        {
            "first_names": FIRST_NAMES, "first_count": len(FIRST_NAMES),
            "last_names": LAST_NAMES, "last_count": len(LAST_NAMES),
            "roles": [role for role, share in ROLE_SHARES.items() for _ in range(share)],
            "active_percent": ACTIVE_PERCENT, "epoch": EPOCH,
            "window_s": LAST_SEEN_WINDOW_S, "rows": rows, "seed": seed,
        },
    )  # fmt: skip


async def load_accounts(conn: AsyncConnection, settings: Settings) -> dict[str, int]:
    """Fill every copy: generated once in SQL, copied, and indexed after the load."""
    full = full_size(settings)
    for table in INDEXED.values():
        for index in table.indexes:  # building once after the load beats maintaining per row
            await conn.run_sync(index.drop)
    source = UNINDEXED[None]
    await generate_accounts(conn, _qualified(source), full, settings.seed)
    counts = {source.name: full}
    prefixes = [size for size in PREFIX_SIZES if size < full]
    copies = [(INDEXED[None], full)]
    copies += [(tables[size], size) for size in prefixes for tables in (UNINDEXED, INDEXED)]
    for table, rows in copies:
        await conn.execute(
            text(
                f"INSERT INTO {_qualified(table)} ({COLUMNS})"
                f" SELECT {COLUMNS} FROM {_qualified(source)} WHERE id <= :rows"
            ),
            {"rows": rows},
        )
        counts[table.name] = rows
    for table in INDEXED.values():
        for index in table.indexes:
            await conn.run_sync(index.create)
    return counts


def _qualified(table: Table) -> str:
    return f'"{table.schema}"."{table.name}"'


TECHNIQUE = Technique(
    key="indexing",
    area="database",
    title="Unindexed vs indexed lookups (incl. a partial index)",
    summary=(
        "Without an index PostgreSQL answers both lookups, one account by email and the "
        "newest active admins, by reading every row of the table, so a request costs time "
        "in proportion to the table's size. A unique index on email and a partial index on "
        "(role, last_seen_at DESC, id DESC) WHERE is_active, which holds only the 30% of "
        "accounts that are active, turn both into a handful of page reads at any size."
    ),
    guide_section="Database Performance / Database Indexing Strategies",
    router=router,
    variants=("unindexed", "indexed"),
    baseline="unindexed",
    params=DEFAULT_PARAMS,
    sweep={"rows": list(PREFIX_SIZES)},
    proof=(
        "plans (under Evidence): Seq Scans of every page -> Index Scans of a few pages; 2 "
        "queries per request in both"
    ),
    caveats=(
        "The gap grows with the table. At 1,000 rows the whole table is a dozen pages, so a "
        "scan costs about what the index does (see its plans under Evidence) and the HTTP "
        "round trip dominates: expect no significant difference there."
    ),
    load_data=load_accounts,
    artifacts_path="/indexing/plans",
)
