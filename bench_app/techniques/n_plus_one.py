"""N+1 queries vs eager loading.

Contract: the first `authors` users by id, each with their posts (id, title) in id
order. Listing parents with their children is where the N+1 mistake lives: one
query for the parents, then one more per parent when the children are touched.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from bench_app.db import SessionDep
from bench_app.models import User
from bench_app.technique import Technique

router = APIRouter(prefix="/n-plus-one", tags=["n_plus_one"])

DEFAULT_AUTHORS = 50

AuthorCount = Annotated[
    int, Query(ge=1, le=1000, description="How many authors to list, with all their posts.")
]


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    posts: list[PostOut]


@router.get("/naive", response_model=list[AuthorOut])
async def naive(session: SessionDep, authors: AuthorCount = DEFAULT_AUTHORS) -> list[AuthorOut]:
    """Lazy-load each author's posts as it is used: 1 + N queries."""
    users = (await session.scalars(select(User).order_by(User.id).limit(authors))).all()
    result = []
    for user in users:
        posts = await user.awaitable_attrs.posts  # the async form of touching user.posts
        result.append(
            AuthorOut(
                id=user.id,
                first_name=user.first_name,
                last_name=user.last_name,
                posts=[PostOut.model_validate(post) for post in posts],
            )
        )
    return result


@router.get("/selectin", response_model=list[AuthorOut])
async def selectin(session: SessionDep, authors: AuthorCount = DEFAULT_AUTHORS) -> list[AuthorOut]:
    """Eager-load all posts in a second query keyed by the authors' ids: 2 queries."""
    query = select(User).options(selectinload(User.posts)).order_by(User.id).limit(authors)
    users = (await session.scalars(query)).all()
    return [AuthorOut.model_validate(user) for user in users]


@router.get("/joined", response_model=list[AuthorOut])
async def joined(session: SessionDep, authors: AuthorCount = DEFAULT_AUTHORS) -> list[AuthorOut]:
    """Eager-load authors and posts in one LEFT JOIN: 1 query, wider rows."""
    query = select(User).options(joinedload(User.posts)).order_by(User.id).limit(authors)
    users = (await session.scalars(query)).unique().all()
    return [AuthorOut.model_validate(user) for user in users]


TECHNIQUE = Technique(
    key="n_plus_one",
    area="database",
    title="N+1 queries vs eager loading",
    summary=(
        "Loading a list and then each item's children one by one sends 1+N queries, "
        "one round trip per row. Eager loading fetches the children for all rows at "
        "once, in a second query (selectinload) or in the same one (joinedload)."
    ),
    guide_section="Database Performance / Query Optimization Patterns",
    router=router,
    variants=("naive", "selectin", "joined"),
    baseline="naive",
    params={"authors": DEFAULT_AUTHORS},
    sweep={"authors": [10, 100, 1000]},
    round_trips=True,
    proof="queries per request: 1+N -> 2 -> 1",
)
