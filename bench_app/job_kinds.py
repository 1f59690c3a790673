"""The jobs the concurrency worker (bench_app.concurrency_worker) runs, and what they leave.

Two kinds of work a queue meets, whose right concurrency differs:

- I/O-bound: one call to the upstream, which answers after IO_LATENCY_MS. The job mostly
  waits, so one worker can keep many in flight;
- CPU-bound: hashing HASHED_BYTES. hashlib lets go of the GIL while it hashes a buffer this
  large, so jobs run on as many cores as the machine has, and no more.

Both answer a number or digest that depends only on the item, so every concurrency gives
the same results. A third job records an item as a row (job_records' work), keyed by the
job, so a job run twice writes once.
"""

import hashlib

import aiohttp
from sqlalchemy import Integer, String
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bench_app.models import Base
from bench_app.upstream_client import fetch_item

IO_BOUND, CPU_BOUND = "io", "cpu"
IO_LATENCY_MS = 10  # the upstream's answer time: what an I/O-bound job waits for
HASHED_BYTES = 1 << 20  # a CPU-bound job hashes 1 MiB: a few ms of one core
# The bytes every CPU-bound job hashes after its item's number: fixed, so results repeat.
CHUNK = bytes(range(256)) * (HASHED_BYTES // 256)
DIGEST_CHARS = 16


async def wait_on_upstream(upstream: aiohttp.ClientSession, item: int) -> str:
    """The I/O-bound job: ask the upstream about `item`; its value, as text."""
    found = await fetch_item(upstream, item, params={"latency_ms": str(IO_LATENCY_MS)})
    return str(found.value)


def hash_chunk(item: int) -> str:
    """The CPU-bound job: SHA-256 of the item's number and CHUNK (the start of its hex)."""
    digest = hashlib.sha256(item.to_bytes(8, "big"))
    digest.update(CHUNK)  # one call over 1 MiB: hashlib hashes it without the GIL
    return digest.hexdigest()[:DIGEST_CHARS]


class RecordedJob(Base):
    """What a job_records job leaves behind: one row per job, keyed by its id."""

    __tablename__ = "job_records_done"

    job_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    item: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(String(DIGEST_CHARS))


async def record_item(sessions: async_sessionmaker[AsyncSession], job_key: str, item: int) -> None:
    """The job_records job: store the item with its digest, once per job key."""
    statement = insert(RecordedJob).values(job_key=job_key, item=item, value=hash_item(item))
    async with sessions() as session, session.begin():
        await session.execute(statement.on_conflict_do_nothing(index_elements=["job_key"]))


def hash_item(item: int) -> str:
    """A short digest of the item's number alone (job_records' value: cheap to compute)."""
    return hashlib.sha256(item.to_bytes(8, "big")).hexdigest()[:DIGEST_CHARS]
