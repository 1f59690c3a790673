"""Records every request Locust makes as one raw sample row (Locust itself keeps 2 digits)."""

import csv
from collections.abc import Mapping
from typing import IO, Any

from bench_app.metering import COST_FIELDS, COST_HEADER, parse_cost_header
from bench_app.streamed_costs import WHOLE_COST_HEADER

SAMPLE_COLUMNS = [
    "t_start",
    "latency_ms",
    "status",
    "bytes",
    *COST_FIELDS,
    "error",
    "ttfb_ms",
    "name",
    "worker",
]
TTFB_CONTEXT_KEY = "ttfb_ms"  # a user that times the first byte puts it in the request's context
# A user that reads a streamed body to its end puts its whole costs there (None: not known).
WHOLE_COST_CONTEXT_KEY = "whole_cost"


def cost_text(headers: Mapping[str, str], context: Mapping[str, Any]) -> str | None:
    """A response's costs as an `x-cost` value: its header's, or for a streamed response (whose
    header was sent before the body's work was done) the whole costs read after its body;
    None (not metered) where those were not read."""
    if WHOLE_COST_HEADER in headers:
        whole: str | None = context.get(WHOLE_COST_CONTEXT_KEY)
        return whole
    return headers.get(COST_HEADER)


def wire_bytes(headers: Mapping[str, str], response_length: int) -> int:
    """The body's size on the wire. Locust reports the decoded length; an encoded body's
    wire size is its Content-Length (a chunked one has none: its decoded length stands)."""
    encoding = (headers.get("content-encoding") or "identity").strip().lower()
    length = headers.get("content-length")
    if encoding != "identity" and length is not None and length.strip().isdigit():
        return int(length)
    return response_length


def sample_row(event: Mapping[str, Any], worker: str = "") -> list[Any]:
    """One request as a raw sample row (SAMPLE_COLUMNS), from a Locust `request` event's
    keyword arguments; `worker` names the Locust worker that sent it ("" for a generator
    working alone)."""
    response, exception = event.get("response"), event.get("exception")
    headers = getattr(response, "headers", None) or {}
    status = getattr(response, "status_code", 0) or 0
    context = event.get("context") or {}
    costs = parse_cost_header(cost_text(headers, context)).values()
    error = "" if exception is None else f"{type(exception).__name__}: {exception}"[:200]
    size = wire_bytes(headers, event["response_length"])
    ttfb = context.get(TTFB_CONTEXT_KEY)
    return [
        f"{event['start_time']:.6f}",
        f"{event['response_time']:.4f}",
        status,
        size,
        *costs,
        error,
        "" if ttfb is None else f"{ttfb:.4f}",
        event.get("name", ""),
        worker,
    ]


class SampleRecorder:
    """A Locust `request` event listener writing raw samples to a CSV file."""

    def __init__(self, path: str) -> None:
        self._file: IO[str] = open(path, "w", newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file)
        self._writer.writerow(SAMPLE_COLUMNS)

    def on_request(self, **event: Any) -> None:
        """Locust's `request` event: one raw sample row."""
        self.write([sample_row(event)])

    def write(self, rows: list[list[Any]]) -> None:
        """Rows made by sample_row (e.g. shipped by Locust workers)."""
        self._writer.writerows(rows)

    def close(self) -> None:
        self._file.close()
