"""The accounts the indexing lesson looks up: how many at each scale, the prefix copies its
sweep queries, how they are generated and loaded, and the plans a run keeps as evidence.

The lesson (bench_app/techniques/indexing.py) declares the tables, the queries and the
variants; this module fills those tables and explains those queries.
"""

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, Field
from sqlalchemy import Select, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench_app.db import SessionDep
from bench_app.models import quoted_name
from bench_app.query_plans import explain_query, relation_sizes
from bench_app.seed import EPOCH, FIRST_NAMES, LAST_NAMES
from bench_app.settings import Settings
from bench_app.technique import DataLoader

ACCOUNTS_PER_SCALE = 100_000
PREFIX_SIZES = (1_000, 10_000, 100_000)  # the sweep: smaller copies, same distribution
ROLE_SHARES = {"member": 85, "editor": 10, "admin": 4, "owner": 1}  # percent
ACTIVE_PERCENT = 30  # most sign-ups lapse: the partial index skips the 70% inactive
LAST_SEEN_WINDOW_S = 90 * 86_400
Copies = Mapping[int | None, Table]  # the full table (None) and a copy per prefix size


def full_size(settings: Settings) -> int:
    """Rows in the full accounts table at this scale."""
    return max(1, round(ACCOUNTS_PER_SCALE * settings.scale))


def copies(make: Callable[[str], Table], name: str) -> dict[int | None, Table]:
    """The full table (key None) and one prefix copy per sweep size."""
    return {None: make(name), **{size: make(f"{name}_{size}") for size in PREFIX_SIZES}}


def known_size(rows: int | None) -> int | None:
    if rows is not None and rows not in PREFIX_SIZES:
        raise ValueError(f"rows must be one of {', '.join(map(str, PREFIX_SIZES))}, or omitted")
    return rows


# The schema lists the sizes as an enum, so a client knows them before it asks.
Rows = Annotated[
    int | None, AfterValidator(known_size), Field(json_schema_extra={"enum": list(PREFIX_SIZES)})
]
ROWS_DESCRIPTION = "Query the prefix copy with this many rows; the full table if omitted."


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


def plans_router(
    unindexed: Copies, indexed: Copies, queries: Callable[[Table], dict[str, Select[Any]]]
) -> APIRouter:
    """The lesson's evidence endpoint (`/plans`): `queries` of each copy, explained."""
    router = APIRouter()

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
            indexed_queries = queries(indexed[size])
            for name, query in queries(unindexed[size]).items():
                keep(f"unindexed, {label}: {name}", await explain_query(session, query))
                keep(
                    f"indexed, {label}: {name}", await explain_query(session, indexed_queries[name])
                )
            keep(f"sizes, {label}", await relation_sizes(session, indexed[size]))
        return found

    return router


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
            "first_names": FIRST_NAMES,
            "first_count": len(FIRST_NAMES),
            "last_names": LAST_NAMES,
            "last_count": len(LAST_NAMES),
            "roles": [role for role, share in ROLE_SHARES.items() for _ in range(share)],
            "active_percent": ACTIVE_PERCENT,
            "epoch": EPOCH,
            "window_s": LAST_SEEN_WINDOW_S,
            "rows": rows,
            "seed": seed,
        },
    )


def accounts_loader(unindexed: Copies, indexed: Copies) -> DataLoader:
    """The technique's load_data: every copy filled, generated once in SQL, copied, and
    indexed after the load."""

    async def load_accounts(conn: AsyncConnection, settings: Settings) -> dict[str, int]:
        full = full_size(settings)
        for table in indexed.values():
            for index in table.indexes:  # building once after the load beats maintaining per row
                await conn.run_sync(index.drop)
        source = unindexed[None]
        await generate_accounts(conn, quoted_name(source), full, settings.seed)
        counts = {source.name: full}
        prefixes = [size for size in PREFIX_SIZES if size < full]
        filled = [(indexed[None], full)]
        filled += [(tables[size], size) for size in prefixes for tables in (unindexed, indexed)]
        for table, rows in filled:
            await conn.execute(
                text(
                    f"INSERT INTO {quoted_name(table)} ({COLUMNS})"
                    f" SELECT {COLUMNS} FROM {quoted_name(source)} WHERE id <= :rows"
                ),
                {"rows": rows},
            )
            counts[table.name] = rows
        for table in indexed.values():
            for index in table.indexes:
                await conn.run_sync(index.create)
        return counts

    return load_accounts
