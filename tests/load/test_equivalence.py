"""Equivalence: where two answers differ is found and named."""

from pairbench.load.equivalence import first_difference


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
    assert first_difference({"a": 1}, {"a": "1"}) == "body.a: int vs str"
