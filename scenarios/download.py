"""A download timed like a browser sees it: first byte and last byte, in one sample.

Locust times a request until its body is read; with stream=True it stops at the
headers. A streamed response's point is the gap between the two, so this reads the
body itself and records both: latency to the last byte (the sample's latency, as for
every other request) and to the first body byte (its `ttfb_ms`).
"""

import time

from locust import FastHttpUser

from scenarios.samples import TTFB_CONTEXT_KEY

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
