"""Same contract, same answer: every variant's answer must equal the baseline's before timing.

An answer is the body, the status its route declares, the Content-Type, and the effects
its technique declares (pairbench.load.effects).

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
from pairbench.load.effects import Probe, Services, accepts, name_of, needs_reset, observe, prepare


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


def _short(value: Any, limit: int = 120) -> str:
    """A text said as it is (shortened); anything else by its kind."""
    if not isinstance(value, str):
        return type(value).__name__
    return repr(value) if len(value) <= limit else repr(value[: limit - 3] + "...")


def first_difference(expected: Any, actual: Any, where: str = "body") -> str | None:
    """Where two decoded JSON values first differ, e.g. 'body[3].posts[0].title', or None."""
    if type(expected) is not type(actual):
        if isinstance(expected, str) or isinstance(actual, str):  # e.g. "HTTP 404": say it
            return f"{where}: {_short(expected)} vs {_short(actual)}"
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


def media_type(response: httpx.Response) -> str:
    found: str = response.headers.get("content-type", "")
    return found.split(";")[0].strip().lower()


def _observed(probe: Probe, reset_path: str | None) -> dict[str, Any] | str:
    """The variant's whole answer (body, Content-Type, each effect's observation), or why
    there is none (a status other than its route's, a body that does not decode)."""
    technique, effects = probe.technique, probe.technique.effects
    if reset_path and any(needs_reset(effect) for effect in effects):
        probe.client.post(reset_path, params=dict(probe.params)).raise_for_status()
    before = [prepare(effect, probe) for effect in effects]
    try:
        response = probe.send()
    except httpx.DecodingError as error:
        return f"its body does not decode as its Content-Encoding says: {error}"
    if response.status_code != technique.status(probe.variant):
        expected = technique.status(probe.variant)
        return (
            f"HTTP {response.status_code} where its route answers {expected}: {response.text[:200]}"
        )
    answer = {"body": probe.read(response), "content-type": media_type(response)}
    for effect, noted in zip(effects, before, strict=True):
        answer[name_of(effect)] = observe(effect, probe, response, noted)
    return answer


def answer_difference(
    technique: Technique, expected: dict[str, Any], actual: dict[str, Any]
) -> str | None:
    """Where a variant's answer first differs from the baseline's: its body, then its
    Content-Type, then each declared effect in order."""
    found = first_difference(expected["body"], actual["body"])
    if found is None and expected["content-type"] != actual["content-type"]:
        found = f"content-type: {expected['content-type']!r} vs {actual['content-type']!r}"
    for effect in technique.effects:
        if found is not None:
            break
        name = name_of(effect)
        found = first_difference(accepts(effect, expected[name], actual[name]), actual[name], name)
    return found


def check_equivalence(
    client: httpx.Client,
    technique: Technique,
    params: Mapping[str, Any],
    services: Services | None = None,
) -> dict[str, dict[str, Any]]:
    """Request every variant once; each entry says whether it matched the baseline and how:
    its body, status and Content-Type, and the effects the technique declares."""
    answers: dict[str, dict[str, Any]] = {}
    results: dict[str, dict[str, Any]] = {}

    def read(response: httpx.Response) -> Any:
        return _canonical(decoded(response), technique.order_insensitive)

    for variant in technique.variants:
        probe = Probe(client, technique, variant, params, services or Services(), read)
        found = _observed(probe, technique.reset_path)
        if isinstance(found, str):
            results[variant] = {"equivalent": False, "detail": found, "difference": found}
        else:
            answers[variant] = found
    expected = answers.get(technique.baseline)
    for variant, answer in answers.items():
        if expected is None:
            results[variant] = {"equivalent": False, "detail": "the baseline variant failed"}
            continue
        difference = answer_difference(technique, expected, answer)
        results[variant] = {
            "equivalent": difference is None,
            "detail": f"differs from {technique.baseline} at {difference}"
            if difference
            else f"same answer as {technique.baseline}",
        }
        if difference:
            results[variant]["difference"] = difference
    return {variant: results[variant] for variant in technique.variants}
