"""Same contract, same answer: every variant's answer must equal the baseline's before timing.

An answer is the body, the status its route declares, the Content-Type, and the effects
its technique declares (pairbench.load.effects).

JSON bodies are compared decoded (so key order and spacing do not count); any other body
(a CSV export, say) byte for byte, by length and SHA-256. An error status the technique's
contract declares (`contract_errors`) is an answer too, compared status and body. Where
such an error only comes under concurrency (`equivalence_burst`), each variant is also
sent that many requests at once: every answer must be the baseline's body or the one
declared error answer, the same for every variant.
"""

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ErrorAnswer:
    """An error status the contract declares, with its decoded body: compared like a body."""

    status: int
    body: Any

    def __repr__(self) -> str:
        return f"HTTP {self.status} {json.dumps(self.body, sort_keys=True, default=repr)}"


def _canonical(body: Any, order_insensitive: bool) -> Any:
    if order_insensitive and isinstance(body, list):
        return sorted(body, key=lambda item: json.dumps(item, sort_keys=True))
    return body


def _short(value: Any, limit: int = 120) -> str:
    """A text or an error answer said as it is (shortened); anything else by its kind."""
    if isinstance(value, ErrorAnswer):
        value = repr(value)
    if not isinstance(value, str):
        return type(value).__name__
    return repr(value) if len(value) <= limit else repr(value[: limit - 3] + "...")


def first_difference(expected: Any, actual: Any, where: str = "body") -> str | None:
    """Where two decoded JSON values first differ, e.g. 'body[3].posts[0].title', or None."""
    if type(expected) is not type(actual):
        if isinstance(expected, str | ErrorAnswer) or isinstance(actual, str | ErrorAnswer):
            # e.g. "HTTP 404" or an error answer where a body was due: say it
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


def answer_of(response: httpx.Response, technique: Technique) -> Any:
    """What a response is compared by: its decoded body, an ErrorAnswer for an error the
    contract declares; None for any other error (no answer the contract allows)."""
    if 200 <= response.status_code < 300:  # 201 Created and 202 Accepted answer too
        return _canonical(decoded(response), technique.order_insensitive)
    if response.status_code in technique.contract_errors:
        return ErrorAnswer(response.status_code, decoded(response))
    return None


def _answer(
    client: httpx.Client, technique: Technique, variant: str, params: Mapping[str, Any]
) -> httpx.Response:
    request = technique.request(variant, params)
    return client.request(
        request.method, request.url, headers=request.headers, content=request.content
    )


@dataclass
class BurstFindings:
    """What a burst of concurrent requests to each variant answered."""

    reference: tuple[str, ErrorAnswer] | None = None  # the first error answer met, and whose
    errors: dict[str, int] = field(default_factory=dict)  # declared error answers per variant
    wrong: dict[str, str] = field(default_factory=dict)  # per variant: what broke the contract


def check_burst(
    client: httpx.Client, technique: Technique, params: Mapping[str, Any], expected: Any
) -> BurstFindings:
    """Each variant sent `equivalence_burst` requests at once: each answer must be `expected`
    or the declared error answer, and that error answer the same for every variant."""
    burst = technique.equivalence_burst
    found = BurstFindings()
    with ThreadPoolExecutor(max_workers=burst) as pool:
        for variant in technique.variants:
            sends = [pool.submit(_answer, client, technique, variant, params) for _ in range(burst)]
            responses = [sent.result() for sent in sends]
            found.errors[variant] = 0
            for response in responses:
                problem = _burst_problem(technique, response, expected, found, variant)
                if problem:
                    found.wrong[variant] = problem
                    break
    return found


def _burst_problem(
    technique: Technique,
    response: httpx.Response,
    expected: Any,
    found: BurstFindings,
    variant: str,
) -> str | None:
    answer = answer_of(response, technique)
    if answer is None:
        return f"HTTP {response.status_code}, outside its contract: {response.text[:200]}"
    if not isinstance(answer, ErrorAnswer):
        difference = first_difference(expected, answer)
        return f"differs from {technique.baseline} at {difference}" if difference else None
    found.errors[variant] += 1
    if found.reference is None:
        found.reference = (variant, answer)
        return None
    owner, reference = found.reference
    if answer != reference:
        return f"its error answer {answer!r} differs from {owner}'s {reference!r}"
    return None


def media_type(response: httpx.Response) -> str:
    found: str = response.headers.get("content-type", "")
    return found.split(";")[0].strip().lower()


def _observed(probe: Probe, reset_path: str | None) -> dict[str, Any] | str:
    """The variant's whole answer (body or declared error answer, Content-Type, each
    effect's observation), or why there is none (a status other than its route's or its
    contract's errors, a body that does not decode)."""
    technique, effects = probe.technique, probe.technique.effects
    if reset_path and any(needs_reset(effect) for effect in effects):
        probe.client.post(reset_path, params=dict(probe.params)).raise_for_status()
    before = [prepare(effect, probe) for effect in effects]
    try:
        response = probe.send()
    except httpx.DecodingError as error:
        return f"its body does not decode as its Content-Encoding says: {error}"
    declared = technique.status(probe.variant)
    if response.status_code not in (declared, *technique.contract_errors):
        return (
            f"HTTP {response.status_code} where its route answers {declared}: {response.text[:200]}"
        )
    answer = {"body": answer_of(response, technique), "content-type": media_type(response)}
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
    """Request every variant once (and in a burst, where the technique asks for one); each
    entry says whether it matched the baseline and how: its body, status and Content-Type,
    and the effects the technique declares."""
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
    if technique.equivalence_burst and expected is not None:
        burst = check_burst(client, technique, params, expected["body"])
        _add_burst(results, technique, burst)
    return {variant: results[variant] for variant in technique.variants}


def _add_burst(
    results: dict[str, dict[str, Any]], technique: Technique, found: BurstFindings
) -> None:
    """Fold a burst's findings into each variant's verdict and detail."""
    burst = technique.equivalence_burst
    error = repr(found.reference[1]) if found.reference else "none met"
    for variant, result in results.items():
        wrong = found.wrong.get(variant)
        if wrong:
            detail = f"{burst} requests at once: {wrong}"
            result.update(equivalent=False, detail=detail, difference=detail)
        elif result["equivalent"]:
            errors = found.errors.get(variant, 0)
            result["detail"] += (
                f"; {burst} requests at once: {burst - errors} answered so, {errors} the "
                f"declared error answer, the same for every variant ({error})"
            )
