"""A target is a route's path and its params: its URL is built, never parsed back."""

import json

import pytest

from bench_app.target import Target


def test_params_the_path_does_not_name_make_the_query_in_their_order() -> None:
    assert Target("/demo/naive").url == "/demo/naive"
    assert Target("/demo/naive", {"size": 3, "after": ""}).url == "/demo/naive?size=3&after="
    assert Target("/demo", {"email": "a b@c.d"}).url == "/demo?email=a+b%40c.d"


def test_a_path_parameter_is_filled_by_starlettes_grammar_and_quoted_whole() -> None:
    target = Target("/users/{user_id}/posts/{post:int}", {"post": 9, "user_id": "a/b", "x": 1})
    assert target.path_params == ["user_id", "post"]
    assert target.url == "/users/a%2Fb/posts/9?x=1"


def test_a_missing_or_refused_path_parameter_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"/users/\{user_id\}: no value for the path parameter"):
        Target("/users/{user_id}", {"detail": "long"})
    with pytest.raises(ValueError, match="/users/{user_id}"):
        _ = Target("/users/{user_id}", {"user_id": ""}).url  # an empty segment


def test_with_params_varies_one_parameter_and_keeps_the_rest() -> None:
    target = Target("/items/{item}", {"item": 1, "detail": "long"})
    assert target.with_params(item=7).url == "/items/7?detail=long"
    assert target.with_params(page=2).url == "/items/1?detail=long&page=2"
    assert target.url == "/items/1?detail=long"  # unchanged: a target is a value


def test_a_target_survives_the_trip_to_the_load_generator_as_json() -> None:
    target = Target("/users/{user_id}", {"user_id": 7, "ratio": 0.5, "name": "x"})
    again = Target.from_json(json.loads(json.dumps(target.to_json())))
    assert again == target and again.url == target.url
