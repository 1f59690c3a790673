"""Answers besides a success that the OpenAPI declares: their bodies and their meanings.

Every status an endpoint can answer is declared with the endpoint (`responses=`), so
a client, and the schema fuzzing in the tests, knows all of them in advance.
"""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

Responses = dict[int | str, dict[str, Any]]

# redis-py's errors for a server that cannot be reached or answers too late; the others
# (a wrong type, a failed script) are bugs, and stay a 500.
REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
# PostgreSQL down, restarting or refusing: the driver's errors (wrapped by SQLAlchemy), a
# refused or reset socket, a connect that timed out. Only /health answers them: a 503.
DATABASE_UNREACHABLE = (DBAPIError, OSError, TimeoutError)


def json_response(body: bytes) -> Response:
    """JSON that is already bytes (a cached answer), sent as it is: no second encoding."""
    return Response(content=body, media_type="application/json")


class ErrorDetail(BaseModel):
    """The body of an error answer: what went wrong, for a person to read."""

    detail: str


def not_found(what: str) -> Responses:
    """A 404 for an endpoint whose contract names something that may not exist."""
    return {404: {"model": ErrorDetail, "description": f"Not Found: {what}."}}


NOT_MODIFIED: Responses = {
    304: {"description": "Not Modified: the copy the client holds (If-None-Match) is current."}
}
# Only endpoints that cannot do their job without Redis declare it: a cache answers
# from the source instead, so a cached read never says 503.
REDIS_UNAVAILABLE: Responses = {
    503: {"model": ErrorDetail, "description": "Redis could not be reached: nothing was done."}
}


DATABASE_UNAVAILABLE: Responses = {
    503: {"model": ErrorDetail, "description": "PostgreSQL could not be reached: not ready."}
}


async def redis_unavailable(request: Request, error: Exception) -> JSONResponse:
    """The app's handler for REDIS_UNREACHABLE: a 503 that says so, not a 500."""
    body = ErrorDetail(detail=f"Redis could not be reached ({error}); retry later")
    return JSONResponse(status_code=503, content=body.model_dump())
