"""Response compression: plain vs gzip vs Brotli, and the link speed at which it pays.

Contract: the first `posts` posts by id, each with its id, author's id, title, body and
creation time, as one JSON array. A post is about 1.1 KB of JSON, so posts=1, 10, 100
and 1000 are bodies of about 1 KB, 11 KB, 115 KB and 1.15 MB. The client says what it
can decode, as browsers do (the load sends `Accept-Encoding: gzip, deflate, br`), and
every variant's body decodes to the same bytes.

Compression spends server CPU to send fewer bytes. On loopback, where this suite
measures, bytes cost next to nothing, so every encoding loses latency here: the honest
answer is the link speed below which it wins, from the metered bytes and encoder time
(the report's bandwidth table). The cost meter gives each response's body size before
and after encoding and the time spent encoding it (`bench_app.content_encoding`).
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import select
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette_compress import CompressMiddleware

from bench_app.content_encoding import EncodedJSONResponse
from bench_app.db import SessionDep
from bench_app.effects import PlainWhenNotAccepted
from bench_app.headline import BYTES_SENT, Headline
from bench_app.models import Post
from bench_app.technique import Technique

router = APIRouter(prefix="/compression", tags=["compression"])

DEFAULT_POSTS = 10
# What the load's client says it decodes: browsers' and Locust's list, without zstd, which
# Locust's client (geventhttpclient) cannot decode.
CLIENT_ACCEPT_ENCODING = "gzip, deflate, br"
MINIMUM_SIZE = 500  # bytes; smaller bodies go out as they are (GZipMiddleware's default)

PostCount = Annotated[
    int,
    Query(ge=1, le=2000, description="How many posts in the page: about 1.1 KB of JSON each."),
]


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_id: int
    title: str
    body: str
    created_at: datetime


PAGE = TypeAdapter(list[PostOut])


async def page_of_posts(session: SessionDep, posts: int) -> bytes:
    """The contract's JSON, serialized as FastAPI does for a response model (one query)."""
    columns = (Post.id, Post.author_id, Post.title, Post.body, Post.created_at)
    rows = (await session.execute(select(*columns).order_by(Post.id).limit(posts))).all()
    return PAGE.dump_json(PAGE.validate_python(rows, from_attributes=True))


# In an app, one of these would be `app.add_middleware(...)`; here each variant's
# response goes through its own (see bench_app.content_encoding).
GZIP_STARLETTE_DEFAULTS = Middleware(GZipMiddleware, minimum_size=MINIMUM_SIZE, compresslevel=9)
GZIP_LEVEL_6 = Middleware(GZipMiddleware, minimum_size=MINIMUM_SIZE, compresslevel=6)
# Brotli alone: starlette-compress would pick zstd first for clients that accept it, and
# gzip for those that accept no Brotli; this variant serves Brotli, else the plain body.
BROTLI_QUALITY_4 = Middleware(
    CompressMiddleware, minimum_size=MINIMUM_SIZE, zstd=False, brotli_quality=4, gzip=False
)


@router.get("/plain", response_model=list[PostOut])
async def plain(session: SessionDep, posts: PostCount = DEFAULT_POSTS) -> EncodedJSONResponse:
    """The body as it is: no CPU spent encoding, every byte sent."""
    return EncodedJSONResponse(await page_of_posts(session, posts), encoder=None)


@router.get("/gzip-level9", response_model=list[PostOut])
async def gzip_level9(session: SessionDep, posts: PostCount = DEFAULT_POSTS) -> EncodedJSONResponse:
    """gzip as Starlette's GZipMiddleware defaults it: level 9, the most CPU per byte saved."""
    body = await page_of_posts(session, posts)
    return EncodedJSONResponse(body, encoder=GZIP_STARLETTE_DEFAULTS)


@router.get("/gzip-level6", response_model=list[PostOut])
async def gzip_level6(session: SessionDep, posts: PostCount = DEFAULT_POSTS) -> EncodedJSONResponse:
    """gzip at zlib's default level 6: nearly level 9's bytes, for less CPU on big bodies."""
    body = await page_of_posts(session, posts)
    return EncodedJSONResponse(body, encoder=GZIP_LEVEL_6)


@router.get("/brotli-quality4", response_model=list[PostOut])
async def brotli_quality4(
    session: SessionDep, posts: PostCount = DEFAULT_POSTS
) -> EncodedJSONResponse:
    """Brotli quality 4 (starlette-compress's default): ~gzip's bytes, far less CPU when big."""
    body = await page_of_posts(session, posts)
    return EncodedJSONResponse(body, encoder=BROTLI_QUALITY_4)


TECHNIQUE = Technique(
    key="compression",
    area="response",
    title="Response compression: plain vs gzip vs Brotli",
    summary=(
        "Compressing a response spends server CPU to send fewer bytes. Starlette's "
        "GZipMiddleware defaults to gzip level 9, the most CPU per byte saved; zlib's "
        "default level 6 sends nearly the same bytes for less, and Brotli at quality 4 "
        "(through starlette-compress) about as few for far less on large bodies. Whether "
        "any of it pays depends on the link: the bandwidth table gives the speed below "
        "which it wins."
    ),
    guide_section="Response Optimization / Response Compression and Serialization",
    router=router,
    variants=("plain", "gzip_level9", "gzip_level6", "brotli_quality4"),
    baseline="plain",
    headline=Headline(BYTES_SENT),
    params={"posts": DEFAULT_POSTS},
    sweep={"posts": [1, 10, 100, 1000]},
    effects=(PlainWhenNotAccepted(),),
    proof="wire bytes per request fall, the more the larger the body, for encoder time",
    caveats=(
        "On loopback a byte costs next to nothing, so every encoding loses latency here; read "
        "the bandwidth table instead: the break-even link speed (bytes saved x 8 / encoder time) "
        "and the net time saved on 10 Mbit/s, 100 Mbit/s and 1 Gbit/s links, from the metered "
        "bytes and the encoder time measured one request at a time. That model counts only the "
        "time to put the bytes on the link: round trips and TCP slow start (which favour smaller "
        "bodies further), packets (a body under one packet, ~1.4 KB, gains nothing on a real "
        "link) and the client's decoding (far cheaper than encoding, not metered) are left out. "
        "The posts are synthetic text from a 44-word vocabulary, which compresses better than "
        "most real JSON. Starlette's gzip compresses bodies of 128 KiB and more in a worker "
        "thread; starlette-compress's Brotli compresses on the event loop, blocking other "
        "requests meanwhile. The load sends Locust's Accept-Encoding (gzip, deflate, br); "
        "zstd is left out because Locust's HTTP client cannot decode it. Closed loop only: the "
        "open-loop generator sends no Accept-Encoding, so every variant would answer plain."
    ),
    scenario="scenarios.compression",
)
