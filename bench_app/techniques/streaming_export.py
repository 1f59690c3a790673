"""Build the whole export in memory vs stream it from a server-side cursor.

Contract: the ledger entries booked in the last `days` days before the data set's
epoch, oldest first (booked_at, then id), as CSV: a header line, then one line per
entry, UTF-8, lines ended by CRLF (RFC 4180, the csv module's default). Every variant
sends the same bytes. The ledger holds 1,000 x scale entries a day over 100 days:
100,000 rows at the default scale, a million at the standard profile's.
"""

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import BigInteger, DateTime, Index, Row, Select, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncResult, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bench_app.db import SessionDep, get_session
from bench_app.headline import PEAK_MEMORY, Headline
from bench_app.models import Base, quoted_name
from bench_app.seed import EPOCH
from bench_app.settings import Settings, get_settings
from bench_app.technique import Technique

router = APIRouter(prefix="/streaming-export", tags=["streaming_export"])

DAYS_HELD = 100
ENTRIES_PER_DAY_PER_SCALE = 1_000
DEFAULT_DAYS = 30
ROWS_PER_FETCH = 2_000  # rows per round trip of the server-side cursor, and per chunk sent
# Each download holds a pool connection until its last byte is sent: at most half the pool
# may be held by downloads, so a burst of exports cannot starve every other endpoint.
MAX_DOWNLOADS = max(1, get_settings().pool_size // 2)

Days = Annotated[
    int,
    Query(ge=1, le=DAYS_HELD, description="Export the entries of this many days, up to the epoch."),
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The entries as CSV, header first.", "content": {"text/csv": {}}}
}


class LedgerEntry(Base):
    """A booked payment; the table every variant exports from."""

    __tablename__ = "streaming_export_ledger"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    account: Mapped[str] = mapped_column(String(34))
    counterparty: Mapped[str] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str] = mapped_column(String(140))

    # The export reads a time range in time order: this index hands the rows over in order.
    __table_args__ = (Index("streaming_export_ledger_booked_idx", "booked_at", "id"),)


LEDGER = cast(Table, LedgerEntry.__table__)
HEADER = ["id", "booked_at", "account", "counterparty", "amount_cents", "currency", "memo"]


def entries_since(days: int) -> Select[Any]:
    """The contract's query: the last `days` days of entries, oldest first."""
    return (
        select(*(LEDGER.c[name] for name in HEADER))
        .where(LEDGER.c.booked_at >= EPOCH - timedelta(days=days))
        .order_by(LEDGER.c.booked_at, LEDGER.c.id)
    )


def csv_text(rows: Sequence[Row[Any]], header: bool = False) -> str:
    """Rows as CSV lines (booked_at in ISO 8601), optionally after the header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(HEADER)
    writer.writerows((row.id, row.booked_at.isoformat(), *row[2:]) for row in rows)
    return buffer.getvalue()


@router.get("/naive", response_class=Response, responses=CSV_RESPONSE)
async def naive(session: SessionDep, days: Days = DEFAULT_DAYS) -> Response:
    """Load every row (.all()), build the whole CSV, then send it: memory grows with the export."""
    rows = (await session.execute(entries_since(days))).all()
    return Response(csv_text(rows, header=True), media_type="text/csv")


# The default dependency scope ("request") keeps the session open until the response has
# been sent, which a body read from the database while it is sent needs; max_concurrency
# makes a download beyond MAX_DOWNLOADS wait for a slot (without a thread) before it opens one.
DownloadSession = Annotated[AsyncSession, Depends(get_session, max_concurrency=MAX_DOWNLOADS)]


async def csv_chunks(result: AsyncResult[Any]) -> AsyncIterator[str]:
    """The header line, then one chunk of CSV per batch of rows the cursor fetches."""
    yield csv_text([], header=True)
    async for rows in result.partitions():
        yield csv_text(rows)


@router.get("/streaming", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def streaming(session: DownloadSession, days: Days = DEFAULT_DAYS) -> StreamingResponse:
    """Stream from a server-side cursor, ROWS_PER_FETCH rows at a time: flat memory, early first
    byte, one pool connection held for the whole download."""
    # Opened before answering, so a failing query is a 500, not a 200 cut short.
    query = entries_since(days).execution_options(yield_per=ROWS_PER_FETCH)
    result = await session.stream(query)
    return StreamingResponse(csv_chunks(result), media_type="text/csv")


GENERATE_LEDGER = """
INSERT INTO {table} (id, booked_at, account, counterparty, amount_cents, currency, memo)
SELECT i,
       CAST(:first_day AS timestamptz) + (i - 1) * CAST(:spacing_us AS bigint) * interval '1 microsecond',
       'DE' || lpad(((h & 2147483647) % 100000000)::text, 20, '0'),
       (CAST(:counterparties AS text[]))[1 + (h >> 32 & 65535) % :counterparty_count],
       ((h >> 48 & 65535) % 200000) - 50000,
       (CAST(:currencies AS text[]))[1 + (h >> 20 & 255) % :currency_count],
       (CAST(:memos AS text[]))[1 + (h >> 8 & 255) % :memo_count]
