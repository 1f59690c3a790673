"""The target app: every technique's router, the cost meter, /metrics and health checks."""

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, HTTPException
from sqlalchemy import text

from bench_app import gc_watch, loop_lag, metrics, redis_memory, slow_queries, streamed_costs
from bench_app.db import make_engine, make_sessionmaker
from bench_app.frozen_heap import startup_heap_frozen
from bench_app.gc_watch import GcWatch, watching
from bench_app.loop_lag import LoopLagSampler, sampling
from bench_app.metering import CostMeterMiddleware
from bench_app.metrics import AppMetrics, MetricsMiddleware
from bench_app.redis_client import make_redis
from bench_app.regression_switch import RegressionSwitch
from bench_app.responses import (
    DATABASE_UNAVAILABLE,
    DATABASE_UNREACHABLE,
    REDIS_UNREACHABLE,
    redis_unavailable,
)
from bench_app.settings import Settings, get_settings
from bench_app.slow_queries import SlowQueryLog
from bench_app.streamed_costs import StreamedCosts
from bench_app.task_count import counting_tasks
from bench_app.techniques import all_techniques
from bench_app.upstream_client import make_upstream_client


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app with every registered technique mounted."""
    settings = settings or get_settings()
    app_metrics = AppMetrics() if settings.metrics else None
    slow_query_log = SlowQueryLog(settings.slow_query_ms / 1000)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.redis = make_redis(settings)
        app.state.upstream = make_upstream_client(settings)  # one pooled client, shared
        try:
            async with AsyncExitStack() as resources:
                app.state.loop_lag = await resources.enter_async_context(
                    sampling(LoopLagSampler(settings.loop_lag_interval_s))
                )
                app.state.gc_watch = resources.enter_context(watching(GcWatch()))
                if settings.meter:
                    resources.enter_context(counting_tasks())
                if app_metrics is not None:
                    app_metrics.pool = engine.pool
                    app_metrics.loop_lag = app.state.loop_lag
                    app_metrics.gc = app.state.gc_watch
                for technique in all_techniques().values():
                    if technique.lifespan is not None:
                        await resources.enter_async_context(technique.lifespan(app))
                app.state.frozen_objects = resources.enter_context(startup_heap_frozen())
                yield
        finally:
            await app.state.upstream.close()
            await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(title="pairbench target app", lifespan=lifespan)
    app.state.metrics = app_metrics
    app.state.slow_queries = slow_query_log
    app.state.streamed_costs = StreamedCosts()
    # The cost meter, when on, also tells the metrics about each request: one layer for both.
    if settings.meter:
        app.add_middleware(
            CostMeterMiddleware,
            slow_queries=slow_query_log,
            observer=app_metrics,
            streamed_costs=app.state.streamed_costs,
        )
    elif app_metrics is not None:
        app.add_middleware(MetricsMiddleware, metrics=app_metrics)
    for error in REDIS_UNREACHABLE:
        app.add_exception_handler(error, redis_unavailable)
    if settings.inject_regression:
        app.add_middleware(RegressionSwitch, spec=settings.inject_regression)
    for technique in all_techniques().values():
        app.include_router(technique.router)
    if settings.mutant:  # tests only: one variant made subtly wrong (bench_app.mutants)
        from bench_app.mutants import install_mutants

        install_mutants(app, settings.mutant)

    @app.get("/health", responses=DATABASE_UNAVAILABLE)
    async def health() -> dict[str, str]:
        """Ready when the database answers; says which process answered (of several workers)."""
        try:
            async with app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except DATABASE_UNREACHABLE as error:
            detail = f"PostgreSQL could not be reached ({type(error).__name__}); retry later"
            raise HTTPException(status_code=503, detail=detail) from error
        return {"status": "ok", "process": str(os.getpid())}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        """Alive: answers without touching any server (what the meter costs on its own)."""
        return {"status": "ok"}

    # Last: routes are matched in order, so no measured request pays for passing these.
    app.include_router(slow_queries.router)
    app.include_router(loop_lag.router)  # each load segment's lag, for the harness
    app.include_router(gc_watch.router)  # and its collections
    app.include_router(redis_memory.router)  # and how far Redis's memory grew
    app.include_router(streamed_costs.router)  # a streamed response's whole costs, for its client
    if app_metrics is not None:
        app.include_router(metrics.router)
    return app
