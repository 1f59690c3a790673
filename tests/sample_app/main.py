"""A small shop API, the kind of app pairbench's users bring: nothing here knows pairbench.

`/totals/*` answer every customer's order count and amount. `per-customer-scan` is the
common mistake (for each customer, scan every order: customers x orders comparisons);
`indexed` groups the orders in one pass. `from-orders` is the tempting shortcut that is
wrong: grouping alone forgets the customers with no orders. Each answer carries the time
it was made (`generated_at`), which differs by design. With DATABASE_URL set, the orders
are in PostgreSQL too, for the N+1 pair in tests.sample_app.orders.

    .venv/bin/pairbench ab --app tests.sample_app.main:app \
        /totals/per-customer-scan /totals/indexed --ignore generated_at
"""

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache

from fastapi import FastAPI, Query
from pydantic import BaseModel

from pairbench.metering import CostHeaderMiddleware
from tests.sample_app import orders as stored_orders

ORDERS_PER_CUSTOMER = 10  # on average; some customers have none
SEED = 24


class Order(BaseModel):
    customer_id: int
    amount_cents: int


class CustomerTotal(BaseModel):
    customer_id: int
    orders: int
    amount_cents: int


class Totals(BaseModel):
    generated_at: str
    customers: list[CustomerTotal]


@lru_cache(maxsize=16)
def shop(customers: int) -> tuple[list[int], list[Order]]:
    """The shop's customers and orders (the same for the same size): a fifth of the
    customers never ordered."""
    chooser = random.Random(SEED)
    buyers = [customer for customer in range(customers) if customer % 5 != 4]
    orders = [
        Order(customer_id=chooser.choice(buyers), amount_cents=chooser.randint(100, 20_000))
        for _ in range(customers * ORDERS_PER_CUSTOMER)
    ]
    return list(range(customers)), orders


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The orders in PostgreSQL too, if DATABASE_URL says where (tests.sample_app.orders)."""
    ids, orders = shop(stored_orders.STORED_CUSTOMERS)
    rows = [(order.customer_id, order.amount_cents) for order in orders]
    async with stored_orders.stored(ids, rows):
        yield


app = FastAPI(title="sample shop", lifespan=lifespan)
app.add_middleware(CostHeaderMiddleware)  # each answer's costs in its x-cost header
app.include_router(stored_orders.router)

CustomersParameter = Query(100, ge=1, le=2000, description="how many customers the shop has")


def now() -> str:
    return datetime.now(UTC).isoformat()


@app.get("/totals/per-customer-scan")
def per_customer_scan(customers: int = CustomersParameter) -> Totals:
    """Every customer's totals, scanning all orders once per customer."""
    ids, orders = shop(customers)
    totals = []
    for customer_id in ids:
        mine = [order for order in orders if order.customer_id == customer_id]
        totals.append(
            CustomerTotal(
                customer_id=customer_id,
                orders=len(mine),
                amount_cents=sum(order.amount_cents for order in mine),
            )
        )
    return Totals(generated_at=now(), customers=totals)


@app.get("/totals/indexed")
def indexed(customers: int = CustomersParameter) -> Totals:
    """Every customer's totals, grouping the orders in one pass first."""
    ids, orders = shop(customers)
    counts = dict.fromkeys(ids, 0)
    amounts = dict.fromkeys(ids, 0)
    for order in orders:
        counts[order.customer_id] += 1
        amounts[order.customer_id] += order.amount_cents
    totals = [
        CustomerTotal(
            customer_id=customer_id, orders=counts[customer_id], amount_cents=amounts[customer_id]
        )
        for customer_id in ids
    ]
    return Totals(generated_at=now(), customers=totals)


@app.get("/totals/from-orders")
def from_orders(customers: int = CustomersParameter) -> Totals:
    """Totals grouped from the orders alone: fast, and wrong (customers without orders vanish)."""
    _, orders = shop(customers)
    counts: dict[int, int] = {}
    amounts: dict[int, int] = {}
    for order in orders:
        counts[order.customer_id] = counts.get(order.customer_id, 0) + 1
        amounts[order.customer_id] = amounts.get(order.customer_id, 0) + order.amount_cents
    totals = [
        CustomerTotal(
            customer_id=customer_id, orders=counts[customer_id], amount_cents=amounts[customer_id]
        )
        for customer_id in sorted(counts)
    ]
    return Totals(generated_at=now(), customers=totals)
