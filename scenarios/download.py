"""A download timed like a browser sees it: first byte and last byte, in one sample.

Locust times a request until its body is read; with stream=True it stops at the
headers. A streamed response's point is the gap between the two, so this reads the
body itself and records both: latency to the last byte (the sample's latency, as for
every other request) and to the first body byte (its `ttfb_ms`). A streamed body's costs
are known only once it has ended: the download then reads them from the app
(bench_app.streamed_costs) for its sample.
"""

import time

from locust import FastHttpUser

from bench_app.streamed_costs import WHOLE_COST_HEADER
from scenarios.samples import TTFB_CONTEXT_KEY, WHOLE_COST_CONTEXT_KEY

CHUNK_BYTES = 64 * 1024


def timed_download(user: FastHttpUser, path: str, name: str) -> None:
    """GET `path`, reading the body chunk by chunk, and report first- and last-byte times."""
    started = time.perf_counter()
    with user.client.get(path, name=name, stream=True, catch_response=True) as response:
        size, first_byte_ms = 0, None
        try:  # an error's body too: a connection left with unread bytes cannot be reused
            for chunk in response.iter_content(chunk_size=CHUNK_BYTES, decode_content=False):
                if first_byte_ms is None:
                    first_byte_ms = (time.perf_counter() - started) * 1000
                size += len(chunk)
        except Exception as error:  # the connection broke mid-body: a failed request
            response.failure(f"body cut short after {size} bytes: {error!r}")
        response.request_meta["response_time"] = (time.perf_counter() - started) * 1000
        response.request_meta["response_length"] = size
        if first_byte_ms is not None:
            response.request_meta["context"][TTFB_CONTEXT_KEY] = first_byte_ms
        whole_cost_path = (response.headers or {}).get(WHOLE_COST_HEADER)
        if whole_cost_path is not None:
            response.request_meta["context"][WHOLE_COST_CONTEXT_KEY] = whole_cost(
                user, whole_cost_path
            )


def whole_cost(user: FastHttpUser, path: str) -> str | None:
    """A streamed response's whole costs, read after its body; None if the app has none for it.
    Sent on the user's own connection but not as a Locust request: it is no sample."""
    try:
        answer = user.client.client.urlopen(f"{user.host}{path}", method="GET")
        cost: str = answer.json()["cost"]
    except Exception:  # any failure leaves the costs unknown, never wrong
        return None
    return cost
