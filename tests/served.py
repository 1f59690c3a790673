"""The app served over real loopback HTTP: inside the test's event loop, or in a process.

httpx's ASGI transport hands a test the whole body at once; streaming, a client that
stops reading and a client that hangs up need a real server. `served` runs one in the
test's own event loop, so the test can also look at the app's state (its pool);
`app_process` starts one in a process of its own, as a run serves the app.
"""

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from bench_app.settings import Settings
from pairbench.env.server import LOOPBACK, AppServer, app_environment, serving_app
from pairbench.env.services import ServiceUrls

START_TIMEOUT_S = 10.0
SocketOption = tuple[int, int, int]  # (level, option, value), as socket.setsockopt takes them


@asynccontextmanager
async def served(app: FastAPI, socket_options: Sequence[SocketOption] = ()) -> AsyncIterator[str]:
    """Serve `app` (its lifespan already entered) on loopback; yields its base URL.
    `socket_options` are set on the listening socket, whose connections inherit them (e.g.
    a small send buffer, so a response the client stops reading stalls soon)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for option in socket_options:
        listener.setsockopt(*option)
    listener.bind((LOOPBACK, 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, START_TIMEOUT_S)
        finally:
            listener.close()


@contextmanager
def app_process(seeded: Settings, urls: ServiceUrls, log_dir: Path) -> Iterator[AppServer]:
    """The app in a process of its own (its log in `log_dir`), as a run starts it."""
    environment = app_environment(urls.database_url, urls.redis_url, seeded.scale)
    with serving_app(environment, log_dir / "server.log", log=lambda message: None) as app:
        yield app
