"""The bandwidth table of a technique that encodes its responses: on which links it pays.

Reads the stats stage's bandwidth.csv rows (pairbench.stats.bandwidth); computes nothing.
"""

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from pairbench.report.formatting import DASH, format_bytes, format_number
from pairbench.stats.bandwidth import LINKS_MBIT_S

LINK_NAMES = {"10mbit": "10 Mbit/s", "100mbit": "100 Mbit/s", "1gbit": "1 Gbit/s"}


def link_speed(mbit_s: float) -> str:
    """A break-even bandwidth in words: "820 Mbit/s", "1.5 Gbit/s", "any link", "no link"."""
    if math.isnan(mbit_s):
        return DASH
    if math.isinf(mbit_s):
        return "any link"
    if mbit_s <= 0:
        return "no link"
    if mbit_s >= 1000:
        return f"{format_number(mbit_s / 1000)} Gbit/s"
    return f"{format_number(mbit_s)} Mbit/s"


def net_saving(ms: float) -> str:
    """Time saved per request, as "saves 12.3 ms" or "costs 0.41 ms"."""
    if not math.isfinite(ms):
        return DASH
    return f"saves {format_number(ms)} ms" if ms >= 0 else f"costs {format_number(-ms)} ms"


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "break_even": link_speed(float(row["break_even_mbit_s"])),
        "savings": [net_saving(float(row[f"net_saving_ms_{link}"])) for link in LINKS_MBIT_S],
    }


def _sentence(rows: Sequence[dict[str, Any]]) -> str:
    """The variant that pays on the most links, in one sentence."""
    encoded = [row for row in rows if not row["baseline"] and row["bytes_saved"] > 0]
    if not encoded:
        return "No variant sent fewer bytes than the baseline here: no link makes it pay."
    best = max(encoded, key=lambda row: float(row["break_even_mbit_s"]))
    return (
        f"{best['variant']} sends {format_bytes(best['bytes_saved'])} fewer per request for "
        f"{format_number(best['encode_ms_added'])} ms more encoder time: it pays on links "
        f"slower than {link_speed(float(best['break_even_mbit_s']))}."
    )


def bandwidth_view(rows: pd.DataFrame, points: Sequence[str], variants: Sequence[str]) -> list[Any]:
    """Per point (in `points` order), its rows (in `variants` order) and a summary sentence."""
    views = []
    for point in points:
        chosen = rows[rows["point"].astype(str) == point]
        if not len(chosen):
            continue
        found = {
            str(row["variant"]): _row({str(name): value for name, value in row.items()})
            for row in chosen.to_dict("records")
        }
        ordered = [found[name] for name in variants if name in found]
        ordered += [row for name, row in found.items() if name not in variants]
        views.append(
            {
                "point": point,
                "rows": ordered,
                "sentence": _sentence(ordered),
                "source": str(ordered[0]["source"]),
            }
        )
    return views
