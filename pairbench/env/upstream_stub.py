"""The upstream stub: a real HTTP service, in its own process, for the outbound techniques.

It stands for a remote API: every answer comes after a set latency, the way a network
round trip and someone else's server would take it. It counts the TCP connections it
accepts and the requests it serves, and tells the harness on a second, control port
(so that asking does not count). Run as
`python -m pairbench.env.upstream_stub --port P --control-port C [--latency-ms 10 ...]`.

Routes on the service port (all GET, all JSON):
  /items/{key}            the item, after the latency (`latency_ms`, `bytes` override per call)
  /flaky/items/{key}      the same, but a set share of keys stall for `stall_ms` first
  /fail-once/items/{key}  503 the first time a key is asked for, then the item
  /overloaded/items/{key} the item, unless `capacity` calls to this route are already in
                          flight: then an immediate 503, as a saturated server sheds load
                          (so the more it is asked at once, the more it refuses)
  /batch/items?keys=1,2   the records of up to MAX_BATCH_KEYS keys, in order, after one
                          latency: one call for many items
Control port: GET /stats -> {"connections": n, "requests": n, "refused": n}.
"""

import argparse
import asyncio
import hashlib
import json
import math
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bench_app.parent_watch import exit_with_parent

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

LOOPBACK = "127.0.0.1"
DEFAULT_LATENCY_MS = 10.0
DEFAULT_PAYLOAD_BYTES = 256
DEFAULT_STALL_SHARE = 0.05
DEFAULT_STALL_MS = 1000.0
DEFAULT_CAPACITY = 4  # calls in flight on /overloaded before it refuses
MAX_BATCH_KEYS = 1000
MAX_LATENCY_MS = 60_000.0
MAX_PAYLOAD_BYTES = 10_000_000
# Longer than any client's idle expiry, as real upstreams keep connections (nginx: 75 s):
# the client, not the server, decides when a pooled connection retires.
KEEPALIVE_S = 75


@dataclass
class StubConfig:
    """How the stub answers; set per run on its command line."""

    latency_ms: float = DEFAULT_LATENCY_MS
    payload_bytes: int = DEFAULT_PAYLOAD_BYTES
    stall_share: float = DEFAULT_STALL_SHARE  # of keys, on /flaky
    stall_ms: float = DEFAULT_STALL_MS
    capacity: int = DEFAULT_CAPACITY  # of /overloaded


@dataclass
class Counters:
    """What the service port has seen since the stub started."""

    connections: int = 0
    requests: int = 0
    failed_once: set[str] = field(default_factory=set)  # /fail-once keys already failed
    refused: int = 0  # /overloaded calls refused for want of capacity
    overloaded_in_flight: int = 0


COUNTERS = Counters()
SERVICE_PORT: list[int] = []  # set at start; the protocol counts connections to it only


class CountingProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, counting the connections accepted on the service port."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if transport.get_extra_info("sockname")[1] in SERVICE_PORT:
            COUNTERS.connections += 1
        super().connection_made(transport)


