"""Meter your own app's cost per request, as pairbench's app does: the `x-cost` header.

The convention: each response carries `x-cost: NAME=VALUE ...`, naming what the request
spent (`queries=3 db_ms=1.204 rows=40 redis_commands=2 redis_round_trips=1 app_ms=4.1`;
the fields are bench_app.metering.COST_FIELDS, a count left out is zero). Any app can
send it, in any language; `pairbench ab` and `check --against` then compare those costs,
which do not vary from run to run, beside the timings, which do. For a Python ASGI app:

    from pairbench.metering import CostHeaderMiddleware, MeteredRedis, meter_engine

    app.add_middleware(CostHeaderMiddleware)     # FastAPI / Starlette; or CostHeaderMiddleware(app)
    meter_engine(engine)                         # a SQLAlchemy Engine or AsyncEngine
    redis = MeteredRedis.from_url(REDIS_URL)     # redis-py's asyncio client, metered

SQL statements are counted with their time and rows, new connections too; Redis commands
and round trips (a pipeline or MGET is one trip). Connection set-up is not counted.
"""

import math

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench_app.metering import COST_HEADER, CostMeterMiddleware, StatementMeter, current_cost
from bench_app.redis_metering import MeteredRedis

CostHeaderMiddleware = CostMeterMiddleware  # the ASGI middleware that writes the header

__all__ = ["COST_HEADER", "CostHeaderMiddleware", "MeteredRedis", "current_cost", "meter_engine"]


def meter_engine(engine: Engine | AsyncEngine) -> None:
    """Count `engine`'s statements (their time and rows) and new connections against the
    request being served; outside a request nothing is counted."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    meter = StatementMeter(sync_engine.dialect, math.inf)
    event.listen(sync_engine, "do_execute", meter.execute)
    event.listen(sync_engine, "do_execute_no_params", meter.execute_no_params)
    event.listen(sync_engine, "do_executemany", meter.executemany)
    # Around SQLAlchemy's own "connect" listeners: set-up statements are not the request's.
    event.listen(sync_engine, "connect", meter.connecting, insert=True)
    event.listen(sync_engine, "connect", meter.connected)
