"""A redis.asyncio client that puts each request's Redis commands and round trips on the meter.

Round trips are what caching techniques trade in: 100 awaited GETs are 100 round trips,
one MGET or one pipeline of 100 GETs is one. So every command counts once, and so does
every trip to the server, whatever it carries. Connection set-up (HELLO, SELECT) is not
counted: like a pool's, it is not the request's doing.

A command that walks the whole keyspace in one call (KEYS) also counts as a blocking
scan: Redis serves one command at a time, so every other client waits it out.
"""

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bench_app.metering import current_cost

TRANSACTION_WRAPPER_COMMANDS = 2  # MULTI and EXEC, sent with the queued commands
BLOCKING_SCANS = frozenset({"KEYS"})  # SCAN walks the keyspace a step at a time instead


def count_round_trip(commands: Sequence[Any], wrapper_commands: int = 0) -> None:
    """Meter one trip to Redis carrying `commands` (their names first) and `wrapper_commands`
    more, and those of them that walk the whole keyspace at once, if a request is metered."""
    cost = current_cost()
    if cost is not None:
        cost.redis_commands += len(commands) + wrapper_commands
        cost.redis_round_trips += 1
        cost.redis_blocking_scans += sum(
            1 for name in commands if str(name).upper() in BLOCKING_SCANS
        )


def count_cache_lookups(hits: int = 0, misses: int = 0) -> None:
    """Meter cache lookups: a hit answered from a cache, a miss had to go to the source."""
    cost = current_cost()
    if cost is not None:
        cost.cache_hits += hits
        cost.cache_misses += misses


class MeteredPipeline(Pipeline):
    """A pipeline that meters its queued commands as one round trip when it executes."""

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if self.command_stack:
            extra = TRANSACTION_WRAPPER_COMMANDS if self.is_transaction else 0
            count_round_trip([args[0] for args, _options in self.command_stack], extra)
        return await super().execute(raise_on_error)

    async def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        # WATCH and the reads between WATCH and MULTI go out one at a time.
        count_round_trip(args[:1])
        return await super().immediate_execute_command(*args, **options)  # type: ignore[no-untyped-call]


class MeteredRedis(Redis):
    """redis.asyncio.Redis that meters every command and every pipeline it sends."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        count_round_trip(args[:1])
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> MeteredPipeline:
        return MeteredPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
