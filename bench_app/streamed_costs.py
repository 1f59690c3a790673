"""The whole costs of a streamed response, kept for the client to read once its body has ended.

A response's `x-cost` header leaves before its body. For a body sent in one piece that is
no matter: the work is done by then. A streamed body (a StreamingResponse) does its work
while it is sent, so the header can only carry the costs up to the first byte (a CSV
export's query, not the rows it reads). The meter (bench_app.metering) therefore also
gives a streamed response an `x-cost-whole` header, the path where its whole costs will be,
and records them there just before the body's last piece leaves. A client that reads the
body to its end then GETs that path once. Each record lives in the process that served
the response, is read once, and only the newest MAX_KEPT are kept: a client that asks
another process, or too late, gets a 404 and knows the costs are not known.
"""

import itertools
import os
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

WHOLE_COST_HEADER = "x-cost-whole"  # on a streamed response: where its whole costs will be
WHOLE_COST_PATH = "/streamed-costs/{cost_id}"
MAX_KEPT = 1024  # records a slow or vanished client may leave behind, at most


class StreamedCosts:
    """Whole costs of this process's streamed responses, by the id their header names."""

    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        self.max_kept = max_kept
        self._costs: OrderedDict[str, str] = OrderedDict()
        self._ids = itertools.count(1)
        self._prefix = f"{os.getpid()}-"  # ids of another worker process never match here

    def new_path(self) -> tuple[str, bytes]:
        """An id for a response whose body streams, and the header that tells its client."""
        cost_id = f"{self._prefix}{next(self._ids)}"
        return cost_id, WHOLE_COST_PATH.format(cost_id=cost_id).encode()

    def record(self, cost_id: str, cost: bytes) -> None:
        """Keep a streamed response's whole costs (an `x-cost` value) as its body ends."""
        self._costs[cost_id] = cost.decode()
        while len(self._costs) > self.max_kept:
            self._costs.popitem(last=False)

    def take(self, cost_id: str) -> str | None:
        """The whole costs recorded under `cost_id`, once; None if there are none (any more)."""
        return self._costs.pop(cost_id, None)


class WholeCost(BaseModel):
    """A streamed response's whole costs, in the `x-cost` header's format."""

    cost: str


def get_streamed_costs(request: Request) -> StreamedCosts:
    costs: StreamedCosts = request.app.state.streamed_costs
    return costs


StreamedCostsDep = Annotated[StreamedCosts, Depends(get_streamed_costs)]
router = APIRouter()


@router.get(WHOLE_COST_PATH, response_model=WholeCost, include_in_schema=False)
async def streamed_cost(cost_id: str, costs: StreamedCostsDep) -> WholeCost:
    """A streamed response's whole costs, read once by the client that downloaded it."""
    cost = costs.take(cost_id)
    if cost is None:
        raise HTTPException(
            status_code=404,
            detail=f"no whole costs for {cost_id!r} in this process: its body has not ended, "
            "another process served it, or they were read or dropped already",
        )
    return WholeCost(cost=cost)
