"""Database engines and the session dependency every technique uses."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from bench_app.metering import meter_engine
from bench_app.settings import Settings


def make_engine(settings: Settings, *, pooled: bool = True) -> AsyncEngine:
    """A metered async engine: pooled (the normal case) or a fresh connection per checkout."""
    if pooled:
        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.pool_size,
            max_overflow=settings.pool_max_overflow,
            pool_pre_ping=False,
        )
    else:
        engine = create_async_engine(settings.database_url, poolclass=NullPool)
    if settings.meter:
        meter_engine(engine, slow_query_s=settings.slow_query_ms / 1000)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request from the app's pooled engine."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


# scope="function" closes the session when the endpoint returns, not after the response is
# sent: the connection goes back to the pool sooner, so a client's next request never finds
# its previous one still holding a connection (which pushed the pool into overflow churn).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """FastAPI dependency: the app's session factory, for work that must not borrow (and
    outlive) the request's own session, such as a computation other requests await."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessions


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
