"""One response content-encoded by a real ASGI compression middleware, its cost metered.

An app usually compresses everything it serves with one middleware
(`app.add_middleware(GZipMiddleware)`). The compression technique instead hands each
variant's response to its own middleware, unchanged: the response is the ASGI app the
middleware wraps. So only those routes compress, and every other technique's figures
stay those of unencoded bodies.

The meter gets what the encoding cost: the body's size before and after it, and the
CPU time the app process spent from handing the response to the middleware until the
response starts out (the middleware holds the start back until it has encoded the body,
to set Content-Length). CPU time, not wall time: a busy machine that takes the CPU away
from the app does not inflate it. An encoder that runs inline (Brotli; gzip below 128
KiB) never yields to the event loop inside that window, so the figure is its own (unless
another thread of the app is busy meanwhile);
Starlette's gzip compresses larger bodies in a worker thread, counted too, while the
loop may serve other requests, whose CPU then counts as well (one request at a time,
as the probe sends them, there is none).
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
        handed_over = time.process_time()

        async def send_metered(message: Message) -> None:
            if message["type"] == "http.response.start" and cost is not None:
                cost.encode_seconds = time.process_time() - handed_over
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
