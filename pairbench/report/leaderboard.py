"""The top of the report: every technique in one line, its best variant and how sure we are.

A line says which variant won, by how much (with its CI and verdict), the deterministic
proof of why ("queries 51 -> 1", measured, not declared), and whether each variant met
the seed's SLOs. Noise-free counts and noisy timings side by side are the point. Where
the workload is mixed, the line also says what the best variant did for the other
requests (bystanders), which is where some techniques' gain lies.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench_app.headline import FIGURE_UNITS, GROWTH_FIGURES
from pairbench.report.formatting import DASH, format_bytes, format_per_request, format_ratio
from pairbench.results import as_float
from pairbench.slo import DEFAULT_SLOS, Slos
from pairbench.stats.significance import FASTER, SLOWER
from pairbench.stats.slo import SloCheck, slo_checks, slo_status

COST_NAMES = {  # summary column -> what it counts, where the column name is not plain enough
    "db_ms_per_request": "DB ms",
    "connections_per_request": "new DB connections",
    "db_bytes_per_request": "DB bytes",
    "redis_round_trips_per_request": "Redis round trips",
    "redis_commands_per_request": "Redis commands",
    "redis_blocking_scans_per_request": "Redis blocking scans (KEYS)",
    "bytes_per_request": "bytes sent",
    "body_bytes_per_request": "body bytes before encoding",
    "wire_bytes_per_request": "wire bytes (server)",
    "encode_ms_per_request": "encode ms",
}
# Timings are noisy and cache hits grow as misses shrink: neither proves anything alone.
# The server's wire bytes repeat the client's bytes sent.
NOT_PROOF = (
    "db_ms_per_request",
    "app_ms_per_request",
    "encode_ms_per_request",
    "cache_hits_per_request",
    "wire_bytes_per_request",
)


def cost_name(column: str) -> str:
    """A summary cost column as words: "queries_per_request" -> "queries"."""
    return COST_NAMES.get(column, column.removesuffix("_per_request").replace("_", " "))


def _is_size(column: str) -> bool:
    return column.endswith("bytes_per_request")


MIN_PROOF_CHANGE = 0.05  # relative change below which a count "did not change"
MIN_PROOF_SIZE = 0.05  # and a change of log((after + 1) / (before + 1)) below this
Row = Mapping[str, Any]


def _value(row: Row, column: str) -> float:
    return as_float(row.get(column))


def _check_text(check: SloCheck) -> str:
    if check.name in ("p95_ms", "p99_ms"):
        return f"{check.name.removesuffix('_ms')} {check.value:.3g} ms"
    if check.name == "error_rate":
        return f"errors {check.value:.2%}"
    if check.name == "memory_share":
        return f"memory {check.value:.0%} of available"
    return f"cache hits {check.value:.0%}"


def slo(row: Row, slos: Slos = DEFAULT_SLOS) -> dict[str, Any]:
    """Whether a variant met the run's SLOs: {"status": met|missed|no data, "detail": ...}."""
    checks = slo_checks(row, slos)
    if not checks:
        return {"status": slo_status(row, slos), "detail": "no successful requests"}
    detail = ", ".join(_check_text(check) for check in checks)
    return {"status": slo_status(row, slos), "detail": detail}


def _format_cost(column: str, value: float) -> str:
    return format_bytes(value) if _is_size(column) else format_per_request(value)


def measured_proof(baseline: Row, best: Row, limit: int = 2) -> str:
    """The counts that changed most from baseline to best, as "queries 51 -> 1; rows ..."."""
    changes = []
    columns = [column for column in baseline if str(column).endswith("_per_request")]
    for column in (column for column in columns if column not in NOT_PROOF):
        name = cost_name(column)
        before, after = _value(baseline, column), _value(best, column)
        if not (math.isfinite(before) and math.isfinite(after)) or before == after:
            continue
        if abs(after - before) <= MIN_PROOF_CHANGE * max(abs(before), abs(after)):
            continue
        # Counts per request change by whole units that matter: +1 keeps 0 -> 0.008 (a pool
        # growing now and then) from outranking 51 -> 1.
        size = abs(math.log((abs(after) + 1.0) / (abs(before) + 1.0)))
        if size < MIN_PROOF_SIZE:
            continue
        text = f"{name} {_format_cost(column, before)} → {_format_cost(column, after)}"
        changes.append((size, text))
    changes.sort(key=lambda change: -change[0])
    return "; ".join(text for _, text in changes[:limit]) or "no metered count changed"


