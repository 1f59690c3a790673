"""Same contract, same answer: every variant's body must equal the baseline's before timing."""

import json
from collections.abc import Mapping
from typing import Any

import httpx

from bench_app.technique import Technique


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
    return None if expected == actual else f"{where}: {expected!r} vs {actual!r}"


def check_equivalence(
    client: httpx.Client, technique: Technique, params: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Request every variant once; each entry says whether it matched the baseline and how."""
    bodies: dict[str, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    for variant in technique.variants:
        response = client.get(technique.url(variant, params))
        if not 200 <= response.status_code < 300:  # 201 Created and 202 Accepted answer too
            detail = f"HTTP {response.status_code}: {response.text[:200]}"
            results[variant] = {"equivalent": False, "detail": detail}
            continue
        bodies[variant] = _canonical(response.json(), technique.order_insensitive)
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
