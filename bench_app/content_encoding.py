"""One response content-encoded by a real ASGI compression middleware, its cost metered.

An app usually compresses everything it serves with one middleware
(`app.add_middleware(GZipMiddleware)`). The compression technique instead hands each
variant's response to its own middleware, unchanged: the response is the ASGI app the
middleware wraps. So only those routes compress, and every other technique's figures
stay those of unencoded bodies.

The meter gets what the encoding cost: the body's size before and after it, and the
time from handing the response to the middleware until the response starts out (the
middleware holds the start back until it has encoded the body, to set Content-Length).
One request at a time that is the encoder's CPU time; under load it also counts waiting
for the CPU, and Starlette's gzip compresses bodies of 128 KiB and more in a worker thread.
"""

import time

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from bench_app.metering import current_cost


class EncodedJSONResponse(Response):
    """JSON bytes sent through `encoder` (None: as they are), their encoding metered."""

    media_type = "application/json"

    def __init__(self, body: bytes, encoder: Middleware | None) -> None:
        super().__init__(body)
        self.encoder = encoder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cost = current_cost()
        handed_over = time.perf_counter()

        async def send_metered(message: Message) -> None:
            if message["type"] == "http.response.start" and cost is not None:
                cost.encode_seconds = time.perf_counter() - handed_over
                cost.body_bytes = len(self.body)
                length = Headers(raw=message["headers"]).get("content-length")
                cost.wire_bytes = None if length is None else int(length)
            await send(message)

        send_response = super().__call__
        if self.encoder is None:
            await send_response(scope, receive, send_metered)
            return
        middleware, args, kwargs = self.encoder
        await middleware(send_response, *args, **kwargs)(scope, receive, send_metered)
