"""Read the whole upload, then insert vs parse the stream and COPY it in batches.

Contract: POST a CSV of payments (the header `id,booked_on,payer,amount_cents,reference`,
then one payment a line, UTF-8) with its Content-Length; the variant stores it as one
import, all or nothing, and answers what the table then holds for that import: its row
count, the sum of its amounts, and an MD5 checksum of its rows in line order, computed
by the database. A line that cannot be stored is a 422 naming the line, and nothing of
the upload is kept; an empty body is an empty import. The endpoints do not look at the
content type. A point's `rows` is the client's: it sizes the upload the harness sends
(every point parameter rides in the query string; the endpoints take none).
"""

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Annotated, Any, cast
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import BigInteger, Date, Integer, String, Table, Uuid, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bench_app.asyncpg_copy import asyncpg_connection, metered_as_one_statement
from bench_app.csv_records import CsvLineError, decode, records, streamed_lines, text_lines
from bench_app.db import SessionDep
from bench_app.effects import RowsStored
from bench_app.headline import PEAK_MEMORY, Headline
from bench_app.models import Base, quoted_name
from bench_app.payment_uploads import DEFAULT_ROWS, HEADER, UPLOAD, upload
from bench_app.technique import Technique

router = APIRouter(prefix="/csv-import", tags=["csv_import"])

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
ROWS_PER_COPY = 5_000


class Payment(Base):
    """An imported payment, keyed by its import and its line in the uploaded file."""

    __tablename__ = "csv_import_payments"

    import_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger)
    booked_on: Mapped[date] = mapped_column(Date)
    payer: Mapped[str] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(140))


PAYMENTS = cast(Table, Payment.__table__)
COLUMNS = ["import_id", "line", *HEADER]
PaymentRecord = tuple[UUID, int, int, date, str, int, str]  # in COLUMNS order


def payment(import_id: UUID, line: int, fields: list[str]) -> PaymentRecord:
    """One CSV line as a row to store; what cannot be stored is a CsvLineError."""
    if len(fields) != len(HEADER):
        raise CsvLineError(line, f"expected {len(HEADER)} fields, found {len(fields)}")
    payment_id, booked_on, payer, amount_cents, reference = fields
    try:
        day = date.fromisoformat(booked_on)
    except ValueError:
        raise CsvLineError(line, f"booked_on {booked_on!r} is not a date (YYYY-MM-DD)") from None
    if not payment_id.isdigit() or not 0 < int(payment_id) < 2**63:
        raise CsvLineError(line, f"id {payment_id!r} is not a positive integer")
    try:
        cents = int(amount_cents)
    except ValueError:
        raise CsvLineError(line, f"amount_cents {amount_cents!r} is not an integer") from None
    if not payer or len(payer) > 100:
        raise CsvLineError(line, "payer must have 1 to 100 characters")
    if len(reference) > 140:
        raise CsvLineError(line, "reference must have at most 140 characters")
    return import_id, line, int(payment_id), day, payer, cents, reference


def payments(import_id: UUID, lines: Iterable[str], first_line: int) -> Iterator[PaymentRecord]:
    """The payments on `lines` (line 1 is the header)."""
    for line, fields in records(lines, first_line):
        if line == 1:
            if fields != HEADER:
                raise CsvLineError(1, f"the header must be {','.join(HEADER)}")
            continue
        yield payment(import_id, line, fields)


def declared_size(request: Request) -> int:
    """The upload's Content-Length: required, and at most MAX_UPLOAD_BYTES."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "send the CSV with a Content-Length header")
    if int(length) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"the upload is over {MAX_UPLOAD_BYTES // 2**20} MiB")
    return int(length)


def unstorable(error: CsvLineError) -> RequestValidationError:
    """A line that cannot be stored, as a 422 like any other invalid input."""
    detail = {"type": "value_error", "loc": ("body", error.line), "msg": str(error), "input": None}
    return RequestValidationError([detail])


class ImportReceipt(BaseModel):
    rows: int
    amount_cents: int
    checksum: str  # MD5 of the stored rows in line order, import id left out


async def stored(session: AsyncSession, import_id: UUID) -> ImportReceipt:
    """What the table holds for the import, read back after it committed: every variant's answer."""
    result = await session.execute(
        text(
            "SELECT count(*), coalesce(sum(amount_cents), 0),"
            " md5(coalesce(string_agg(concat_ws('|', line, id, booked_on, payer, amount_cents,"
            f" reference), E'\\n' ORDER BY line), '')) FROM {quoted_name(PAYMENTS)}"
            " WHERE import_id = :import_id"
        ),
        {"import_id": import_id},
    )
    rows, amount_cents, checksum = result.one()
    await session.commit()
    return ImportReceipt(rows=rows, amount_cents=amount_cents, checksum=checksum)


UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    411: {"description": "No Content-Length header."},
    413: {"description": f"The upload is over {MAX_UPLOAD_BYTES // 2**20} MiB."},
    422: {"description": "A line cannot be stored (the message names it): nothing stored."},
}
SizedUpload = Annotated[int, Depends(declared_size)]


