"""A response's metered costs, read the way the harness reads them (bench_app.metering)."""

import httpx

from bench_app.metering import COST_HEADER, parse_cost_header


def costs_of(response: httpx.Response) -> dict[str, str]:
    """Every cost field of `response` as text ("" where not counted or not metered)."""
    return parse_cost_header(response.headers.get(COST_HEADER))
