"""The jobs the concurrency worker (bench_app.concurrency_worker) runs, and what they leave.

Two kinds of work a queue meets, whose right concurrency differs:

- I/O-bound: one call to the upstream, which answers after IO_LATENCY_MS. The job mostly
  waits, so one worker can keep many in flight;
- CPU-bound: hashing HASHED_BYTES. hashlib lets go of the GIL while it hashes a buffer this
  large, so jobs run on as many cores as the machine has, and no more.

Both answer a number or digest that depends only on the item, so every concurrency gives
the same results. A third job records an item as a row (job_records' work), keyed by the
job, so a job run twice writes once.

The worker process imports this and little else (aiohttp and asyncpg, not FastAPI or
SQLAlchemy): the app starts it on its first batch, and its imports are that batch's wait.
"""

import hashlib

import aiohttp
import asyncpg

IO_BOUND, CPU_BOUND = "io", "cpu"
IO_LATENCY_MS = 10  # the upstream's answer time: what an I/O-bound job waits for
HASHED_BYTES = 1 << 20  # a CPU-bound job hashes 1 MiB: a few ms of one core
# The bytes every CPU-bound job hashes after its item's number: fixed, so results repeat.
CHUNK = bytes(range(256)) * (HASHED_BYTES // 256)
DIGEST_CHARS = 16
RECORDS_TABLE = "job_records_done"  # job_records' rows (its model: RecordedJob, there)


async def wait_on_upstream(upstream: aiohttp.ClientSession, item: int) -> str:
    """The I/O-bound job: ask the upstream about `item`; its value, as text."""
    params = {"latency_ms": str(IO_LATENCY_MS)}
    async with upstream.get(f"/items/{item}", params=params) as response:
        response.raise_for_status()  # a failed call fails the job
        found = await response.json()
    return str(found["value"])


def hash_chunk(item: int) -> str:
    """The CPU-bound job: SHA-256 of the item's number and CHUNK (the start of its hex)."""
    digest = hashlib.sha256(item.to_bytes(8, "big"))
    digest.update(CHUNK)  # one call over 1 MiB: hashlib hashes it without the GIL
    return digest.hexdigest()[:DIGEST_CHARS]


def hash_item(item: int) -> str:
    """A short digest of the item's number alone (job_records' value: cheap to compute)."""
    return hashlib.sha256(item.to_bytes(8, "big")).hexdigest()[:DIGEST_CHARS]


async def record_item(pool: asyncpg.Pool, schema: str, job_key: str, item: int) -> None:
    """The job_records job: store the item with its digest, once per job key."""
    await pool.execute(
        f'INSERT INTO "{schema}"."{RECORDS_TABLE}" (job_key, item, value) VALUES ($1, $2, $3) '
        "ON CONFLICT (job_key) DO NOTHING",
        job_key,
        item,
        hash_item(item),
    )