FROM generate_series(1, CAST(:rows AS bigint)) AS i,
     LATERAL (SELECT hashint8extended(i, CAST(:seed AS bigint))) AS hashes(h)
"""  # noqa: E501
COUNTERPARTIES = ["Acme Corp", "Globex", "Initech", "Umbrella, Ltd.", "Hooli", "Stark Industries"]
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "GBP", "CHF"]
# Commas, quotes and empty fields, so the CSV quoting is exercised on every export.
MEMOS = ["invoice 2291", "refund, partial", 'order "express"', "", "salary", "rent"]


def ledger_size(settings: Settings) -> int:
    """Rows in the ledger at this scale."""
    return DAYS_HELD * max(1, round(ENTRIES_PER_DAY_PER_SCALE * settings.scale))


async def load_ledger(conn: AsyncConnection, settings: Settings) -> dict[str, int]:
    """Fill the ledger: entries evenly spaced over DAYS_HELD days, each drawn from its id's hash."""
    rows = ledger_size(settings)
    await conn.execute(
        text(GENERATE_LEDGER.format(table=quoted_name(LEDGER))),
        {
            "first_day": EPOCH - timedelta(days=DAYS_HELD),
            "spacing_us": DAYS_HELD * 86_400_000_000 // rows,
            "counterparties": COUNTERPARTIES,
            "counterparty_count": len(COUNTERPARTIES),
            "currencies": CURRENCIES,
            "currency_count": len(CURRENCIES),
            "memos": MEMOS,
            "memo_count": len(MEMOS),
            "rows": rows,
            "seed": settings.seed,
        },
    )
    return {LEDGER.name: rows}


TECHNIQUE = Technique(
    key="streaming_export",
    area="response and memory",
    title="Build the export in memory vs stream it from a server-side cursor",
    summary=(
        "A CSV export built the obvious way loads every row (.all()), formats the whole file "
        "and only then sends it: the app holds the rows and the file at once, and the client "
        "waits for all of it before the first byte. Streaming reads a server-side cursor a "
        "batch at a time (session.stream with yield_per; a plain execute() with asyncpg "
        "fetches every row first) and sends each batch as it is formatted, through a "
        "StreamingResponse: memory stays flat whatever the size, and the first bytes leave "
        "at once."
    ),
    guide_section="Performance Optimization Checklist / Memory Management",
    router=router,
    variants=("naive", "streaming"),
    baseline="naive",
    headline=Headline(PEAK_MEMORY),
    params={"days": DEFAULT_DAYS},
    sweep={"days": [1, DAYS_HELD]},
    proof=(
        "app peak memory grows with the export -> flat; first byte after the whole export -> "
        "after the first batch; same bytes; 1 query each (streaming holds its connection "
        "for the whole download)"
    ),
    caveats=(
        "A streamed download holds a pool connection (and a server-side cursor in an open "
        "transaction) until its last byte is sent, so a slow client holds it longer: the "
        f"streaming variant lets at most {MAX_DOWNLOADS} downloads (half the pool) run at once"
        " and queues the rest, so other endpoints keep their connections. Its cost header "
        "leaves with the first byte, before most rows are read: its costs (rows, DB time, "
        "app time to the last byte) are recorded as the body ends and read after it "
        "(bench_app.streamed_costs). Once the headers are out, a failure mid-download can only"
        " cut the body short (the client sees a truncated file, not a 500). The rows grow "
        f"with the days and the data's scale: {ENTRIES_PER_DAY_PER_SCALE:,} a day at scale 1 "
        f"({DEFAULT_DAYS * ENTRIES_PER_DAY_PER_SCALE:,} at the default {DEFAULT_DAYS} days), "
        f"ten times that at scale 10, where a {DAYS_HELD}-day naive export holds "
        f"{DAYS_HELD * ENTRIES_PER_DAY_PER_SCALE * 10:,} rows at once. "
        "The workload runs two downloads at a time (exports are heavy and occasional), so "
        "the peak memory is what two concurrent exports cost."
    ),
    scenario="scenarios.streaming_export",
    fresh_process=True,
    load_data=load_ledger,
)
