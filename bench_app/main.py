"""The target app: every technique's router, the cost meter, and a health check."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from bench_app import loop_lag
from bench_app.db import make_engine, make_sessionmaker
from bench_app.loop_lag import sampling_loop_lag
from bench_app.metering import CostMeterMiddleware
from bench_app.redis_client import make_redis
from bench_app.regression_switch import RegressionSwitch
from bench_app.settings import Settings, get_settings
from bench_app.techniques import all_techniques
from bench_app.upstream_client import make_upstream_client


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app with every registered technique mounted."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.redis = make_redis(settings)
        app.state.upstream = make_upstream_client(settings)  # one pooled client, shared
        try:
            async with AsyncExitStack() as technique_resources:
                await technique_resources.enter_async_context(sampling_loop_lag(app))
                for technique in all_techniques().values():
                    if technique.lifespan is not None:
                        await technique_resources.enter_async_context(technique.lifespan(app))
                yield
        finally:
            await app.state.upstream.close()
            await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(title="pairbench target app", lifespan=lifespan)
    app.add_middleware(CostMeterMiddleware)
    if settings.inject_regression:
        app.add_middleware(RegressionSwitch, spec=settings.inject_regression)
    for technique in all_techniques().values():
        app.include_router(technique.router)
    app.include_router(loop_lag.router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Ready when the database answers."""
        async with app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app
