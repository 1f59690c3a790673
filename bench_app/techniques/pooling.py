"""A new database connection per request vs a connection pool.

Contract: the first `users` users by id (id, email, first and last name). The query
is deliberately small: what differs between the variants is only where the
connection comes from, a fresh one per request or one the pool keeps open.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench_app.db import SessionDep, make_engine, make_sessionmaker
from bench_app.models import User
from bench_app.technique import Technique

router = APIRouter(prefix="/pooling", tags=["pooling"])

DEFAULT_USERS = 10

UserCount = Annotated[int, Query(ge=1, le=1000, description="How many users to list.")]


@asynccontextmanager
async def unpooled_engine(app: FastAPI) -> AsyncIterator[None]:
    """A NullPool engine for the app's lifetime: every session checkout opens a connection."""
    engine = make_engine(app.state.settings, pooled=False)
    app.state.unpooled_sessionmaker = make_sessionmaker(engine)
    try:
        yield
    finally:
        await engine.dispose()


async def get_unpooled_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session whose connection is opened for it and closed after."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.unpooled_sessionmaker
    async with sessionmaker() as session:
        yield session


# Closed when the endpoint returns, like SessionDep, so both variants hold a connection
# for the same span of the request.
UnpooledSessionDep = Annotated[AsyncSession, Depends(get_unpooled_session, scope="function")]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    first_name: str
    last_name: str


async def first_users(session: AsyncSession, users: int) -> list[UserOut]:
    """The contract's one query, the same in both variants."""
    query = select(User.id, User.email, User.first_name, User.last_name)
    rows = (await session.execute(query.order_by(User.id).limit(users))).all()
    return [UserOut.model_validate(row) for row in rows]


@router.get("/connect-per-request", response_model=list[UserOut])
async def connect_per_request(
    session: UnpooledSessionDep, users: UserCount = DEFAULT_USERS
) -> list[UserOut]:
    """Open a new connection for each request (NullPool) and close it after: a handshake each."""
    return await first_users(session, users)


@router.get("/pooled", response_model=list[UserOut])
async def pooled(session: SessionDep, users: UserCount = DEFAULT_USERS) -> list[UserOut]:
    """Borrow an open connection from the app's pool and give it back: no handshake."""
    return await first_users(session, users)


TECHNIQUE = Technique(
    key="pooling",
    area="database",
    title="Connection per request vs connection pool",
    summary=(
        "Opening a PostgreSQL connection costs a TCP handshake, a new server process, "
        "authentication and the driver's set-up queries, several times a small query, and "
        "a connection per request pays that every time. A pool opens connections once and "
        "lends them out; the app's pool holds 20 (+10 overflow) because uvicorn's one event "
        "loop has at most one connection per in-flight request, at most the 16 users of the "
        "heaviest profile, and a pool smaller than that keeps closing and reopening its "
        "overflow connections."
    ),
    guide_section="Database Performance / Database Connection Optimization",
    router=router,
    variants=("connect_per_request", "pooled"),
    baseline="connect_per_request",
    params={"users": DEFAULT_USERS},
    sweep={"users": [1, 100, 1000]},
    round_trips=True,
    proof="new connections per request (the pool's connect event): 1 -> 0 once the pool is warm",
    caveats=(
        "One query per request in both. The connection's cost is fixed, so as the request "
        "does more work (users=1000) it becomes a small share of the time and the speedup "
        "shrinks towards 1."
    ),
    lifespan=unpooled_engine,
)