def headline_speedup(row: Row) -> float:
    """A row's speedup on its technique's headline figure (p50 for runs from before them)."""
    speedup = _value(row, "headline_speedup")
    return speedup if math.isfinite(speedup) else _value(row, "speedup_p50")


def best_variant(rows: Sequence[Row]) -> Row | None:
    """The equivalent non-baseline variant with the highest headline speedup; None if there
    is none: a variant whose answer differed is never a technique's best. (Rows without an
    `equivalent` figure, a workload's other request kinds, are judged by speed alone.)"""
    equivalent = [row for row in rows if not row.get("baseline") and row.get("equivalent", True)]
    if not equivalent:
        return None

    def score(row: Row) -> float:
        speedup = headline_speedup(row)
        return speedup if math.isfinite(speedup) else -math.inf

    return max(equivalent, key=score)


def of_equivalent_variants(rows: Sequence[Row], kinds: Sequence[Row]) -> list[Row]:
    """The kinds' rows of variants whose answers matched (`rows`: the technique's rows)."""
    wrong = {row.get("variant") for row in rows if not row.get("equivalent", True)}
    return [kind for kind in kinds if kind.get("variant") not in wrong]


def other_kinds(kinds: Sequence[Row]) -> list[dict[str, Any]]:
    """Per other request kind of a mixed workload (e.g. "bystander"): the variant that served
    it best (highest p50 speedup of that kind) and the baseline's row of that kind."""
    found = []
    for name in dict.fromkeys(str(row.get("name", "")) for row in kinds):
        rows = [row for row in kinds if str(row.get("name", "")) == name]
        baseline = next((row for row in rows if row.get("baseline")), None)
        best = best_variant(rows)
        if baseline is not None and best is not None:
            found.append({"name": name, "best": best, "baseline": baseline})
    return found


def _kind_text(kind: Mapping[str, Any]) -> str:
    """'bystander: cpu_offloaded_to_process p50 12.00x [..] faster, p99 48.1 -> 1.2 ms'."""
    best, baseline = kind["best"], kind["baseline"]
    low, high = _value(best, "speedup_ci_low"), _value(best, "speedup_ci_high")
    return (
        f"{kind['name']}: {best.get('variant')} p50 {_value(best, 'speedup_p50'):.2f}x "
        f"[{low:.2f}, {high:.2f}] {best.get('verdict')}, "
        f"p99 {_value(baseline, 'p99_ms'):.3g} -> {_value(best, 'p99_ms'):.3g} ms"
    )


def _figure(value: float, figure: str) -> str:
    if not math.isfinite(value):
        return DASH  # not measured (a shared app's memory, say)
    unit = FIGURE_UNITS.get(figure, "ms")
    if unit == "B":
        return format_bytes(value)
    return f"{value:,.0f} {unit}" if abs(value) >= 1000 else f"{value:.3g} {unit}"


# A growth's verdict in words (its figure is a saving of memory, not of time)
GROWTH_VERDICTS = {FASTER: "grows less", SLOWER: "grows more"}


def _comparison(figure: str, speedup: float, low: float, high: float) -> str:
    """'3.10x [2.80, 3.40]', or for a growth what the variant saves: 'saves 20.1 MB [19.6,
    20.6]' (per 10k requests: the figure's label says)."""
    if figure not in GROWTH_FIGURES or not math.isfinite(speedup):
        return format_ratio(speedup, low, high)  # a ratio, or the dash
    unit = FIGURE_UNITS.get(figure, "")
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"saves {speedup:.3g} {unit}"
    return f"saves {speedup:.3g} {unit} [{low:.3g}, {high:.3g}]"


