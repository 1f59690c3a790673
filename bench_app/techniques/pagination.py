"""Pagination: load all and slice vs LIMIT/OFFSET vs keyset (cursor).

Contract: page `page` of `size` posts in (created_at, id) order, each with its id,
title, creation time and author id, plus `next_cursor`, a token for the page
after it (null on the last page; the schema declares its shape). `page` and `after`
name the same page: naive and offset variants read `page`; keyset reads `after`, the
`next_cursor` a client paging through holds from the page before (the harness derives
it from `page` through `/pagination/cursor`). A missing or empty `after` is page 1.

There is no total in the contract. Keyset cannot know it without counting every
row, and APIs that paginate by cursor do not return one (Stripe, Slack, DRF's
CursorPagination; GitLab drops its X-Total header past 10,000 rows). Offset
paginators as libraries ship them (fastapi-pagination's Page, DRF's
PageNumberPagination) run a COUNT(*) on every page anyway, for "page P of N":
that is the `offset_count` variant, and the gap between it and `offset` is what
the count costs.

The database's work, which the run keeps as EXPLAIN ANALYZE plans (/pagination/plans):
naive sorts and sends every row; OFFSET reads and throws away the (page - 1) x size
rows before the page, so it slows down with depth (deep enough, PostgreSQL stops
using the index and sorts the whole table instead); COUNT(*) visits every post on
every page (in an index, once VACUUM has marked the table all-visible); keyset seeks
the page's first row in the (created_at, id) index below and reads `size` + 1 rows,
at any depth. On page 1 OFFSET skips nothing, so offset and keyset cost the same
there: keyset's win is flat time on deep pages, not on the first. The sweep's deep
pages are meant for the standard profile's ~100k posts; at scale 1 (~500 pages)
pages 1000 and 4000 are past the end: empty, which keyset finds out at once and
the others by reading it all.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Index, Row, event, func, select, tuple_

from bench_app.db import SessionDep
from bench_app.models import Post
from bench_app.query_plans import explain
from bench_app.technique import Technique

router = APIRouter(prefix="/pagination", tags=["pagination"])

DEFAULT_PAGE = 250
DEFAULT_SIZE = 20

# Keyset pagination is only as fast as an index on its sort key: the seek is a B-tree lookup.
Index("posts_created_at_id_idx", Post.created_at, Post.id)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class Cursor(NamedTuple):
    """Where a page ends: the (created_at, id) of its last post."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        """The token a client passes back as `after`: microseconds since 1970, then the id."""
        return f"{(self.created_at - EPOCH) // MICROSECOND}_{self.id}"


# The schema declares a cursor's whole shape, so that every value it allows is a place
# in the listing and the app refuses nothing it declares (a client still passes back
# what it got, as with any cursor). 16 digits of microseconds reach years 1653 to 2286;
# 18 digits of id stay below BIGINT's largest (bench_app.models.MAX_ID).
CURSOR_PATTERN = r"^(-?[0-9]{1,16}_[1-9][0-9]{0,17})?$"
CURSOR_MAX_LENGTH = 36
CursorToken = Annotated[
    str,
    Query(
        pattern=CURSOR_PATTERN,
        max_length=CURSOR_MAX_LENGTH,
        description="The previous page's next_cursor, passed back as it came; none for page 1.",
    ),
]


async def after_cursor(after: CursorToken = "") -> Cursor | None:
    """The `after` query parameter decoded (None: from the start); its pattern made it one."""
    if not after:
        return None
    microseconds, _, post_id = after.partition("_")
    return Cursor(EPOCH + int(microseconds) * MICROSECOND, int(post_id))


PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number.")]
PageSize = Annotated[int, Query(ge=1, le=100, description="Posts per page.")]
AfterCursor = Annotated[Cursor | None, Depends(after_cursor)]


class PostListItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    created_at: datetime
    author_id: int


class PostPage(BaseModel):
    items: list[PostListItem]
    next_cursor: str | None


LISTING = select(Post.id, Post.title, Post.created_at, Post.author_id)
ListingRow = Row[int, str, datetime, int]
ORDER = (Post.created_at, Post.id)


def page_of(rows: Sequence[ListingRow], has_more: bool) -> PostPage:
    """The response for `rows`, with the cursor of its last row if more follow."""
    last = rows[-1] if rows and has_more else None
    return PostPage(
        items=[PostListItem.model_validate(row) for row in rows],
        next_cursor=Cursor(last.created_at, last.id).encode() if last else None,
    )


@router.get("/naive", response_model=PostPage)
async def naive(
    session: SessionDep, page: PageNumber = DEFAULT_PAGE, size: PageSize = DEFAULT_SIZE
) -> PostPage:
    """Load every post in order and slice the page out in Python."""
    rows = (await session.execute(LISTING.order_by(*ORDER))).all()
    start = (page - 1) * size
    return page_of(rows[start : start + size], has_more=len(rows) > start + size)


@router.get("/offset-count", response_model=PostPage)
async def offset_count(
    session: SessionDep, page: PageNumber = DEFAULT_PAGE, size: PageSize = DEFAULT_SIZE
) -> PostPage:
    """COUNT(*) for the total, then LIMIT/OFFSET: what offset paginators do."""
    total = (await session.execute(select(func.count()).select_from(Post))).scalar_one()
    query = LISTING.order_by(*ORDER).offset((page - 1) * size).limit(size)
    rows = (await session.execute(query)).all()
    return page_of(rows, has_more=total > page * size)


@router.get("/offset", response_model=PostPage)
async def offset(
    session: SessionDep, page: PageNumber = DEFAULT_PAGE, size: PageSize = DEFAULT_SIZE
) -> PostPage:
    """LIMIT size + 1 OFFSET (page - 1) x size: the extra row says if a next page exists."""
    query = LISTING.order_by(*ORDER).offset((page - 1) * size).limit(size + 1)
    rows = (await session.execute(query)).all()
    return page_of(rows[:size], has_more=len(rows) > size)


@router.get("/keyset", response_model=PostPage)
async def keyset(
    session: SessionDep, cursor: AfterCursor, size: PageSize = DEFAULT_SIZE
) -> PostPage:
    """WHERE (created_at, id) > cursor LIMIT size + 1: an index seek at any depth."""
    query = LISTING.order_by(*ORDER).limit(size + 1)
    if cursor is not None:
        query = query.where(tuple_(*ORDER) > tuple_(*cursor))
    rows = (await session.execute(query)).all()
    return page_of(rows[:size], has_more=len(rows) > size)


@router.get("/cursor")
async def cursor_for_page(
    session: SessionDep, page: PageNumber = DEFAULT_PAGE, size: PageSize = DEFAULT_SIZE
) -> dict[str, str]:
    """The `after` a client paging to `page` holds: the next_cursor of page - 1.

    The harness's params_path: not a variant, so not measured.
    """
    if page == 1:
        return {"after": ""}
    previous_page_end = select(*ORDER).order_by(*ORDER).offset((page - 1) * size - 1).limit(1)
    row = (await session.execute(previous_page_end)).first()
    if row is None:  # past the end: every variant answers an empty page, keyset after the last post
        last_post = select(*ORDER).order_by(*(column.desc() for column in ORDER)).limit(1)
        row = (await session.execute(last_post)).first()
    return {"after": Cursor(*row).encode() if row else ""}


PLAN_OPTIONS = "ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF"  # row counts, no noise


@router.get("/plans")
async def plans(session: SessionDep) -> dict[str, str]:
    """EXPLAIN ANALYZE of what each variant sends, at each page the run measures.

    The harness's artifacts_path. The plans count the rows each statement reads, which
    the timings only imply: OFFSET's index scan reads every row before the page. The
    naive plan, the same on every page, is shown once.
    """
    connection = await session.connection()
    sent: list[tuple[str, Any]] = []

    def record(_: Any, __: Any, statement: str, parameters: Any, *___: Any) -> None:
        sent.append((statement, parameters))

    size, default_page = TECHNIQUE.params["size"], TECHNIQUE.params["page"]
    found = {}
    for page in sorted({default_page, *TECHNIQUE.sweep["page"]}):
        cursor = await after_cursor((await cursor_for_page(session, page, size))["after"])
        requests = {
            "naive": partial(naive, session, page, size),
            "offset_count": partial(offset_count, session, page, size),
            "offset": partial(offset, session, page, size),
            "keyset": partial(keyset, session, cursor, size),
        }
        if page != default_page:
            del requests[TECHNIQUE.baseline]
        for variant, request in requests.items():
            sent.clear()
            event.listen(connection.sync_connection, "before_cursor_execute", record)
            try:
                await request()
            finally:
                event.remove(connection.sync_connection, "before_cursor_execute", record)
            explained = [
                await explain(connection, sql, params, PLAN_OPTIONS) for sql, params in sent
            ]
            found[f"{variant}, page={page}"] = "\n\n".join(explained)
    return found


TECHNIQUE = Technique(
    key="pagination",
    area="database",
    title="Pagination: load all and slice vs LIMIT/OFFSET vs keyset",
    summary=(
        "Slicing in Python reads the whole table to serve one page, and OFFSET reads and "
        "discards every row before the page, so deep pages get slower (and the COUNT(*) "
        "offset paginators add visits every row on every page). Keyset pagination seeks "
        "the page's first row in an index on the sort key and reads only the page: the same "
        "cost on page 1 and on page 4000."
    ),
    guide_section="Database Performance / Query Optimization Patterns",
    router=router,
    variants=("naive", "offset_count", "offset", "keyset"),
    baseline="naive",
    scenario="scenarios.pagination",
    params={"page": DEFAULT_PAGE, "size": DEFAULT_SIZE},
    sweep={"page": [1, 100, 1000, 4000]},  # for the standard profile's ~5,000 pages
    proof="rows per request: every post -> size + 1 (+ a COUNT) -> size + 1 -> size + 1",
    caveats=(
        "Rows read (EXPLAIN plans): offset reads every row before the page, keyset size + 1, "
        "so offset slows with depth while keyset stays flat; on page 1 they tie."
    ),
    params_path="/pagination/cursor",
    artifacts_path="/pagination/plans",
)
