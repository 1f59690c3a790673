"""Aggregation: count in Python vs GROUP BY ... HAVING in SQL.

Contract: the authors with more than `more_than` posts, each with their name and
post count, the most prolific first (ties by author id). Counting in Python needs
every post's row on the app side, ~10 per author, to return a few hundred counts;
the database can count where the rows are and send only the answer.

The naive variant is the careful version of the mistake: it selects just the
author ids (projection is a technique of its own) and asks for names only for the
authors that qualify, so what differs is the rows that cross the wire: every post
vs one per qualifying author. The optimized query counts the narrow posts table
before joining the names, so PostgreSQL answers the count from the author_id
index alone and joins only the groups left after HAVING; grouping the join of
users and posts instead joins every post first, which takes the database longer.
Even at more_than=0, when every author qualifies, one row per author beats ten.
"""

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from bench_app.db import SessionDep
from bench_app.models import Post, User
from bench_app.technique import Technique

router = APIRouter(prefix="/aggregation", tags=["aggregation"])

DEFAULT_MORE_THAN = 12

MoreThan = Annotated[
    int, Query(ge=0, le=1_000_000, description="List authors with more than this many posts.")
]


class AuthorPostCount(BaseModel):
    author_id: int
    first_name: str
    last_name: str
    post_count: int


@router.get("/naive", response_model=list[AuthorPostCount])
async def naive(
    session: SessionDep, more_than: MoreThan = DEFAULT_MORE_THAN
) -> list[AuthorPostCount]:
    """Fetch every post's author id, count them with a Counter, then fetch the names."""
    post_authors = (await session.scalars(select(Post.author_id))).all()
    counts = {author: n for author, n in Counter(post_authors).items() if n > more_than}
    names = select(User.id, User.first_name, User.last_name).where(User.id.in_(counts))
    authors = (await session.execute(names)).all()
    authors = sorted(authors, key=lambda author: (-counts[author.id], author.id))
    return [
        AuthorPostCount(
            author_id=author_id, first_name=first, last_name=last, post_count=counts[author_id]
        )
        for author_id, first, last in authors
    ]


@router.get("/group-by", response_model=list[AuthorPostCount])
async def group_by(
    session: SessionDep, more_than: MoreThan = DEFAULT_MORE_THAN
) -> list[AuthorPostCount]:
    """GROUP BY author_id HAVING count(*) > k in SQL, then join the names: one row per author."""
    post_counts = (
        select(Post.author_id, func.count().label("post_count"))
        .group_by(Post.author_id)
        .having(func.count() > more_than)
        .subquery()
    )
    query = (
        select(User.id, User.first_name, User.last_name, post_counts.c.post_count)
        .join(post_counts, post_counts.c.author_id == User.id)
        .order_by(post_counts.c.post_count.desc(), User.id)
    )
    return [
        AuthorPostCount(author_id=author_id, first_name=first, last_name=last, post_count=count)
        for author_id, first, last, count in (await session.execute(query)).all()
    ]


TECHNIQUE = Technique(
    key="aggregation",
    area="database",
    title="Aggregation: count in Python vs GROUP BY ... HAVING",
    summary=(
        "Counting in Python ships every post's row to the app to return one count per "
        "author. GROUP BY ... HAVING counts where the rows are, from the author_id index "
        "alone, and sends only the authors that qualify: one row per qualifying author "
        "instead of one per post, one query, not two."
    ),
    guide_section="Database Performance / Query Optimization Patterns",
    router=router,
    variants=("naive", "group_by"),
    baseline="naive",
    params={"more_than": DEFAULT_MORE_THAN},
    sweep={"more_than": [0, 10, 14]},
    proof=(
        "rows per request: every post + the qualifying authors -> the qualifying authors; "
        "queries 2 -> 1"
    ),
)
