"""What the report shows of one technique: tables and charts, built from a run's files.

Everything generic: a technique is known by its summary rows, its samples, and (when
still registered) its declaration; no technique gets code of its own here.
"""

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from bench_app.technique import Technique
from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.report import charts
from pairbench.report.charts_growth import growth_svg
from pairbench.report.charts_timeline import latency_over_time_svg
from pairbench.report.code_view import capture_sources, highlighted
from pairbench.report.leaderboard import SLO_CACHE_HIT_RATE, cache_hit_rate, cost_name, slo
from pairbench.stats.growth import fit_growth, sweep_series
from pairbench.stats.stability import MEASURE_PHASE

# The server cost table shows these always, and any other metered cost a technique uses.
ALWAYS_SHOWN = (
    "queries_per_request",
    "db_ms_per_request",
    "app_ms_per_request",
    "bytes_per_request",
)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(name): value for name, value in row.items()} for row in frame.to_dict("records")]


def ordered(names: Sequence[str], preferred: Sequence[str]) -> list[str]:
    """`names` with those in `preferred` first, in its order, then the rest as found."""
    return [name for name in preferred if name in names] + [
        name for name in names if name not in preferred
    ]


def point_order(labels: Sequence[str], default: str | None) -> list[str]:
    """The default point first, then sweep points by their values when all are numeric."""
    rest = [label for label in labels if label != default]
    numeric: list[list[float]] = []
    for label in rest:
        try:
            numeric.append([float(part.partition("=")[2]) for part in label.split(",")])
        except ValueError:
            numeric = []
            break
    if numeric:
        rest = [label for _, label in sorted(zip(numeric, rest, strict=True))]
    return ([default] if default is not None and default in labels else []) + rest


def default_point(run: results.Run, key: str, labels: Sequence[str]) -> str | None:
    """The point at the technique's default parameters, as the plan recorded it."""
    for point in run.manifest.get("points", {}).get(key, []):
        if not point.get("swept") and point.get("label") in labels:
            return str(point["label"])
    return labels[0] if labels else None


def successful_samples(run: results.Run, key: str, point: str, mode: str) -> pd.DataFrame:
    samples = results.target_requests(run.samples)
    return samples[
        (samples["technique"] == key) & (samples["point"] == point) & (samples["mode"] == mode)
        & (samples["phase"] == MEASURE_PHASE) & (samples["dropped"] != 1)
        & (samples["status"] > 0) & (samples["status"] < 400)
    ]  # fmt: skip


def _load_view(
    run: results.Run, key: str, point: str, mode: str, rows: list[dict[str, Any]],
    colors: dict[str, str], timeline: bool,
) -> dict[str, Any]:  # fmt: skip
    """One point under one load mode: its rows and charts."""
    frame = successful_samples(run, key, point, mode)
    salt, at = f"{key}-{point}-{mode}", f" at {point}" if point else ""
    latencies = {
        variant: frame.loc[frame["variant"] == variant, "latency_ms"].to_numpy(dtype=float)
        for variant in colors
    }
    svgs = []
    if mode == results.OPEN:
        series = []
        for variant, color in colors.items():
            part = frame[frame["variant"] == variant]
            service = (part["latency_ms"] - part["send_lag_ms"].fillna(0.0)).to_numpy(dtype=float)
            series.append(
                charts.Series(f"{variant}, from intended send", latencies[variant], color)
            )
            series.append(charts.Series(f"{variant}, from actual send", service, color, True))
        title = (
            f"Open loop{at}: latency from the intended send time (solid) vs from the actual send"
        )
        svgs.append(charts.percentile_curves_svg(series, title, f"{salt}-pct"))
    else:
        title = f"Latency by percentile{at}, closed loop"
        svgs.append(charts.latency_percentiles_svg(latencies, title, f"{salt}-pct", colors))
        bars = [(r["variant"], r["rps"], r["rps_ci_low"], r["rps_ci_high"]) for r in rows]
        svgs.append(
            charts.bars_svg(
                bars,
                f"Throughput{at} with 95% CI",
                "requests per second",
                f"{salt}-rps",
                [colors.get(str(bar[0]), "#333") for bar in bars],
            )  # fmt: skip
        )
    if timeline:
        title = f"Latency over time{at}, {mode} loop (interleaved segments; warm-up excluded)"
        svgs.append(latency_over_time_svg(frame, colors, title, f"{salt}-time"))
    for row in rows:
        row["slo"] = slo(row)
        row["cache_hit_rate"] = rate = cache_hit_rate(row)
        row["cache_slo"] = (
            "" if math.isnan(rate) else "met" if rate > SLO_CACHE_HIT_RATE else "missed"
        )
    return {"mode": mode, "rows": rows, "charts": [Markup(svg) for svg in svgs]}


