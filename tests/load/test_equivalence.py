"""Equivalence: where two answers differ is found and named."""

import httpx

from pairbench.load.equivalence import RawBody, decoded, first_difference


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
