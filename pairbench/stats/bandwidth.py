"""What encoding a response is worth on a real link, from its metered bytes and encoder time.

On loopback a byte costs next to nothing, so compression only ever adds latency there.
The answer a reader needs is the link speed at which it starts to pay. Putting B bytes
on a link of R bit/s takes 8B/R seconds; a variant that sends dB fewer bytes than its
baseline for dt more encoder time wins on links slower than the break-even bandwidth
R* = 8 dB / dt, and on a link of R it saves 8 dB / R - dt per request (negative: it costs).

Only the time to put the bytes on the link is modelled: round trips and TCP slow start
(which favour smaller bodies further), packet granularity and the client's decoding
time are not. Costs are per variant and point: medians of the uncontended probe (one
request at a time, where encoder time is CPU time), else the load's means.
"""

import math

import numpy as np
import pandas as pd

from pairbench import results
from pairbench.stats.requests import answered

LINKS_MBIT_S = {"10mbit": 10.0, "100mbit": 100.0, "1gbit": 1000.0}
METERED = ("body_bytes", "wire_bytes", "encode_ms")  # the meter's encoding costs
BANDWIDTH_COLUMNS = [
    "technique",
    "point",
    "variant",
    "baseline",
    "body_bytes",
    "wire_bytes",
    "wire_ratio",
    "encode_ms",
    "bytes_saved",
    "encode_ms_added",
    "break_even_mbit_s",
    *(f"net_saving_ms_{link}" for link in LINKS_MBIT_S),
    "source",
]
PROBE_SOURCE, LOAD_SOURCE = "probe median", "load mean"


def break_even_mbit_s(bytes_saved: float, encode_ms_added: float) -> float:
    """The link speed below which sending fewer bytes outweighs the added encoder time.

    inf: it saves bytes for no added time, so it wins on any link; 0: it saves no bytes,
    so it wins on none.
    """
    if not (math.isfinite(bytes_saved) and math.isfinite(encode_ms_added)):
        return math.nan
    if bytes_saved <= 0:
        return 0.0
    if encode_ms_added <= 0:
        return math.inf
    return bytes_saved * 8 / (encode_ms_added / 1000) / 1e6


def net_saving_ms(bytes_saved: float, encode_ms_added: float, mbit_s: float) -> float:
    """Time saved per request on a link of `mbit_s`: transfer time saved minus encoder time."""
    return bytes_saved * 8 / (mbit_s * 1e6) * 1000 - encode_ms_added


def _probe_costs(probe: pd.DataFrame) -> pd.DataFrame:
    if not len(probe) or not set(METERED) <= set(probe.columns):
        return pd.DataFrame(columns=["technique", "point", "variant", *METERED])
    probe = answered(probe)
    metered = probe[probe["wire_bytes"].notna()]
    grouped = metered.groupby(["technique", "point", "variant"], sort=False)[list(METERED)]
    return grouped.median().reset_index().assign(source=PROBE_SOURCE)


def _load_costs(summary: pd.DataFrame) -> pd.DataFrame:
    columns = {f"{name}_per_request": name for name in METERED}
    if not len(summary) or not set(columns) <= set(summary.columns):
        return pd.DataFrame(columns=["technique", "point", "variant", *METERED])
    closed_first = summary.sort_values("mode", key=lambda mode: mode != results.CLOSED)
    rows = closed_first.drop_duplicates(["technique", "point", "variant"]).rename(columns=columns)
    rows = rows[rows["wire_bytes"].notna()]
    return rows[["technique", "point", "variant", *METERED]].assign(source=LOAD_SOURCE)


def bandwidth_table(
    probe: pd.DataFrame, summary: pd.DataFrame, baselines: dict[str, str]
) -> pd.DataFrame:
    """One row per technique x point x variant whose responses meter their encoding."""
    probed = _probe_costs(probe)
    loaded = _load_costs(summary)
    key = ["technique", "point", "variant"]
    if len(probed) and len(loaded):
        known = pd.MultiIndex.from_frame(probed[key])
        loaded = loaded[~pd.MultiIndex.from_frame(loaded[key]).isin(known)]
    costs = pd.concat([frame for frame in (probed, loaded) if len(frame)] or [probed])
    rows = []
    for (technique, point), group in costs.groupby(["technique", "point"], sort=False):
        base_name = baselines.get(str(technique))
        found = {str(row["variant"]): row for row in group.to_dict("records")}
        base = found.get(str(base_name))
        if base is None:
            continue
        for variant, row in found.items():
            body, wire, encode = (float(row[name]) for name in METERED)
            saved = float(base["wire_bytes"]) - wire
            added = encode - float(base["encode_ms"])
            rows.append(
                {
                    "technique": technique,
                    "point": point,
                    "variant": variant,
                    "baseline": variant == base_name,
                    "body_bytes": body,
                    "wire_bytes": wire,
                    "wire_ratio": wire / body if body > 0 else np.nan,
                    "encode_ms": encode,
                    "bytes_saved": saved,
                    "encode_ms_added": added,
                    "break_even_mbit_s": break_even_mbit_s(saved, added),
                    **{
                        f"net_saving_ms_{link}": net_saving_ms(saved, added, mbit_s)
                        for link, mbit_s in LINKS_MBIT_S.items()
                    },
                    "source": row["source"],
                }
            )
    return pd.DataFrame(rows, columns=BANDWIDTH_COLUMNS)