def _time_split_svg(run: results.Run, key: str, point: str, rows: list[dict[str, Any]]) -> Markup:
    """Each variant's time split: from the uncontended probe if the run has one, else the load.

    Under load the meter's DB time includes waiting for the event loop, so the probe's
    one-request-at-a-time medians are the honest split; the load means are the fallback.
    """
    probe = run.probe[(run.probe["technique"] == key) & (run.probe["point"] == point)]
    at = f" at {point}" if point else ""
    if len(probe):
        medians = probe.groupby("variant", sort=False)[["db_ms", "app_ms", "latency_ms"]].median()
        splits = {
            str(variant): charts.time_split(row["db_ms"], row["app_ms"], row["latency_ms"])
            for variant, row in medians.iterrows()
        }
        how = "one request at a time (median)"
    else:
        splits = {
            str(row["variant"]): charts.time_split(
                float(row["db_ms_per_request"]),
                float(row["app_ms_per_request"]),
                float(row["mean_ms"]),
            )  # fmt: skip
            for row in rows
        }
        how = "under load (mean per request)"
    variants = ordered(list(splits), [str(row["variant"]) for row in rows])
    title = f"Where the time goes{at}, {how}"
    return Markup(
        charts.time_breakdown_svg({v: splits[v] for v in variants}, title, f"{key}-{point}-split")
    )


def _growth_view(
    run: results.Run, key: str, growth: pd.DataFrame, costs: dict[tuple[str, str], float],
    colors: dict[str, str],
) -> list[dict[str, Any]]:  # fmt: skip
    """Per swept parameter: the cost-vs-work chart and its one-line fits."""
    views = []
    for parameter, pairs in sweep_series(run.manifest.get("points", {}).get(key, [])).items():
        measured = {
            variant: [
                (value, costs[(variant, label)])
                for label, value in pairs
                if (variant, label) in costs
            ]
            for variant in colors
        }
        fits = {
            variant: fit_growth([x for x, _ in m], [y for _, y in m])
            for variant, m in measured.items()
        }
        rows = growth[growth["parameter"] == parameter] if len(growth) else growth
        title = f"Cost as {parameter} grows (dashed: fitted line)"
        svg = growth_svg(parameter, measured, fits, colors, title, f"{key}-{parameter}-growth")
        views.append(
            {
                "parameter": parameter,
                "sentences": [str(text) for text in rows["sentence"]] if len(rows) else [],
                "source": str(rows["source"].iloc[0]) if len(rows) else "",
                "svg": Markup(svg),
            }
        )
    return views


def _code_view(
    run: results.Run, technique: Technique | None, key: str, order: list[str]
) -> list[dict[str, Any]]:
    sources = run.code.get(key) or (capture_sources([technique])[key] if technique else {})
    return [
        {"variant": variant, "html": highlighted(sources[variant])}
        for variant in order
        if variant in sources
    ]


