"""A pair of the user's endpoints as a technique: its URLs, its request, its load request."""

import pytest

from pairbench.ab.pair import Endpoint, make_pair
from pairbench.load.measure import load_request


def test_an_endpoint_is_a_url_or_a_path_each_with_its_own_query() -> None:
    url = Endpoint.parse("http://127.0.0.1:8000/items?impl=slow")
    assert (url.base_url, url.path, dict(url.query)) == (
        "http://127.0.0.1:8000",
        "/items",
        {"impl": "slow"},
    )
    path = Endpoint.parse("/items/{item_id}")
    assert (path.base_url, path.path) == (None, "/items/{item_id}")


@pytest.mark.parametrize("text", ["items", "ftp://host/x", "http:///x"])
def test_what_is_neither_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        Endpoint.parse(text)


def test_a_variants_url_has_its_own_query_then_the_pairs_parameters() -> None:
    slow, fast = (
        Endpoint.parse("/items/{item_id}?impl=slow"),
        Endpoint.parse("/items/{item_id}?impl=fast"),
    )
    pair = make_pair("p", slow, fast, params={"item_id": 7, "n": 10})
    assert pair.url("a") == "/items/7?impl=slow&n=10"
    assert pair.url("b", {"item_id": 8, "n": 1}) == "/items/8?impl=fast&n=1"


def test_a_request_carries_the_method_headers_and_a_typed_body() -> None:
    pair = make_pair(
        "p",
        Endpoint.parse("/a"),
        Endpoint.parse("/b"),
        method="put",
        headers={"authorization": "Bearer t"},
        body='{"n": 1}',
    )
    request = pair.request("b")
    assert (request.method, request.url, request.content) == ("PUT", "/b", b'{"n": 1}')
    assert request.headers == {"content-type": "application/json", "authorization": "Bearer t"}
    assert make_pair("q", Endpoint.parse("/a"), Endpoint.parse("/b"), body="x=1").request(
        "a"
    ).headers == {"content-type": "text/plain"}


def test_the_load_generator_is_told_what_to_send_beyond_a_get() -> None:
    plain = make_pair("p", Endpoint.parse("/a"), Endpoint.parse("/b"))
    assert load_request(plain, "a", {}) is None  # a plain GET, as every technique's
    posted = make_pair("p", Endpoint.parse("/a"), Endpoint.parse("/b"), method="POST", body="x")
    sent = load_request(posted, "b", {})
    assert sent == {"method": "POST", "headers": {"content-type": "text/plain"}, "body": "x"}
    # (The Locust user that sends it, scenarios.users.request_user, runs in the end-to-end
    # test: importing Locust here would monkey-patch the test process for gevent.)
