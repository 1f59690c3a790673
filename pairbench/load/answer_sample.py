"""A few of a variant's answers under load, kept for the equivalence check to compare.

A lone request never shares a flight or a cache entry with another caller; under load,
many do. The generator keeps the variant's 10th, 100th, 1000th and 10000th answer of a
segment (at most four: the first burst, when every user starts at once and shares what
is in flight, then spread over the segment) with their bodies; the harness asks the
baseline variant the same requests afterwards (pairbench.load.answers_under_load). Every
other request costs the listener a comparison, a counter increment and a set lookup.
"""

import base64
import hashlib
import json
import zlib
from typing import IO, Any
from urllib.parse import urlsplit

SAMPLED_AT = frozenset({10, 100, 1000, 10000})  # the variant's n-th requests in a segment
# A larger body is kept as its length and SHA-256 (streaming_export's ~3 MB CSV): the run's
# answers.jsonl stays small, and a byte body is compared by those anyway. A JSON body is
# compared decoded (key order and spacing do not count), so up to MAX_JSON_BYTES it is kept
# whole, compressed (projection's 1,000 rows: ~165 kB, ~20 kB compressed).
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_BYTES = 4 * 1024 * 1024


def path_and_query(url: str) -> str:
    """A request's URL without its scheme and host (Locust reports it whole)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def answer_record(event: dict[str, Any]) -> dict[str, Any] | None:
    """One sampled answer as a JSON-able record, or None where there is nothing to compare:
    a failed or bodiless answer (an error, a 304) or one whose body was not read."""
    response = event.get("response")
    status = getattr(response, "status_code", 0) or 0
    if event.get("exception") is not None or not 200 <= status < 300:
        return None
    content = getattr(response, "content", None)
    if not isinstance(content, bytes) or not content:
        return None
    headers = getattr(response, "headers", None) or {}
    record = {
        "url": path_and_query(str(event.get("url") or "")),
        "status": status,
        "content_type": headers.get("content-type", ""),
        "content_encoding": headers.get("content-encoding", ""),
    }
    # Headers a scenario names as part of the request (route_cache's caller) are asked again
    # with it: the URL alone does not say whose answer it was.
    request_headers = (event.get("context") or {}).get("request_headers")
    if request_headers:
        record["request_headers"] = dict(request_headers)
    if len(content) <= MAX_BODY_BYTES:
        return {**record, "body": base64.b64encode(content).decode()}
    if record["content_type"].startswith("application/json") and len(content) <= MAX_JSON_BYTES:
        return {**record, "body_zlib": base64.b64encode(zlib.compress(content)).decode()}
    return {**record, "length": len(content), "sha256": hashlib.sha256(content).hexdigest()}


class AnswerSampler:
    """A Locust `request` listener keeping the SAMPLED_AT answers of requests named `name`."""

    def __init__(self, path: str, name: str) -> None:
        self._file: IO[str] = open(path, "w")  # noqa: SIM115 - closed in close()
        self.name = name
        self.seen = 0

    def on_request(self, **event: Any) -> None:
        if event.get("name") != self.name:
            return
        self.seen += 1
        if self.seen not in SAMPLED_AT:
            return
        record = answer_record(event)
        if record is not None:
            self._file.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self._file.close()