def item_value(key: str) -> int:
    """A number that depends only on the key: what the upstream 'knows' about it."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100_000


def stalls(key: str, share: float) -> bool:
    """Whether /flaky stalls for this key: a fixed share of keys, the same every run.

    Numbered keys are dealt evenly (at 5%: 20, 40, 60, ...), so any run of consecutive
    numbers holds its share of stalls: a workload walking through the items meets as many
    in every segment (drawn by hash, a short segment met none, one or three). Other keys
    stall by their hash.
    """
    if key.isdecimal():
        number = int(key)
        return math.floor(number * share) > math.floor((number - 1) * share)
    digest = int(hashlib.sha256(f"stall:{key}".encode()).hexdigest()[:8], 16)
    return digest / 0x1_0000_0000 < share


def item_record(key: str, payload_bytes: int) -> dict[str, Any]:
    payload = (key + ".") * (payload_bytes // (len(key) + 1) + 1)
    return {"key": key, "value": item_value(key), "payload": payload[:payload_bytes]}


def item_body(key: str, payload_bytes: int) -> bytes:
    return json.dumps(item_record(key, payload_bytes)).encode()


def batch_keys(query: dict[str, list[str]]) -> list[str] | None:
    """The keys a /batch/items call asks for, or None when there are none or too many."""
    keys = [key for key in ",".join(query.get("keys", [])).split(",") if key]
    return keys if 0 < len(keys) <= MAX_BATCH_KEYS else None


def _number(query: dict[str, list[str]], name: str, default: float, top: float) -> float:
    try:
        value = float(query[name][0]) if name in query else default
    except ValueError:
        return default
    return min(max(value, 0.0), top)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer_within_capacity(
    send: Send, capacity: int, latency_ms: float, body: bytes
) -> None:
    """Serve the call if fewer than `capacity` are in flight, else refuse it at once (503)."""
    if COUNTERS.overloaded_in_flight >= capacity:
        COUNTERS.refused += 1
        await _answer(send, 503, b'{"detail": "overloaded"}')
        return
    COUNTERS.overloaded_in_flight += 1
    try:
        await asyncio.sleep(latency_ms / 1000.0)
    finally:
        COUNTERS.overloaded_in_flight -= 1
    await _answer(send, 200, body)


def make_app(config: StubConfig) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The stub as a bare ASGI app (no framework: the less it does, the less CPU it takes)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if scope["server"][1] not in SERVICE_PORT:
            if path == "/stats":
                counts = {
                    "connections": COUNTERS.connections,
                    "requests": COUNTERS.requests,
                    "refused": COUNTERS.refused,
                }
                await _answer(send, 200, json.dumps(counts).encode())
            else:
                await _answer(send, 404, b'{"detail": "not found"}')
            return
        COUNTERS.requests += 1
        query = parse_qs(scope["query_string"].decode())
        latency_ms = _number(query, "latency_ms", config.latency_ms, MAX_LATENCY_MS)
        size = int(_number(query, "bytes", config.payload_bytes, MAX_PAYLOAD_BYTES))
        if path == "/batch/items":
            keys = batch_keys(query)
            if keys is None:
                await _answer(send, 400, b'{"detail": "keys: 1 to 1000 comma-separated keys"}')
                return
            await asyncio.sleep(latency_ms / 1000.0)
            await _answer(send, 200, json.dumps([item_record(k, size) for k in keys]).encode())
            return
        route, found, key = path.rpartition("/items/")
        if not (found and key) or route not in ("", "/flaky", "/fail-once", "/overloaded"):
            await _answer(send, 404, b'{"detail": "not found"}')
            return
        if route == "/overloaded":
            await _answer_within_capacity(send, config.capacity, latency_ms, item_body(key, size))
            return
        if route == "/flaky" and stalls(key, config.stall_share):
            latency_ms += config.stall_ms
        await asyncio.sleep(latency_ms / 1000.0)
        if route == "/fail-once" and key not in COUNTERS.failed_once:
            COUNTERS.failed_once.add(key)
            await _answer(send, 503, b'{"detail": "try again"}')
            return
        await _answer(send, 200, item_body(key, size))

    return app


def listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    return sock


def serve(port: int, control_port: int, config: StubConfig) -> None:
    SERVICE_PORT.append(port)
    server = uvicorn.Server(
        uvicorn.Config(
            make_app(config),
            http=CountingProtocol,
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_keep_alive=KEEPALIVE_S,
            timeout_graceful_shutdown=1,
            backlog=4096,
        )
    )
    server.run(sockets=[listening_socket(port), listening_socket(control_port)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS)
    parser.add_argument("--payload-bytes", type=int, default=DEFAULT_PAYLOAD_BYTES)
    parser.add_argument("--stall-share", type=float, default=DEFAULT_STALL_SHARE)
    parser.add_argument("--stall-ms", type=float, default=DEFAULT_STALL_MS)
    parser.add_argument("--capacity", type=int, default=DEFAULT_CAPACITY)
    args = parser.parse_args()
    config = StubConfig(
        args.latency_ms, args.payload_bytes, args.stall_share, args.stall_ms, args.capacity
    )
    exit_with_parent()
    serve(args.port, args.control_port, config)


if __name__ == "__main__":
    main()
