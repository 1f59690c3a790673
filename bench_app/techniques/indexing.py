"""Unindexed vs indexed lookups, including a partial index.

Contract: the account with `email` (or null), and the `limit` most recently seen
active accounts with `role`, newest first (ties by id, newest first). Both are
asked of an accounts table of 100,000 x scale rows (a million at the standard
scale), or of a prefix copy of it with `rows` rows. Two identical copies of each
table exist: one with only its primary key, one with the indexes these two
queries need. The queries are the same; only the schema differs.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
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
)
from sqlalchemy.ext.asyncio import AsyncSession

from bench_app.accounts import (
    ACTIVE_PERCENT,
    PREFIX_SIZES,
    ROWS_DESCRIPTION,
    Rows,
    accounts_loader,
    copies,
    plans_router,
    table_size,
)
from bench_app.db import SessionDep
from bench_app.models import Base
from bench_app.technique import Technique

router = APIRouter(prefix="/indexing", tags=["indexing"])

Role = Literal["member", "editor", "admin", "owner"]
# One @, and nothing blank or a control character (PostgreSQL text cannot hold NUL).
EMAIL_SHAPE = r"^[^@\x00-\x20]+@[^@\x00-\x20]+$"


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


UNINDEXED = copies(accounts_table, "indexing_accounts_unindexed")
INDEXED = copies(indexed_accounts_table, "indexing_accounts_indexed")


class LookupQuery(BaseModel):
    """The contract's parameters."""

    email: str = Field(
        min_length=3, max_length=200, pattern=EMAIL_SHAPE, description="The email to look up."
    )
    role: Role = Field("admin", description="List the active accounts with this role.")
    limit: int = Field(20, ge=1, le=100, description="How many recently seen accounts.")
    rows: Rows = Field(None, description=ROWS_DESCRIPTION)


LookupParams = Annotated[LookupQuery, Query()]


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


router.include_router(plans_router(UNINDEXED, INDEXED, default_queries))  # the run's evidence


TECHNIQUE = Technique(
    key="indexing",
    area="database",
    title="Unindexed vs indexed lookups (incl. a partial index)",
    summary=(
        "Without an index PostgreSQL answers both lookups, one account by email and the "
        "newest active admins, by reading every row of the table, so a request costs time "
        "in proportion to the table's size. A unique index on email and a partial index on "
        f"(role, last_seen_at DESC, id DESC) WHERE is_active, which holds only the "
        f"{ACTIVE_PERCENT}% of accounts that are active, turn both into a handful of page "
        "reads at any size."
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
    load_data=accounts_loader(UNINDEXED, INDEXED),
    artifacts_path="/indexing/plans",
)
