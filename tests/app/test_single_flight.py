"""Single-flight: concurrent callers of one key share one execution, its result or its error."""

import asyncio

import pytest

from bench_app.single_flight import SingleFlight


class Work:
    """Counts its runs; each run waits until released, so callers pile up meanwhile."""

    def __init__(self, result: str = "answer", error: Exception | None = None) -> None:
        self.runs = 0
        self.release = asyncio.Event()
        self.result, self.error = result, error

    async def __call__(self) -> str:
        self.runs += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.result


async def test_concurrent_callers_share_one_run() -> None:
    flights, work = SingleFlight[str](), Work()
    callers = [asyncio.create_task(flights.do("k", work)) for _ in range(50)]
    await asyncio.sleep(0)
    work.release.set()
    assert await asyncio.gather(*callers) == ["answer"] * 50
    assert work.runs == 1
    assert flights.in_flight() == 0


async def test_different_keys_run_apart() -> None:
    flights, first, second = SingleFlight[str](), Work("a"), Work("b")
    callers = [asyncio.create_task(flights.do(key, w)) for key, w in (("a", first), ("b", second))]
    await asyncio.sleep(0)
    first.release.set()
    second.release.set()
    assert await asyncio.gather(*callers) == ["a", "b"]
    assert (first.runs, second.runs) == (1, 1)


async def test_a_call_after_the_flight_landed_runs_again() -> None:
    flights, work = SingleFlight[str](), Work()
    work.release.set()
    assert await flights.do("k", work) == "answer"
    await asyncio.sleep(0)  # the landing callback
    assert await flights.do("k", work) == "answer"
    assert work.runs == 2


async def test_an_error_reaches_every_caller_and_is_not_kept() -> None:
    flights, work = SingleFlight[str](), Work(error=RuntimeError("database down"))
    callers = [asyncio.create_task(flights.do("k", work)) for _ in range(5)]
    await asyncio.sleep(0)
    work.release.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    assert work.runs == 1
    await asyncio.sleep(0)
    assert flights.in_flight() == 0


async def test_a_caller_giving_up_does_not_cancel_the_others() -> None:
    flights, work = SingleFlight[str](), Work()
    first = asyncio.create_task(flights.do("k", work))
    others = [asyncio.create_task(flights.do("k", work)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    work.release.set()
    assert await asyncio.gather(*others) == ["answer"] * 3
    assert work.runs == 1
