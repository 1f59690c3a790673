"""Each app process's single-flight maps for the stampede variants, kept on app.state.

A flight collapses the callers of one process, so the maps live as long as the process
(the app's lifespan), one per variant that uses one, so variants never share a flight.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from bench_app.single_flight import SingleFlight


class Flights:
    """This process's single-flight maps, one per variant that uses one."""

    def __init__(self) -> None:
        self.in_process = SingleFlight[bytes]()
        self.across_processes = SingleFlight[bytes]()


def get_flights(request: Request) -> Flights:
    flights: Flights = request.app.state.stampede_flights
    return flights


FlightsDep = Annotated[Flights, Depends(get_flights)]


@asynccontextmanager
async def flights_lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.stampede_flights = Flights()
    yield
