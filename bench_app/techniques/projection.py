"""Projection: whole ORM entities vs only the columns the response needs.

Contract: the `limit` newest posts (highest id first), each with its id, title,
creation time and its author's id and name. The response shows those six
columns, but `select(Post)` joined with its author loads fourteen, the ~1 KB
body and the ~440-byte bio among them, and the ORM builds and tracks an object
per row that the response model then reads attribute by attribute.

The proof is the bytes of the result rows the database sends per request
(`db_bytes`, see `bench_app.metering.result_bytes`): every column of a post and
its author for whole entities, the six columns alone for the select. Over a local
connection the bytes
are cheap and most of what the column select saves is the entity work; across a
network every byte also has to travel, which this suite does not model. That is
also why `load_only()`, which narrows the rows as much but still builds
entities, is not a variant: what it saves of the naive time is small, within the
noise of a loaded machine. At a handful of posts
(limit=10) a request's fixed costs dominate, so the gain is small and may not
be significant; it grows with the number of rows.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bench_app.db import SessionDep
from bench_app.metering import count_db_bytes
from bench_app.models import Post, User
from bench_app.technique import Technique

router = APIRouter(
    prefix="/projection", tags=["projection"], dependencies=[Depends(count_db_bytes)]
)

DEFAULT_LIMIT = 1000

PostCount = Annotated[int, Query(ge=1, le=5000, description="How many of the newest posts.")]


class AuthorName(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str


class PostSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    created_at: datetime
    author: AuthorName


@router.get("/naive", response_model=list[PostSummary])
async def naive(session: SessionDep, limit: PostCount = DEFAULT_LIMIT) -> list[PostSummary]:
    """Load whole Post and User entities; the response model drops what is not shown."""
    query = select(Post).options(joinedload(Post.author)).order_by(Post.id.desc()).limit(limit)
    posts = (await session.scalars(query)).all()
    return [PostSummary.model_validate(post) for post in posts]


@router.get("/columns", response_model=list[PostSummary])
async def columns(session: SessionDep, limit: PostCount = DEFAULT_LIMIT) -> list[PostSummary]:
    """Select just the shown columns as plain rows: no entities, no identity map."""
    query = (
        select(Post.id, Post.title, Post.created_at, User.id, User.first_name, User.last_name)
        .join(Post.author)
        .order_by(Post.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [
        PostSummary(
            id=post_id,
            title=title,
            created_at=created_at,
            author=AuthorName(id=author_id, first_name=first_name, last_name=last_name),
        )
        for post_id, title, created_at, author_id, first_name, last_name in rows
    ]


TECHNIQUE = Technique(
    key="projection",
    area="database",
    title="Projection: whole entities vs only the needed columns",
    summary=(
        "Loading whole ORM entities reads every column, here a ~1 KB post body and the "
        "author's bio that the response never shows, and builds a tracked object per row. "
        "Selecting only the shown columns as plain rows cuts the bytes the database sends "
        "to a fraction and skips the entity work, which over a local connection is most of "
        "the gain."
    ),
    guide_section="Database Performance / Query Optimization Patterns",
    router=router,
    variants=("naive", "columns"),
    baseline="naive",
    params={"limit": DEFAULT_LIMIT},
    sweep={"limit": [10, 100, 1000]},
    proof="db bytes per request: every column of each post and its author -> six columns",
    caveats=("At limit=10 a request's fixed costs dominate and the gain may not be significant."),
)
