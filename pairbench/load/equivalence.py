"""Same contract, same answer: every variant's body must equal the baseline's before timing.

JSON bodies are compared decoded (so key order and spacing do not count); any other body
(a CSV export, say) byte for byte, by length and SHA-256.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bench_app.technique import Technique


@dataclass(frozen=True, repr=False)
class RawBody:
    """A body that is not JSON: compared by its bytes."""

    content: bytes

    def __repr__(self) -> str:
        digest = hashlib.sha256(self.content).hexdigest()[:16]
        return f"{len(self.content)} bytes, sha256 {digest}"


def _canonical(body: Any, order_insensitive: bool) -> Any:
    if order_insensitive and isinstance(body, list):
        return sorted(body, key=lambda item: json.dumps(item, sort_keys=True))
    return body


def first_difference(expected: Any, actual: Any, where: str = "body") -> str | None:
    """Where two decoded JSON values first differ, e.g. 'body[3].posts[0].title', or None."""
    if type(expected) is not type(actual):
        return f"{where}: {type(expected).__name__} vs {type(actual).__name__}"
    if isinstance(expected, dict):
        for key in sorted(expected.keys() | actual.keys()):
            if key not in expected or key not in actual:
                return f"{where}.{key}: present on one side only"
            found = first_difference(expected[key], actual[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"{where}: {len(expected)} items vs {len(actual)}"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found = first_difference(left, right, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(expected, RawBody):
        return raw_difference(expected, actual, where)
    return None if expected == actual else f"{where}: {expected!r} vs {actual!r}"


def raw_difference(expected: RawBody, actual: RawBody, where: str = "body") -> str | None:
    """Where two byte bodies first differ: the offset, and each side's size and hash."""
    if expected == actual:
        return None
    left, right = expected.content, actual.content
    offset = next(
        (index for index, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
        min(len(left), len(right)),
    )
    return f"{where}: byte {offset} differs ({expected!r} vs {actual!r})"


def decoded(response: httpx.Response) -> Any:
    """A JSON body decoded; any other body as its bytes."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return RawBody(response.content)


def check_equivalence(
    client: httpx.Client, technique: Technique, params: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Request every variant once; each entry says whether it matched the baseline and how."""
    bodies: dict[str, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    for variant in technique.variants:
        request = technique.request(variant, params)
        response = client.request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        if not 200 <= response.status_code < 300:  # 201 Created and 202 Accepted answer too
            detail = f"HTTP {response.status_code}: {response.text[:200]}"
            results[variant] = {"equivalent": False, "detail": detail}
            continue
        bodies[variant] = _canonical(decoded(response), technique.order_insensitive)
    expected = bodies.get(technique.baseline)
    for variant, body in bodies.items():
        if expected is None:
            results[variant] = {"equivalent": False, "detail": "the baseline variant failed"}
            continue
        difference = first_difference(expected, body)
        results[variant] = {
            "equivalent": difference is None,
            "detail": f"differs from {technique.baseline} at {difference}"
            if difference
            else f"same body as {technique.baseline}",
        }
    return {variant: results[variant] for variant in technique.variants}