def headline_of(baseline: Row | None, best: Row) -> dict[str, Any]:
    """The best variant's headline: what it is ("read p99"), the speedup with its CI (for a
    growth, what it saves), the verdict, and the figure from baseline to best ("117 ms ->
    16.3 ms"); `verdict_class` is the verdict's style (faster, slower, ...)."""
    if not math.isfinite(_value(best, "headline_speedup")):  # a run from before headlines
        figure, label, column = "p50_ms", "p50", "speedup"
        speedup, verdict = _value(best, "speedup_p50"), str(best.get("verdict", ""))
    else:
        figure, label, column = str(best["headline_figure"]), str(best["headline"]), "headline"
        speedup, verdict = _value(best, "headline_speedup"), str(best.get("headline_verdict"))
    low, high = _value(best, f"{column}_ci_low"), _value(best, f"{column}_ci_high")
    before = (
        _value(baseline, "headline_value" if column == "headline" else figure)
        if baseline
        else math.nan
    )
    after = _value(best, "headline_value" if column == "headline" else figure)
    return {
        "label": label,
        "speedup": _comparison(figure, speedup, low, high),
        "verdict": GROWTH_VERDICTS.get(verdict, verdict) if figure in GROWTH_FIGURES else verdict,
        "verdict_class": verdict,
        "change": f"{_figure(before, figure)} → {_figure(after, figure)}",
    }


def leaderboard_line(
    key: str,
    title: str,
    rows: Sequence[Row],
    micro: Sequence[Row],
    warnings: int,
    kinds: Sequence[Row] = (),
    slos: Slos = DEFAULT_SLOS,
    measured_anyway: bool = False,
) -> dict[str, Any]:
    """One technique's line: rows are its headline summary rows (one point, one mode), kinds
    the rows of its workload's other requests at that point and mode. `measured_anyway`: a
    variant whose answer differed may still be the line's (a pair of `pairbench ab`, measured
    with --allow-different; every figure of it is marked)."""
    baseline = next((row for row in rows if row.get("baseline")), None)
    best = best_variant(rows)
    if best is None and measured_anyway:
        best = next((row for row in rows if not row.get("baseline")), None)
    micro_best = next(
        (row for row in micro if best is not None and row.get("variant") == best.get("variant")),
        None,
    )
    return {
        "key": key,
        "title": title,
        "best": best,
        "baseline": baseline,
        "headline": headline_of(baseline, best) if best else None,
        "proof": measured_proof(baseline, best) if baseline and best else "",
        "slos": [{"variant": row.get("variant"), **slo(row, slos)} for row in rows],
        "micro": micro_best,
        "warnings": warnings,
        "kinds": other_kinds(of_equivalent_variants(rows, kinds)),
        "not_equivalent": [row.get("variant") for row in rows if not row.get("equivalent", True)],
    }


def headline_text(key: str, rows: Sequence[Row], kinds: Sequence[Row] = ()) -> str:
    """One line for a terminal: "n_plus_one: joined vs naive: p50 3.59x [3.37, 3.76] faster...",
    then what the workload's other requests (bystanders) saw."""
    baseline, best = next((row for row in rows if row.get("baseline")), None), best_variant(rows)
    if (
        baseline is not None
        and best is None
        and any(not row.get("equivalent", True) for row in rows)
    ):
        return f"{key}: no variant answered as {baseline.get('variant')} did: NOT EQUIVALENT"
    if baseline is None or best is None:
        return f"{key}: not enough data for a comparison"
    headline = headline_of(baseline, best)
    low, high = _value(best, "speedup_ci_low"), _value(best, "speedup_ci_high")
    p50 = (
        ""
        if headline["label"] == "p50"
        else f"p50 {_value(best, 'speedup_p50'):.2f}x [{low:.2f}, {high:.2f}], "
    )
    return (
        f"{key}: {best.get('variant')} vs {baseline.get('variant')}: "
        f"{headline['label']} {headline['speedup']} {headline['verdict']} "
        f"({headline['change'].replace('→', '->')}), {p50}"
        f"p95 {_value(best, 'speedup_p95'):.2f}x, throughput {_value(best, 'speedup_rps'):.2f}x; "
        f"{measured_proof(baseline, best)}"
        + "".join(
            f"; {_kind_text(kind)}" for kind in other_kinds(of_equivalent_variants(rows, kinds))
        )
    )
