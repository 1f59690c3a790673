"""The delay proxy: distance between the app and a dependency, in a process of its own.

On loopback a round trip costs ~20 µs, so a query per row looks nearly free; a database a
network hop away costs 0.2-1 ms a round trip. This TCP proxy stands in for the hop: every
chunk it reads, in either direction, is written on RTT/2 after it was read. The delays of
one connection overlap as a wire's do (a chunk read at t goes out at t + RTT/2, whatever
came before it), bytes keep their order, and a new connection's first bytes wait one RTT
more, for the TCP handshake that the loopback accept skipped. It sits below the driver, so
every protocol round trip (connect, auth, prepare, execute) pays, not just each query.

Timing is the point, and a chunk never leaves early, so a round trip takes at least the
RTT; lateness would come on top. The kernel wakes the loop late (tens of µs, twice per
round trip), so the loop's selector wakes a margin early and polls the rest of the wait
(pairbench.env.punctual_selector); the loop's own turn until a chunk's timer runs takes
a few µs more, so each timer is set a lead before the chunk is due and the flush spins
until it is due. Both margins follow the lateness they cover (bounded: MAX_MARGIN_S,
MAX_LEAD_S), and both cost CPU: the harness measures the delay the proxy really adds and
its CPU per round trip (pairbench.load.proxy_cost). select(2) watches at most 1024
descriptors: ~500 connections at once, far more than the app's pools and a run's users open.

Run as `python -m pairbench.env.delay_proxy --port P --control-port C --target T
--rtt-ms R`, T being HOST:PORT or a unix socket path. The control port takes one line
per command: `rtt MS` sets the round trip (for chunks read from then on) and answers
`ok`; `stats` answers a JSON line: rtt_ms, connections, open, bytes, lateness_us (how late
chunks leave, a running mean), lead_us, margin_us and polled_ms (the CPU spent polling).
"""

import argparse
import asyncio
import collections
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from bench_app.parent_watch import exit_with_parent
from pairbench.env.punctual_selector import PunctualSelector, WakeMargin, precise_timers

LOOPBACK = "127.0.0.1"
READY_LINE = "delay proxy ready"
LATENESS_WEIGHT = 0.05  # of each chunk's lateness in the running mean (a statistic)
MAX_LEAD_S = 50e-6  # the most a chunk's timer runs before it is due (then it spins)
HIGH_WATER = 1 << 20  # bytes buffered towards a slow reader before its source is paused


@dataclass
class Clock:
    """The round trip now in force, and what the proxy has seen (its `stats`)."""

    rtt_s: float
    lateness_s: float = 0.0  # how late chunks leave, a running mean
    lead: WakeMargin = field(default_factory=lambda: WakeMargin(MAX_LEAD_S))
    connections: int = 0
    open: int = 0
    bytes: int = 0


