"""A few of a variant's answers under load, kept for the equivalence check to compare.

A lone request never shares a flight or a cache entry with another caller; under load,
many do. Every load mode keeps the variant's 10th, 100th, 1000th and 10000th answer of a
segment (at most four per sending process: the first burst, when every user starts at
once and shares what is in flight, then spread over the segment) with their bodies: the
closed-loop generator's Locust listener, the open loop's sends (pairbench.load.open_loop),
and each Locust worker, which ships its sample to the master with its last rows
(pairbench.load.distributed). The harness asks the baseline variant the same requests
afterwards (pairbench.load.answers_under_load). Every other answer costs a counter
increment and a set lookup.
"""

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

SAMPLED_AT = frozenset({10, 100, 1000, 10000})  # the variant's n-th requests in a segment
# A larger body is kept as its length and SHA-256 (streaming_export's ~3 MB CSV): the run's
# answers.jsonl stays small, and a byte body is compared by those anyway. A JSON body is
# compared decoded (key order and spacing do not count), so up to MAX_JSON_BYTES it is kept
# whole, compressed (projection's 1,000 rows: ~165 kB, ~20 kB compressed).
MAX_BODY_BYTES = 64 * 1024
SAMPLED_HEADERS = ("content-type", "content-encoding")  # what a body is decoded by
MAX_JSON_BYTES = 4 * 1024 * 1024


def path_and_query(url: str) -> str:
    """A request's URL without its scheme and host (Locust reports it whole)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def answer_record(event: dict[str, Any]) -> dict[str, Any] | None:
    """One sampled answer of a Locust `request` event as a JSON-able record, or None where
    there is nothing to compare (see kept_answer)."""
    response = event.get("response")
    status = getattr(response, "status_code", 0) or 0
    if event.get("exception") is not None:
        return None
    # Headers a scenario names as part of the request (route_cache's caller) are asked again
    # with it: the URL alone does not say whose answer it was.
    request_headers = (event.get("context") or {}).get("request_headers")
    return kept_answer(
        str(event.get("url") or ""),
        status,
        getattr(response, "headers", None) or {},
        getattr(response, "content", None),
        request_headers,
    )


def kept_answer(
    url: str,
    status: int,
    headers: Mapping[str, Any],
    content: bytes | None,
    request_headers: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """One answer as a JSON-able record, or None where there is nothing to compare: a failed
    or bodiless answer (an error, a 304) or one whose body was not read."""
    if not 200 <= status < 300 or not isinstance(content, bytes) or not content:
        return None
    content_type = _header(headers, "content-type")
    record: dict[str, Any] = {
        "url": path_and_query(url),
        "status": status,
        "content_type": content_type,
        "content_encoding": _header(headers, "content-encoding"),
    }
    if request_headers:
        record["request_headers"] = dict(request_headers)
    if len(content) <= MAX_BODY_BYTES:
        return {**record, "body": base64.b64encode(content).decode()}
    if content_type.startswith("application/json") and len(content) <= MAX_JSON_BYTES:
        return {**record, "body_zlib": base64.b64encode(zlib.compress(content)).decode()}
    return {**record, "length": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def _header(headers: Mapping[str, Any], name: str) -> str:
    """A header's value; the first where it came more than once (geventhttpclient's list)."""
    value = headers.get(name) or ""
    return str(value[0] if isinstance(value, list) else value)


class AnswerSampler:
    """The SAMPLED_AT answers of one segment, kept in memory until taken.

    As a Locust `request` listener it counts the requests named `name` (the variant's own);
    the open loop offers it each answer with `due` and `keep`."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.seen = 0
        self.kept: list[dict[str, Any]] = []

    def due(self) -> bool:
        """Count one more answer; whether it is one the sample keeps."""
        self.seen += 1
        return self.seen in SAMPLED_AT

    def keep(self, record: dict[str, Any] | None) -> None:
        if record is not None:
            self.kept.append(record)

    def add(self, records: list[dict[str, Any]]) -> None:
        """Records sampled elsewhere (a Locust worker's)."""
        self.kept.extend(records)

    def on_request(self, **event: Any) -> None:
        if event.get("name") == self.name and self.due():
            self.keep(answer_record(event))

    def take(self) -> list[dict[str, Any]]:
        kept, self.kept = self.kept, []
        return kept


def write_answers(path: str, records: list[dict[str, Any]]) -> None:
    """A segment's sampled answers as JSON lines (the file is written even if empty)."""
    with open(path, "w") as lines:
        for record in records:
            lines.write(json.dumps(record) + "\n")
