"""How the report writes numbers: 3 significant digits, ratios with their CIs, "–" for none."""

import math
from collections.abc import Mapping
from typing import Any

from pairbench.results import is_finite

DASH = "–"


def format_number(value: float) -> str:
    """A number (ms, req/s, counts per request) to 3 significant digits, never as 1e+03."""
    if not is_finite(value):
        return DASH
    if value == 0:
        return "0"
    decimals = 2 - math.floor(math.log10(abs(value)))
    return f"{round(value, decimals):,.{max(decimals, 0)}f}"


def format_ratio(ratio: float, low: float, high: float, baseline: bool = False) -> str:
    """A ratio with its CI, as "3.10x [2.80, 3.40]"; a baseline's as "1.00x"."""
    if not is_finite(ratio):
        return DASH
    if baseline or not (is_finite(low) and is_finite(high)):
        return f"{ratio:.2f}x"
    return f"{ratio:.2f}x [{low:.2f}, {high:.2f}]"


DIFFERENT_ANSWER = "(different answer)"


def format_speedup(row: Mapping[str, Any], prefix: str = "speedup") -> str:
    """A summary row's speedup (p50 by default; "speedup_p95", "speedup_rps") with its CI."""
    column = "speedup_p50" if prefix == "speedup" else prefix
    text = format_ratio(
        row.get(column, math.nan),
        row.get(f"{prefix}_ci_low", math.nan),
        row.get(f"{prefix}_ci_high", math.nan),
        bool(row.get("baseline", False)),
    )
    # A faster different answer is no optimization: said beside the figure, wherever it is
    # (`pairbench ab --allow-different` measures one on purpose).
    return text if row.get("equivalent", True) else f"{text} {DIFFERENT_ANSWER}"


def format_count(value: float) -> str:
    """A whole count with thousands separators."""
    return f"{value:,.0f}" if is_finite(value) else DASH


def format_per_request(value: float) -> str:
    """A mean count per request (queries, commands, calls): "51", "1.5", "0.333"."""
    if not is_finite(value):
        return DASH
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_percent(value: float) -> str:
    """A fraction as a percentage with 2 decimals."""
    return f"{value:.2%}" if is_finite(value) else DASH


def format_bytes(value: float) -> str:
    """A size in B, kB or MB (powers of 1000), 3 significant digits."""
    if not is_finite(value):
        return DASH
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= scale:
            return f"{format_number(value / scale)} {unit}"
    return f"{value:.0f} B"


def format_duration_us(value: float) -> str:
    """A duration given in microseconds, in µs, ms or s as fits."""
    if not is_finite(value):
        return DASH
    for unit, scale in (("s", 1e6), ("ms", 1e3)):
        if abs(value) >= scale:
            return f"{format_number(value / scale)} {unit}"
    return f"{format_number(value)} µs"


def format_p_value(value: float) -> str:
    """A p-value, "< 0.001" below that; "–" when the test did not apply."""
    if not is_finite(value):
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


FILTERS = {
    "number": format_number,
    "speedup": format_speedup,
    "ratio": format_ratio,
    "integer": format_count,
    "per_request": format_per_request,
    "percent": format_percent,
    "size": format_bytes,
    "duration_us": format_duration_us,
    "p_value": format_p_value,
}
