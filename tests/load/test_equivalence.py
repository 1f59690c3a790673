"""Equivalence: where two answers differ is found and named."""

import itertools
from typing import Any

import httpx
from fastapi import APIRouter

from bench_app.effects import DegradesTo
from bench_app.technique import Technique
from bench_app.techniques import all_techniques
from pairbench.load.effects import name_of
from pairbench.load.equivalence import (
    RawBody,
    answer_difference,
    check_equivalence,
    decoded,
    first_difference,
)
from tests.demo_technique import demo_technique


def test_equal_bodies_have_no_difference() -> None:
    body = [{"id": 1, "posts": [{"id": 2, "title": "a"}]}]
    assert first_difference(body, [{"id": 1, "posts": [{"id": 2, "title": "a"}]}]) is None


def test_the_first_difference_is_named_by_its_path() -> None:
    left = [{"id": 1, "posts": [{"id": 2, "title": "a"}]}]
    right = [{"id": 1, "posts": [{"id": 2, "title": "b"}]}]
    assert first_difference(left, right) == "body[0].posts[0].title: 'a' vs 'b'"


def test_missing_items_keys_and_types_are_differences() -> None:
    assert first_difference([1, 2], [1]) == "body: 2 items vs 1"
    assert first_difference({"a": 1}, {"b": 1}) == "body.a: present on one side only"
    assert first_difference({"a": 1}, {"a": "1"}) == "body.a: int vs '1'"  # a text is said


def test_bodies_that_are_not_json_are_compared_byte_for_byte() -> None:
    csv = RawBody(b"id,name\r\n1,a\r\n")
    assert first_difference(csv, RawBody(b"id,name\r\n1,a\r\n")) is None
    found = first_difference(csv, RawBody(b"id,name\r\n1,b\r\n"))
    assert found is not None and found.startswith("body: byte 11 differs (14 bytes, sha256 ")
    shorter = first_difference(csv, RawBody(b"id,name\r\n"))
    assert shorter is not None and "byte 9 differs" in shorter and "9 bytes" in shorter
    assert first_difference({"a": 1}, csv) == "body: dict vs RawBody"


def test_a_response_is_decoded_by_its_content_type() -> None:
    as_json = httpx.Response(200, json={"a": [1]})
    as_csv = httpx.Response(200, content=b"a\r\n1\r\n", headers={"content-type": "text/csv"})
    assert decoded(as_json) == {"a": [1]}
    assert decoded(as_csv) == RawBody(b"a\r\n1\r\n")


def test_a_variant_is_held_to_the_status_its_route_declares() -> None:
    techniques = all_techniques()
    assert techniques["background_jobs"].status("inline") == 201
    assert techniques["background_jobs"].status("enqueued") == 202
    assert techniques["n_plus_one"].status("joined") == 200


def test_a_degraded_answer_must_be_the_documented_fallback() -> None:
    technique = all_techniques()["upstream_timeouts"]
    (effect,) = technique.effects
    assert isinstance(effect, DegradesTo)
    name, fallback = name_of(effect), dict(effect.fallback(effect.params))
    full = {"key": "12", "value": 7, "degraded": False}

    def answer(body: Any) -> dict[str, Any]:
        return {
            "body": [],
            "content-type": "application/json",
            name: {"answer": body, "fallback": fallback},
        }

    assert answer_difference(technique, answer(full), answer(full)) is None
    assert answer_difference(technique, answer(full), answer(fallback)) is None
    wrong = {**fallback, "key": "1"}  # another item's fallback
    found = answer_difference(technique, answer(full), answer(wrong))
    assert found == "effect DegradesTo.answer.degraded: False vs True"  # neither answer


def burst_technique(router: APIRouter) -> Technique:
    return demo_technique(
        "burst",
        router,
        ("base", "alike", "other_error", "undeclared"),
        baseline="base",
        contract_errors=(503,),
        equivalence_burst=6,
    )


def test_a_burst_compares_declared_errors_like_bodies() -> None:
    """Every other request after the first meets a full upstream: the declared 503 is an answer
    when every variant gives the same one; another body, or a status the contract does not
    declare, makes that variant not equivalent."""
    router = APIRouter(prefix="/burst")
    for name in ("base", "alike", "other_error", "undeclared"):
        router.add_api_route(f"/{name}", lambda: None, name=name)
    sent = {name: itertools.count() for name in ("base", "alike", "other_error", "undeclared")}
    refusals = {
        "base": (503, {"detail": "full"}),
        "alike": (503, {"detail": "full"}),
        "other_error": (503, {"detail": "try elsewhere"}),
        "undeclared": (502, {"detail": "full"}),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        variant = request.url.path.rsplit("/", 1)[-1]
        if next(sent[variant]) % 2:  # the first (the single check) answers, then every other
            status, body = refusals[variant]
            return httpx.Response(status, json=body)
        return httpx.Response(200, json={"value": 1})

    technique = burst_technique(router)
    with httpx.Client(transport=httpx.MockTransport(answer), base_url="http://t") as client:
        found = check_equivalence(client, technique, {"burst": 1})
    assert [found[variant]["equivalent"] for variant in technique.variants] == [
        True,
        True,
        False,
        False,
    ]
    assert "3 the declared error answer" in found["alike"]["detail"]
    assert "differs from base's HTTP 503" in found["other_error"]["detail"]
    assert "HTTP 502, outside its contract" in found["undeclared"]["detail"]
