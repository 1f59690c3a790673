"""The shop's orders kept in PostgreSQL (DATABASE_URL): the N+1 mistake and its fix,
metered by pairbench's middleware, installed as a user installs it in their own app.

`/orders/per-customer` asks for the customers, then for each customer's totals: 1 + N
statements. `/orders/grouped` asks once, grouping in the database. The same answer.
Without DATABASE_URL both answer 503.
"""

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pairbench.metering import meter_engine

SCHEMA = "sample_shop"
STORED_CUSTOMERS = 200
NO_DATABASE = "the orders live in PostgreSQL: start the app with DATABASE_URL set"
CREATE = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.customers (id integer PRIMARY KEY)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.orders (customer_id integer NOT NULL "
    f"REFERENCES {SCHEMA}.customers (id), amount_cents integer NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS orders_by_customer ON {SCHEMA}.orders (customer_id)",
)
PER_CUSTOMER = text(
    f"SELECT count(*), coalesce(sum(amount_cents), 0) FROM {SCHEMA}.orders "
    "WHERE customer_id = :customer"
)
GROUPED = text(
    f"SELECT c.id, count(o.customer_id), coalesce(sum(o.amount_cents), 0) "
    f"FROM {SCHEMA}.customers c LEFT JOIN {SCHEMA}.orders o ON o.customer_id = c.id "
    "WHERE c.id < :customers GROUP BY c.id ORDER BY c.id"
)
router = APIRouter(responses={503: {"description": NO_DATABASE}})
engines: dict[str, AsyncEngine] = {}


class OrderTotal(BaseModel):
    customer_id: int
    orders: int
    amount_cents: int


async def load(
    engine: AsyncEngine, customers: Sequence[int], orders: Sequence[tuple[int, int]]
) -> None:
    """The tables and their rows, once (two app processes may start at the same time)."""
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_advisory_xact_lock(2424)"))
        for statement in CREATE:
            await connection.execute(text(statement))
        if (await connection.execute(text(f"SELECT count(*) FROM {SCHEMA}.customers"))).scalar():
            return
        insert_customer = text(f"INSERT INTO {SCHEMA}.customers (id) VALUES (:id)")
        await connection.execute(insert_customer, [{"id": customer} for customer in customers])
        insert_order = text(f"INSERT INTO {SCHEMA}.orders VALUES (:customer, :amount)")
        rows = [{"customer": customer, "amount": amount} for customer, amount in orders]
        await connection.execute(insert_order, rows)


@asynccontextmanager
async def stored(
    customers: Sequence[int], orders: Sequence[tuple[int, int]]
) -> AsyncIterator[None]:
    """The metered engine for the app's lifetime (nothing without DATABASE_URL)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield
        return
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    meter_engine(engine)
    await load(engine, customers, orders)
    engines["shop"] = engine
    try:
        yield
    finally:
        engines.clear()
        await engine.dispose()


def database() -> AsyncEngine:
    if "shop" not in engines:
        raise HTTPException(503, NO_DATABASE)
    return engines["shop"]


CustomersParameter = Query(50, ge=1, le=STORED_CUSTOMERS, description="the first N customers")


@router.get("/orders/per-customer")
async def per_customer(customers: int = CustomersParameter) -> list[OrderTotal]:
    """Each of the first N customers' totals, one statement per customer: 1 + N statements."""
    async with database().connect() as connection:
        ids = await connection.execute(
            text(f"SELECT id FROM {SCHEMA}.customers WHERE id < :n ORDER BY id"), {"n": customers}
        )
        totals = []
        for customer_id in ids.scalars().all():
            count, amount = (
                await connection.execute(PER_CUSTOMER, {"customer": customer_id})
            ).one()
            totals.append(OrderTotal(customer_id=customer_id, orders=count, amount_cents=amount))
        return totals


@router.get("/orders/grouped")
async def grouped(customers: int = CustomersParameter) -> list[OrderTotal]:
    """Each of the first N customers' totals, grouped by the database: 1 statement."""
    async with database().connect() as connection:
        rows = await connection.execute(GROUPED, {"customers": customers})
        return [
            OrderTotal(customer_id=customer_id, orders=count, amount_cents=amount)
            for customer_id, count, amount in rows.all()
        ]
