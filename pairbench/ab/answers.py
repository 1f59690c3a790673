"""Same answer first: each side of a pair is asked once, and the two bodies compared.

The bodies are compared as the harness compares a technique's variants
(pairbench.load.equivalence: JSON decoded, else byte for byte), after the fields the user
ignores are removed (pairbench.ab.ignore). A failed request (not 2xx) is a difference too.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from pairbench.ab.ignore import describe, without_fields
from pairbench.ab.pair import BASELINE, CANDIDATE, PairTechnique
from pairbench.load.equivalence import decoded, first_difference
from pairbench.profiles import REQUEST_TIMEOUT_S


@dataclass(frozen=True)
class AnswerCheck:
    """Whether b answered as a did at one point, and where they first differ if not."""

    point: str
    difference: str | None  # e.g. "body.items[3].total: 10 vs 11"; None: the same answer
    failed: bool = False  # a side did not answer 2xx (the difference says which and how)

    @property
    def equal(self) -> bool:
        return self.difference is None


def ask(
    client: httpx.Client,
    pair: PairTechnique,
    variant: str,
    base_url: str,
    params: Mapping[str, Any],
) -> httpx.Response:
    request = pair.request(variant, params)
    return client.request(
        request.method, base_url + request.url, headers=request.headers, content=request.content
    )


def check_answers(
    pair: PairTechnique, base_urls: Mapping[str, str], params: Mapping[str, Any], point: str
) -> AnswerCheck:
    """Ask a and b once each (`base_urls`: where each is served) and compare the answers."""
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        responses = {
            variant: ask(client, pair, variant, base_urls[variant], params)
            for variant in (BASELINE, CANDIDATE)
        }
    for variant, response in responses.items():
        if not 200 <= response.status_code < 300:
            detail = f"{variant} answered HTTP {response.status_code}: {response.text[:200]}"
            return AnswerCheck(point, detail, failed=True)
    expected, actual = (
        without_fields(decoded(responses[variant]), pair.ignore)
        for variant in (BASELINE, CANDIDATE)
    )
    return AnswerCheck(point, first_difference(expected, actual))


def equivalence_entry(pair: PairTechnique, checks: list[AnswerCheck]) -> dict[str, Any]:
    """The run's equivalence.json entry of the pair, as a technique's variants have theirs."""
    ignored = f" (ignoring {describe(pair.ignore)})" if pair.ignore else ""
    different = [check for check in checks if not check.equal]
    points = ", ".join(check.point for check in checks)
    if different:
        first = different[0]
        detail = f"{first.point}: differs from a at {first.difference}{ignored}"
    else:
        detail = f"same body as a at {points}{ignored}"
    return {
        BASELINE: {"equivalent": True, "detail": "the baseline"},
        CANDIDATE: {"equivalent": not different, "detail": detail},
    }
