"""An app served over real loopback HTTP inside the test's event loop.

httpx's ASGI transport hands a test the whole body at once; streaming, a client that
stops reading and a client that hangs up need a real server. This one runs in the
test's own event loop, so the test can also look at the app's state (its pool).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from pairbench.env.server import LOOPBACK, free_port

START_TIMEOUT_S = 10.0


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (its lifespan already entered) on loopback; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host=LOOPBACK, port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, START_TIMEOUT_S)