@router.post("/naive", response_model=ImportReceipt, openapi_extra=UPLOAD, responses=UPLOAD_ERRORS)
async def naive(request: Request, session: SessionDep, _: SizedUpload) -> ImportReceipt:
    """Read the whole body, parse it into a list, insert it with one executemany: the upload,
    its text and every parsed row are in memory at once."""
    import_id = uuid4()
    try:
        lines = text_lines(decode(await request.body()))
        parsed = list(payments(import_id, lines, 1))
    except CsvLineError as error:
        raise unstorable(error) from None
    values = [dict(zip(COLUMNS, row, strict=True)) for row in parsed]
    if values:
        await session.execute(insert(PAYMENTS), values)
    await session.commit()
    return await stored(session, import_id)


@router.post(
    "/streaming", response_model=ImportReceipt, openapi_extra=UPLOAD, responses=UPLOAD_ERRORS
)
async def streaming(request: Request, session: SessionDep, _: SizedUpload) -> ImportReceipt:
    """Parse the body as it arrives and COPY every ROWS_PER_COPY rows, in one transaction: a
    chunk and a batch in memory, whatever the upload's size."""
    import_id = uuid4()
    driver = await asyncpg_connection(session)
    next_line = 1
    try:
        async with driver.transaction():  # all or nothing: an error rolls back every batch
            batch: list[PaymentRecord] = []
            async for lines in streamed_lines(request.stream()):
                for record in payments(import_id, lines, next_line):
                    batch.append(record)
                    if len(batch) == ROWS_PER_COPY:
                        await copy_batch(driver, batch)
                        batch = []
                next_line += len(lines)
            if batch:
                await copy_batch(driver, batch)
    except CsvLineError as error:
        raise unstorable(error) from None
    return await stored(session, import_id)


async def copy_batch(driver: Any, batch: list[PaymentRecord]) -> None:
    with metered_as_one_statement():
        await driver.copy_records_to_table(
            PAYMENTS.name, records=batch, columns=COLUMNS, schema_name=PAYMENTS.schema
        )


@router.post("/reset")
async def reset(session: SessionDep) -> dict[str, str]:
    """Empty the table (it waits for imports still writing): before each segment."""
    await session.execute(text(f"TRUNCATE {quoted_name(PAYMENTS)}"))
    await session.commit()
    return {"status": "empty"}


TECHNIQUE = Technique(
    key="csv_import",
    area="response and memory",
    title="Read the whole upload, then insert vs stream-parse and COPY in batches",
    summary=(
        "The obvious import reads the whole request body, decodes it, parses every line into "
        "a list and inserts the list with one executemany: the upload, its text and every "
        "parsed row sit in memory together, so memory grows with the file. Reading the body "
        "as it arrives (request.stream()), parsing each chunk's complete lines and writing "
        "every few thousand rows with COPY (asyncpg's copy_records_to_table) keeps one chunk "
        "and one batch in memory whatever the size, and COPY skips per-row statement "
        "handling. One transaction around the batches keeps the import all or nothing."
    ),
    guide_section="Memory Management / Memory Leak Prevention",
    router=router,
    variants=("naive", "streaming"),
    baseline="naive",
    headline=Headline(PEAK_MEMORY),
    params={"rows": DEFAULT_ROWS},
    # ~85 bytes a line: at scale 1 (quick) up to ~10 MB, at scale 10 (standard) ~100 MB.
    sweep={"rows": [1_000, DEFAULT_ROWS, 120_000]},
    sweep_scales=True,
    proof=(
        "app peak memory grows with the upload -> flat; statements: 1 executemany -> one COPY "
        f"per {ROWS_PER_COPY:,} rows (+1 checksum read each); same stored rows (checksum)"
    ),
    caveats=(
        "Both variants validate every line and store all or nothing, so a bad line is a 422 "
        "naming it and leaves no rows. The streaming variant finds a bad line after it may "
        "have copied earlier batches, which its transaction then rolls back: it has done "
        "that work for nothing, the naive variant none. Both read the checksum back, which "
        "costs each the same. Rows per second is rows x requests per second. The workload "
        "runs two uploads at a time (imports are heavy and occasional), so the peak memory is "
        "what two concurrent imports cost. Uploads are "
        "about 85 bytes a line: the sweep's 1k, 10k and 120k rows are about 0.08, 0.8 and "
        "10 MB; the standard profile sweeps ten times those (10k, 100k and 1.2M rows, up to "
        "about 100 MB), as its data is ten times larger. The default point stays 10k rows."
    ),
    scenario="scenarios.csv_import",
    micro="scenarios.micro.csv_import",
    request_body=upload,
    fresh_process=True,
    reset_path="/csv-import/reset",
    # Read back by another connection than the import's: committed, whole, in line order.
    effects=(RowsStored(table=quoted_name(PAYMENTS), columns=("line", *HEADER), order_by="line"),),
)
