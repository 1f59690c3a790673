"""Row-by-row inserts vs one batched statement vs COPY.

Contract: store a batch of `rows` order lines (generated from their positions, so
every variant stores the same rows), then answer what the table held for the
batch: its row count, units and total in cents. The endpoints are GETs because
the harness drives every variant with GET.

Cleanup, the same for every variant: after its inserts are committed, each request
deletes its own batch in one statement that also computes the answer (DELETE ...
RETURNING inside a CTE), so the table never grows during a load segment and the
answer proves the rows really landed. That statement costs every variant the same
time, so it narrows the measured ratios a little; it never widens them. The reset,
POSTed before each segment, empties the table, dead rows included.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, cast
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import Integer, String, Table, Uuid, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bench_app.asyncpg_copy import asyncpg_connection, metered_as_one_statement
from bench_app.db import SessionDep
from bench_app.effects import RowsStored
from bench_app.models import Base, quoted_name
from bench_app.technique import Technique

router = APIRouter(prefix="/bulk-insert", tags=["bulk_insert"])

DEFAULT_ROWS = 100
# The bound is the sweep's largest point, on purpose: row_by_row commits each line, so a
# request holds a database connection for a commit's wait (a disk sync) per row: ten
# thousand rows take many seconds, the more the busier the disk. A public endpoint must not
# let one request tie the database up that long; 1,000 still shows the growth.
MAX_ROWS = 1000

RowCount = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_ROWS,
        description=(
            "How many order lines to insert. At most the benchmark's largest batch: "
            "row_by_row commits each line, a disk sync each, so a larger batch would hold a "
            "database connection for many seconds per request."
        ),
    ),
]
NOTES = ("gift wrap", "leave at the door", "", "fragile", "", "call on arrival", "", "")
DRAIN_TIMEOUT_S = 300.0  # above the slowest request: MAX_ROWS commits one by one, under load


class OrderLine(Base):
    """The scratch table: lines of an import batch, keyed by (batch, position)."""

    __tablename__ = "bulk_insert_order_lines"

    batch_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    unit_price_cents: Mapped[int]
    note: Mapped[str] = mapped_column(String(100))


LINES = cast(Table, OrderLine.__table__)  # declarative gives a Table; typing says FromClause
COLUMNS = [column.name for column in LINES.columns]


def order_lines(batch: UUID, count: int) -> list[dict[str, Any]]:
    """The batch's lines: a function of their positions only."""
    return [
        {
            "batch_id": batch,
            "position": position,
            "sku": f"SKU-{position * 7919 % 10007:05d}",
            "quantity": 1 + position % 9,
            "unit_price_cents": 99 + position * 31 % 9900,
            "note": NOTES[position % len(NOTES)],
        }
        for position in range(count)
    ]


class BatchReceipt(BaseModel):
    rows: int
    units: int
    total_cents: int


async def remove_batch(session: AsyncSession, batch: UUID) -> BatchReceipt:
    """Delete the batch and sum what it held, in one statement: every variant's cleanup."""
    removed = (
        delete(LINES)
        .where(LINES.c.batch_id == batch)
        .returning(LINES.c.quantity, LINES.c.unit_price_cents)
        .cte("removed")
    )
    query = select(
        func.count(),
        func.coalesce(func.sum(removed.c.quantity), 0),
        func.coalesce(func.sum(removed.c.quantity * removed.c.unit_price_cents), 0),
    )
    rows, units, total_cents = (await session.execute(query)).one()
    await session.commit()
    return BatchReceipt(rows=rows, units=units, total_cents=total_cents)


class WritesInFlight:
    """Counts variant requests still being served, so the reset can wait for them.

    A client that gives up (Locust ends a segment mid-request) does not stop the
    server's loop; without the wait, a row-by-row batch would spill its commits
    into the next variant's segment.
    """

    def __init__(self) -> None:
        self.count = 0

    async def track(self) -> AsyncIterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


IN_FLIGHT = WritesInFlight()
TRACKED = [Depends(IN_FLIGHT.track)]


@router.get("/row-by-row", response_model=BatchReceipt, dependencies=TRACKED)
async def row_by_row(session: SessionDep, rows: RowCount = DEFAULT_ROWS) -> BatchReceipt:
    """Add and commit each row on its own: R INSERTs, R transactions, R waits for the disk."""
    batch = uuid4()
    for line in order_lines(batch, rows):
        session.add(OrderLine(**line))
        await session.commit()
    return await remove_batch(session, batch)


@router.get("/batched", response_model=BatchReceipt, dependencies=TRACKED)
async def batched(session: SessionDep, rows: RowCount = DEFAULT_ROWS) -> BatchReceipt:
    """Insert all rows with one executemany in one transaction: 1 statement, 1 commit."""
    batch = uuid4()
    await session.execute(insert(OrderLine), order_lines(batch, rows))
    await session.commit()
    return await remove_batch(session, batch)


@router.get("/copy", response_model=BatchReceipt, dependencies=TRACKED)
async def copy(session: SessionDep, rows: RowCount = DEFAULT_ROWS) -> BatchReceipt:
    """Stream all rows with COPY (asyncpg copy_records_to_table): 1 statement, no SQL per row."""
    batch = uuid4()
    records = [tuple(line[name] for name in COLUMNS) for line in order_lines(batch, rows)]
    driver = await asyncpg_connection(session)
    with metered_as_one_statement():  # outside BEGIN, the COPY is its own transaction
        await driver.copy_records_to_table(
            LINES.name, records=records, columns=COLUMNS, schema_name=LINES.schema
        )
    return await remove_batch(session, batch)


@router.post("/reset")
async def reset(session: SessionDep) -> dict[str, int]:
    """Wait (bounded) for unfinished batches, then empty the table: before each segment."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while IN_FLIGHT.count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await session.execute(text(f"TRUNCATE {quoted_name(LINES)}"))
    await session.commit()
    return {"unfinished": IN_FLIGHT.count}


TECHNIQUE = Technique(
    key="bulk_insert",
    area="database",
    title="Row-by-row inserts vs one batched statement vs COPY",
    summary=(
        "Inserting and committing rows one at a time pays a round trip per statement and, "
        "per commit, a wait for the write-ahead log to reach the disk, R times over. One "
        "transaction with one executemany (asyncpg pipelines the rows) pays those once, "
        "and COPY also skips per-row statement handling by streaming the rows in "
        "PostgreSQL's bulk-load protocol."
    ),
    guide_section="Memory Management / Memory Leak Prevention",
    router=router,
    variants=("row_by_row", "batched", "copy"),
    baseline="row_by_row",
    params={"rows": DEFAULT_ROWS},
    sweep={"rows": [10, 100, MAX_ROWS]},
    round_trips=True,
    proof=(
        "statements per request: R+1 -> 2 -> 2 (the +1 is the shared cleanup); commits: R+1"
        " -> 2 -> 2"
    ),
    caveats=(
        "Counting BEGIN and COMMIT round trips too, row-by-row sends about 3R. COPY is "
        "metered by hand: SQLAlchemy's events do not see it. The meter times statements, not "
        "BEGIN and COMMIT, so row-by-row's waits for its commits show as app time in the time"
        " split. Where the sweep strains: at its largest R a row-by-row request takes "
        "seconds even alone (the probe's figures say how many), and far longer under load "
        "(`--sweep load`) with the standard profile's users, longer than a segment, so that "
        "point may have few or no baseline samples: that absence is the result."
    ),
    reset_path="/bulk-insert/reset",
    # The answer is the batch read back as it is deleted; after it, the table holds nothing.
    effects=(RowsStored(table=quoted_name(LINES)),),
)
