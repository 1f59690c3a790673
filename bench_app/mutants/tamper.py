"""The slip most changes make to an answer: one item dropped, or one field off by one.

`tampered(endpoint)` is the endpoint with that slip, whatever it returns: a model, a
list, a JSON response or a streamed body (its last chunk lost).
"""

import functools
import inspect
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.responses import Response

Endpoint = Callable[..., Any]


def slipped(value: Any) -> Any:
    """`value` with one slip: a list loses its last item; an object's first list field
    loses an item, else its first number is off by one, else its first text changes."""
    if isinstance(value, list) and value:
        return value[:-1]
    if isinstance(value, BaseModel):
        return type(value).model_validate(slipped(value.model_dump()))
    if isinstance(value, dict):
        for kind in (list, int, float, str):
            for key, field in value.items():
                if isinstance(field, kind) and not isinstance(field, bool) and field != []:
                    return {**value, key: slipped(field)}
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + 1
    if isinstance(value, str):
        return value + " (stale)"
    return value


async def _all_but_last(chunks: AsyncIterable[Any]) -> AsyncIterator[Any]:
    held = None
    async for chunk in chunks:
        if held is not None:
            yield held
        held = chunk


def slipped_response(response: Response) -> Response:
    """A response whose JSON has one slip, or whose stream ends a chunk early."""
    if isinstance(response, StreamingResponse):
        response.body_iterator = _all_but_last(response.body_iterator)
        return response
    body = slipped(json.loads(bytes(response.body)))
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(json.dumps(body).encode(), response.status_code, headers)


def tampered(endpoint: Endpoint) -> Endpoint:
    """`endpoint` with one slip in its answer; FastAPI reads the same parameters from it."""

    @functools.wraps(endpoint)
    async def mutant(*args: Any, **kwargs: Any) -> Any:
        found = endpoint(*args, **kwargs)
        answer = await found if inspect.isawaitable(found) else found
        if isinstance(answer, Response):
            return slipped_response(answer)
        return slipped(answer)

    return mutant