def _point_view(
    run: results.Run,
    key: str,
    label: str,
    rows: pd.DataFrame,
    colors: dict[str, str],
    default: bool,
) -> dict[str, Any]:
    """One point of a technique: a load view per mode it was measured in, and its costs."""
    modes = [mode for mode in results.MODES if (rows["mode"] == mode).any()]
    loads = [
        _load_view(run, key, label, mode, records(rows[rows["mode"] == mode]), colors, default)
        for mode in modes
    ]
    cost_rows = list(loads[0]["rows"]) if loads else []
    return {
        "point": label,
        "loads": loads,
        "cost_rows": cost_rows,
        "split_svg": _time_split_svg(run, key, label, cost_rows),
    }


def _cost_columns(rows: pd.DataFrame) -> dict[str, str]:
    """The cost table's columns: the usual ones, and any other the technique meters."""
    return {
        column: cost_name(column)[:1].upper() + cost_name(column)[1:]
        for column in rows.columns
        if str(column).endswith("_per_request")
        and (column in ALWAYS_SHOWN or (rows[column].fillna(0) != 0).any())
    }


def _uses_cache(rows: pd.DataFrame) -> bool:
    """Whether any variant looked anything up in a metered cache."""
    columns = [c for c in ("cache_hits_per_request", "cache_misses_per_request") if c in rows]
    return bool(columns) and bool((rows[columns].fillna(0) > 0).to_numpy().any())


def _equivalence_view(run: results.Run, key: str, order: list[str]) -> list[dict[str, Any]]:
    checked = run.equivalence.get(key, {})
    return [
        {
            "variant": variant,
            "equivalent": bool(checked.get(variant, {}).get("equivalent", False)),
            "detail": str(checked.get(variant, {}).get("detail", "not checked")),
        }
        for variant in ordered(list(checked), order)
    ]


def _declared(technique: Technique | None, key: str) -> dict[str, Any]:
    """What the registry says of a technique (blank for one since removed)."""
    return {
        "title": technique.title if technique else key,
        "area": technique.area if technique else "",
        "summary": technique.summary if technique else "",
        "guide_section": technique.guide_section if technique else "",
        "proof": technique.proof if technique else "",
        "caveats": technique.caveats if technique else "",
        "registered": technique is not None,
    }


def technique_view(
    run: results.Run,
    key: str,
    rows: pd.DataFrame,
    micro: pd.DataFrame,
    growth: pd.DataFrame,
    costs: dict[tuple[str, str], float],
    warnings: list[str],
) -> dict[str, Any]:
    """Text, code, charts and tables of one technique; its text from the registry if there."""
    technique = all_techniques().get(key)
    order = ordered(
        list(dict.fromkeys(rows["variant"])), list(technique.variants) if technique else []
    )
    colors = charts.variant_colors(order)
    rows = rows.sort_values("variant", key=lambda names: names.map(order.index), kind="stable")
    labels = [str(label) for label in dict.fromkeys(rows["point"])]
    default = default_point(run, key, labels)
    artifacts_path = run.directory / results.ARTIFACTS / f"{key}.json"
    artifacts = results.read_json(artifacts_path) if artifacts_path.exists() else {}
    micro_rows = records(micro[micro["technique"] == key]) if len(micro) else []
    position = {variant: index for index, variant in enumerate(order)}
    return {
        "key": key,
        **_declared(technique, key),
        "variants": order,
        "colors": colors,
        "default_point": default,
        "points": [
            _point_view(run, key, label, rows[rows["point"] == label], colors, label == default)
            for label in point_order(labels, default)
        ],
        "cost_columns": _cost_columns(rows),
        "caches": _uses_cache(rows),
        "code": _code_view(run, technique, key, order),
        "growth": _growth_view(run, key, growth, costs, colors) if len(growth) else [],
        "micro": sorted(micro_rows, key=lambda row: position.get(row["variant"], len(order))),
        "artifacts": {str(name): str(text) for name, text in artifacts.items()},
        "equivalence": _equivalence_view(run, key, order),
        "warnings": warnings,
    }


def headline_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    """A section's headline: its default point, closed loop if measured, else open loop."""
    for point in section["points"]:
        if point["point"] == section["default_point"] and point["loads"]:
            return list(point["loads"][0]["rows"])
    return []
