"""Configuration of the target app: servers, data sizes, pool sizes. The one place for them."""

import os
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from the environment (DATABASE_URL, REDIS_URL, PAIRBENCH_SCALE, ...)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        description="SQLAlchemy async URL of the PostgreSQL the app reads.",
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0")
    db_schema: str = Field(
        default="pairbench",
        validation_alias="PAIRBENCH_SCHEMA",
        description="All tables live in this schema, so a user's own database is never clobbered.",
    )
    scale: float = Field(default=1.0, validation_alias="PAIRBENCH_SCALE", gt=0)
    seed: int = Field(default=20261127, validation_alias="PAIRBENCH_SEED")
    # Uvicorn serves one worker, so the connections in use at once are the requests in
    # flight: at most the 16 closed-loop users of the heaviest profile. The pool must hold
    # them all, because overflow connections are closed when returned: with pool_size 10,
    # 16 users made the pool reconnect ~25 times a second. 20 keeps them open with some
    # headroom, the 10 overflow absorb bursts, and 30 stays well below max_connections (100).
    pool_size: int = Field(default=20, validation_alias="PAIRBENCH_POOL_SIZE")
    pool_max_overflow: int = Field(default=10, validation_alias="PAIRBENCH_POOL_MAX_OVERFLOW")
    upstream_url: str = Field(
        default="http://127.0.0.1:8900",
        validation_alias="PAIRBENCH_UPSTREAM_URL",
        description="The upstream HTTP service the outbound techniques call (the harness's stub).",
    )
    # The shared upstream client's pool holds every outbound call in flight at once: the
    # 16 users of the heaviest profile, each fanning out to FAN_OUT_CONCURRENCY calls.
    upstream_max_connections: int = Field(
        default=160, validation_alias="PAIRBENCH_UPSTREAM_MAX_CONNECTIONS", gt=0
    )
    fan_out_concurrency: int = Field(
        default=10,
        validation_alias="PAIRBENCH_FAN_OUT_CONCURRENCY",
        gt=0,
        description="Upstream calls one request may have in flight at once when it fans out.",
    )
    # Pure-Python CPU work offloaded to processes (event_loop_blocking) gets every core but
    # the one the event loop runs on: on this 2-core machine one worker, so the app's own
    # loop never competes with its pool for a core.
    cpu_pool_workers: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 1) - 1),
        validation_alias="PAIRBENCH_CPU_POOL_WORKERS",
        gt=0,
        description="Processes in the app's pool for pure-Python CPU work.",
    )
    job_queue: str = Field(
        default="pairbench",
        validation_alias="PAIRBENCH_JOB_QUEUE",
        description="The job queue's name in Redis (saq); tests use their own.",
    )
    meter: bool = Field(
        default=True,
        validation_alias="PAIRBENCH_METER",
        description=(
            "The per-request cost meter (the x-cost header, SQL and Redis counting, the slow-query "
            "log). Off only to measure what it costs (pairbench.load.overhead)."
        ),
    )
    metrics: bool = Field(
        default=True,
        validation_alias="PAIRBENCH_METRICS",
        description="Prometheus metrics on /metrics (bench_app.metrics).",
    )
    # The seed's slow-query threshold is 1 s; a benchmark's statements take milliseconds,
    # so one that takes 50 ms is already worth a look (under load this includes the time the
    # statement's result waited for the event loop: a slow query or a busy loop).
    slow_query_ms: float = Field(default=50.0, validation_alias="PAIRBENCH_SLOW_QUERY_MS", gt=0)
    # Every 10 ms: a load segment's lag p99 (pairbench.load.segment_figures) needs hundreds
    # of samples in its few measured seconds; 100 wake-ups a second cost next to nothing.
    loop_lag_interval_s: float = Field(
        default=0.01,
        validation_alias="PAIRBENCH_LOOP_LAG_INTERVAL_S",
        gt=0,
        description="How often the event-loop lag is sampled (bench_app.loop_lag).",
    )
    mutant: str = Field(
        default="",
        validation_alias="PAIRBENCH_MUTANT",
        description="Tests only: a technique one of whose variants answers subtly wrong "
        "(bench_app.mutants), to prove the equivalence check catches it.",
    )
    inject_regression: str = Field(
        default="",
        validation_alias="PAIRBENCH_INJECT_REGRESSION",
        description="Tests only: 'technique:variant' served by its baseline variant.",
    )


def environment_of(settings: Settings) -> dict[str, str]:
    """The environment variables that make another process (a worker the app starts) read
    `settings` back as they are."""
    found = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        value = getattr(settings, name)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        found[alias if isinstance(alias, str) else name.upper()] = text
    return found


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
