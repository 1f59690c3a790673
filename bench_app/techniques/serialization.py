"""Serialization: untyped dicts vs a declared response model vs hand-rolled orjson.

Contract: the first `rows` users by id, each as its public profile (id, email, first
and last name, role, whether active, bio), as one JSON array: the same bytes from every
variant. The users table also holds `password_hash`, which no response may ever carry:
the ORM entity every variant loads has it, so what decides the body's fields is the
serialization step, which is what this technique varies.

Where the time goes: with no response model FastAPI walks the returned objects in
Python (`jsonable_encoder`) and then `json.dumps`; with one, and FastAPI's default
response class, Pydantic validates the objects and writes JSON bytes in Rust (FastAPI
>= 0.130; setting `response_class=JSONResponse` turns that off and goes back through
Python dicts and `json.dumps`). The creation time is left out of the contract on purpose:
Pydantic writes a UTC time as "...Z" and `jsonable_encoder` as "...+00:00", the same
instant in different bytes, a change a client would notice when a model is introduced.
"""

from collections.abc import Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from bench_app.db import SessionDep
from bench_app.models import User
from bench_app.technique import Technique

router = APIRouter(prefix="/serialization", tags=["serialization"])

DEFAULT_ROWS = 100

RowCount = Annotated[int, Query(ge=1, le=1000, description="How many users to serialize.")]


class PublicProfile(BaseModel):
    """The public fields of a user: what a response may show."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    first_name: str
    last_name: str
    role: str
    is_active: bool
    bio: str


async def first_users(session: SessionDep, rows: int) -> Sequence[User]:
    """The first `rows` users as ORM entities, password hash included (one query)."""
    return (await session.scalars(select(User).order_by(User.id).limit(rows))).all()


def profile_fields(user: User) -> dict[str, Any]:
    """The public fields, kept by hand: a field added to the table stays out until added here."""
    return {
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "is_active": user.is_active,
        "bio": user.bio,
    }


@router.get("/naive", response_model=None)
async def naive(session: SessionDep, rows: RowCount = DEFAULT_ROWS) -> list[dict[str, Any]]:
    """No response model: dicts walked by jsonable_encoder in Python, then json.dumps."""
    return [profile_fields(user) for user in await first_users(session, rows)]


@router.get("/response-model", response_model=list[PublicProfile])
async def response_model(session: SessionDep, rows: RowCount = DEFAULT_ROWS) -> Sequence[User]:
    """A declared response model: Pydantic validates the entities and writes JSON in Rust."""
    return await first_users(session, rows)


@router.get("/orjson-unvalidated", response_model=list[PublicProfile])
async def orjson_unvalidated(session: SessionDep, rows: RowCount = DEFAULT_ROWS) -> Response:
    """orjson on hand-built dicts, returned as a Response: no validation, no model applied."""
    users = await first_users(session, rows)
    body = orjson.dumps([profile_fields(user) for user in users])
    return Response(body, media_type="application/json")


TECHNIQUE = Technique(
    key="serialization",
    area="response",
    title="Serialization: jsonable_encoder vs response model vs orjson",
    summary=(
        "Returning plain dicts without a response model makes FastAPI walk every value "
        "in Python (jsonable_encoder) before json.dumps. A declared response model lets "
        "Pydantic validate and write the JSON in Rust, and guarantees that only the model's "
        "fields leave the server. Hand-rolled orjson is faster still, by skipping the "
        "validation and the model's guarantee."
    ),
    guide_section="Response Optimization / Efficient Data Serialization",
    router=router,
    variants=("naive", "response_model", "orjson_unvalidated"),
    baseline="naive",
    params={"rows": DEFAULT_ROWS},
    sweep={"rows": [10, 100, 1000]},
    proof="same rows, same query, same JSON bytes: only the serialization path differs",
    caveats=(
        "orjson_unvalidated skips validation: nothing checks that its body matches the "
        "declared model (its OpenAPI schema is a promise the code does not enforce), and its "
        "fields are a hand-kept list, so a column added to the table is one careless edit away "
        "from being sent. The response model's speed comes from FastAPI's default response "
        "class: `response_class=JSONResponse` (or the deprecated ORJSONResponse) sends the "
        "data back through Python dicts. All variants load whole ORM entities in one query, so "
        "the database and ORM share of the time is the same for all and dilutes the ratios, "
        "most at few rows; the sweep shows the gap growing with the rows."
    ),
)
