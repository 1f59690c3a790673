"""A streamed response's whole costs: recorded as its body ends, read once by its client."""

import os

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bench_app.metering import CostMeterMiddleware, current_cost, parse_cost_header
from bench_app.streamed_costs import WHOLE_COST_HEADER, StreamedCosts
from tests.costs import costs_of


async def counting_body(scope: Scope, receive: Receive, send: Send) -> None:
    """An app whose body does its work (one "row" a piece) while it is sent, as a
    StreamingResponse does; ?pieces=1 sends it in one piece, after the work."""
    pieces = int(scope["query_string"].decode().partition("=")[2] or 3)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for piece in range(pieces):
        cost = current_cost()
        assert cost is not None
        cost.rows += 1
        await send({"type": "http.response.body", "body": b"x", "more_body": piece < pieces - 1})


def metered(costs: StreamedCosts) -> httpx.AsyncClient:
    app = CostMeterMiddleware(counting_body, streamed_costs=costs)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_streamed_body_has_its_whole_costs_recorded_as_it_ends() -> None:
    costs = StreamedCosts()
    async with metered(costs) as client:
        response = await client.get("/?pieces=3")
    assert response.content == b"xxx"
    # the header left with the first piece, held until the second showed that more follow
    assert costs_of(response)["rows"] == "2"
    cost_id = response.headers[WHOLE_COST_HEADER].rsplit("/", 1)[1]
    whole = costs.take(cost_id)
    assert whole is not None and parse_cost_header(whole)["rows"] == "3"
    assert costs.take(cost_id) is None  # read once


@pytest.mark.parametrize("pieces", [1, 2])
async def test_a_body_ended_by_its_second_piece_is_no_stream_its_header_has_the_whole_cost(
    pieces: int,
) -> None:
    """Two pieces is how Starlette's BaseHTTPMiddleware sends every body: the body, then the end."""
    costs = StreamedCosts()
    async with metered(costs) as client:
        response = await client.get(f"/?pieces={pieces}")
    assert response.content == b"x" * pieces
    assert costs_of(response)["rows"] == str(pieces)
    assert WHOLE_COST_HEADER not in response.headers


def test_only_the_newest_records_are_kept_under_ids_of_this_process() -> None:
    costs = StreamedCosts(max_kept=2)
    ids = [costs.new_path()[0] for _ in range(3)]
    for cost_id in ids:
        costs.record(cost_id, b"rows=1 app_ms=1.000")
    kept = "rows=1 app_ms=1.000"
    assert [costs.take(cost_id) for cost_id in ids] == [None, kept, kept]
    assert len(set(ids)) == 3 and all(cost_id.startswith(f"{os.getpid()}-") for cost_id in ids)


async def test_the_app_answers_an_unknown_id_with_a_404_that_says_why(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/streamed-costs/0-0")
    assert response.status_code == 404
    assert "another process served it" in response.json()["detail"]