class Direction:
    """One direction of one connection: chunks queued with the time each is due out."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        clock: Clock,
        extra_s: float,
        on_eof: Callable[[], None],
    ) -> None:
        self.loop, self.clock, self.on_eof = loop, clock, on_eof
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.sink: asyncio.Transport | None = None  # set once the other side connects
        self.extra_s = extra_s  # added to the first chunk only: the handshake's round trip
        self.eof = False
        self.timer: asyncio.TimerHandle | None = None
        self.wake_at = 0.0  # when the pending timer was set to run
        self.timed = False  # the pending timer was set for the future: its lateness counts

    def push(self, data: bytes) -> None:
        self.clock.bytes += len(data)
        delay = self.clock.rtt_s / 2 + self.extra_s
        self.extra_s = 0.0
        if delay == 0 and not self.queue and self.sink is not None:
            self.sink.write(data)  # RTT 0: no timer, no extra turn of the loop
            return
        self.queue.append((self.loop.time() + delay, data))
        self._schedule()

    def end(self) -> None:
        """The source sent EOF: pass it on after the chunks before it."""
        self.eof = True
        self._schedule()

    def _schedule(self) -> None:
        if self.timer is not None or self.sink is None:
            return
        if not self.queue:
            if self.eof and not self.sink.is_closing():
                self.eof = False  # passed on, once
                self.sink.write_eof()
                self.on_eof()
            return
        self.wake_at = self.queue[0][0] - self.clock.lead.margin_s
        self.timed = self.wake_at > self.loop.time()  # not a chunk already overdue
        self.timer = self.loop.call_at(self.wake_at, self._flush)

    def _flush(self) -> None:
        """Write every chunk due by now; never one early, so a round trip takes the RTT or more."""
        self.timer = None
        if self.sink is None or self.sink.is_closing():
            self.queue.clear()
            return
        now, due = self.loop.time(), self.queue[0][0]
        if self.timed:
            self.clock.lead.add(now - self.wake_at)
        while now < due:  # the timer ran up to a lead early: spin the rest, never send early
            now = self.loop.time()
        if self.timed:
            self.clock.lateness_s += LATENESS_WEIGHT * (now - due - self.clock.lateness_s)
        while self.queue and self.queue[0][0] <= now:
            self.sink.write(self.queue.popleft()[1])
        self._schedule()

    def attach(self, sink: asyncio.Transport) -> None:
        self.sink = sink
        self._schedule()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queue.clear()


class Side(asyncio.Protocol):
    """One socket of a proxied connection; what it reads goes out the other side, delayed."""

    def __init__(self, outgoing: Direction, incoming: Direction, pair: "Pair") -> None:
        self.outgoing, self.incoming, self.pair = outgoing, incoming, pair
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.pair.closed:  # the client left while we were connecting upstream
            transport.close()
            return
        transport.set_write_buffer_limits(high=HIGH_WATER)
        self.incoming.attach(transport)

    def data_received(self, data: bytes) -> None:
        self.outgoing.push(data)

    def eof_received(self) -> bool:
        self.outgoing.end()
        return True  # keep the socket open to write the other way (half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pair.lost()

    def pause_writing(self) -> None:  # our sink is full: stop reading its source
        self.pair.pause(self)

    def resume_writing(self) -> None:
        self.pair.resume(self)


class Pair:
    """A client connection and its upstream one, closed together."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        loop = asyncio.get_running_loop()
        self.up = Direction(loop, clock, clock.rtt_s, self.half_closed)  # client -> server
        self.down = Direction(loop, clock, 0.0, self.half_closed)  # server -> client
        self.half_closes = 0
        self.client = Side(self.up, self.down, self)
        self.server = Side(self.down, self.up, self)
        self.closed = False
        clock.connections += 1
        clock.open += 1

    def pause(self, side: Side) -> None:
        other = self.server if side is self.client else self.client
        if other.transport is not None:
            other.transport.pause_reading()

    def resume(self, side: Side) -> None:
        other = self.server if side is self.client else self.client
        if other.transport is not None and not other.transport.is_closing():
            other.transport.resume_reading()

    def half_closed(self) -> None:
        """EOF passed on one way; once it has both ways, the connection is over."""
        self.half_closes += 1
        if self.half_closes == 2:
            for side in (self.client, self.server):
                if side.transport is not None:
                    side.transport.close()

    def lost(self) -> None:
        """Either socket closed: close the other once what is due to it has gone out."""
        if self.closed:
            return
        self.closed = True
        self.clock.open -= 1
        for side, direction in ((self.client, self.down), (self.server, self.up)):
            if side.transport is not None and not side.transport.is_closing():
                # what the other socket sent before it closed is still due out
                due = direction.queue[-1][0] if direction.queue else 0.0
                delay = max(0.0, due - asyncio.get_running_loop().time())
                asyncio.get_running_loop().call_later(delay, side.transport.close)
            else:
                direction.close()


async def connect_upstream(target: str, pair: Pair) -> None:
    loop = asyncio.get_running_loop()
    try:
        if target.startswith("/"):
            await loop.create_unix_connection(lambda: pair.server, target)
        else:
            host, _, port = target.rpartition(":")
            await loop.create_connection(lambda: pair.server, host, int(port))
    except OSError as error:
        print(f"delay proxy: cannot reach {target}: {error}", file=sys.stderr, flush=True)
        if pair.client.transport is not None:
            pair.client.transport.close()


async def serve_control(
    clock: Clock,
    selector: PunctualSelector,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    while line := await reader.readline():
        command, _, argument = line.decode().strip().partition(" ")
        if command == "rtt":
            try:
                clock.rtt_s = max(0.0, float(argument)) / 1000
                writer.write(b"ok\n")
            except ValueError:
                writer.write(b"error: rtt takes milliseconds\n")
        elif command == "stats":
            figures = {
                "rtt_ms": clock.rtt_s * 1000,
                "connections": clock.connections,
                "open": clock.open,
                "bytes": clock.bytes,
                "lateness_us": clock.lateness_s * 1e6,
                "lead_us": clock.lead.margin_s * 1e6,
                "margin_us": selector.margin.margin_s * 1e6,
                "polled_ms": selector.polled_s * 1e3,
            }
            writer.write((json.dumps(figures) + "\n").encode())
        else:
            writer.write(b"error: commands are `rtt MS` and `stats`\n")
        await writer.drain()
    writer.close()


async def serve(
    port: int, control_port: int, target: str, rtt_ms: float, selector: PunctualSelector
) -> None:
    clock = Clock(rtt_ms / 1000)
    loop = asyncio.get_running_loop()

    def accept() -> Side:
        pair = Pair(clock)
        loop.create_task(connect_upstream(target, pair))
        return pair.client

    proxy = await loop.create_server(accept, LOOPBACK, port, backlog=1024)
    control = await asyncio.start_server(
        lambda reader, writer: serve_control(clock, selector, reader, writer),
        LOOPBACK,
        control_port,
    )
    print(f"{READY_LINE}: {LOOPBACK}:{port} -> {target}, rtt {rtt_ms:g} ms", flush=True)
    async with proxy, control:
        await asyncio.gather(proxy.serve_forever(), control.serve_forever())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--target", required=True, help="HOST:PORT or a unix socket path")
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    args = parser.parse_args()
    exit_with_parent()
    precise_timers()
    selector = PunctualSelector()
    loop = asyncio.SelectorEventLoop(selector)
    try:
        loop.run_until_complete(
            serve(args.port, args.control_port, args.target, args.rtt_ms, selector)
        )
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()


if __name__ == "__main__":
    main()
