"""csv_import's microbenchmark call: POST the point's CSV (built once, not timed)."""

from collections.abc import Awaitable, Callable

import httpx

from bench_app.payment_uploads import upload
from bench_app.target import Target


def micro_request(target: Target) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    """The timed call: a POST of the CSV of the target's `rows` to its URL."""
    url, body = target.url, upload(target.params)
    headers = {"content-type": body.content_type}
    return lambda client: client.post(url, content=body.content, headers=headers)
