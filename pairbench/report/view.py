"""What the report shows of one technique: tables and charts, drawn from the stats tables.

Everything generic: a technique is known by its rows in the stats stage's tables, the
run's own files (manifest, equivalence, code, artifacts) and, when still registered,
its declaration; no technique gets code of its own here. Nothing here computes a
figure: every number comes from a table (pairbench.stats.stage.Tables).
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from bench_app.technique import Technique
from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.ab.pair import CANDIDATE
from pairbench.report import charts
from pairbench.report.bandwidth_view import bandwidth_view
from pairbench.report.charts_growth import Curve, growth_svg
from pairbench.report.charts_timeline import latency_over_time_svg, queue_depth_svg
from pairbench.report.code_view import highlighted
from pairbench.report.formatting import DIFFERENT_ANSWER
from pairbench.report.leaderboard import cost_name, slo
from pairbench.report.memory_view import load_memory_rows, memory_matters, probe_memory_rows
from pairbench.slo import DEFAULT_SLOS, Slos
from pairbench.sources import capture_sources
from pairbench.stats.curves import LATENCY, SERVICE
from pairbench.stats.growth import fit_of, sweep_series
from pairbench.stats.segment_figures import gc_pauses_differ
from pairbench.stats.slo import slo_checks
from pairbench.stats.stage import Tables

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


def point_order(
    planned: Sequence[Mapping[str, Any]], labels: Sequence[str], default: str | None
) -> list[str]:
    """The default point first, then each swept parameter's points by value (the values
    from the plan's params, as the manifest keeps them), then any other as found."""
    rest = [label for label in labels if label != default]
    swept = [
        label for pairs in sweep_series(planned).values() for label, _ in pairs if label in rest
    ]
    swept = list(dict.fromkeys(swept))
    head = [default] if default is not None and default in labels else []
    return head + swept + [label for label in rest if label not in swept]


def default_point(run: results.Run, key: str, labels: Sequence[str]) -> str | None:
    """Of the points measured (`labels`), the one at the technique's default parameters as
    the plan recorded it, else the first."""
    default = run.manifest.default_point(key)
    if default in labels:
        return default
    return labels[0] if labels else None


def curve_series(
    curves: pd.DataFrame, variant: str, series: str, label: str, color: str, dashed: bool = False
) -> charts.Series:
    """One variant's percentile curve from latency_curves.csv rows of one point and mode."""
    rows = curves[(curves["variant"] == variant) & (curves["series"] == series)]
    samples = int(rows["samples"].iloc[0]) if len(rows) else 0
    return charts.Series(
        label,
        rows["percentile"].to_numpy(dtype=float),
        rows["latency_ms"].to_numpy(dtype=float),
        samples,
        color,
        dashed,
    )


def at(table: pd.DataFrame, **where: str) -> pd.DataFrame:
    """The rows of a stats table whose columns equal the given values."""
    mask = pd.Series(True, index=table.index)
    for column, value in where.items():
        mask &= table[column].astype(str) == value
    return table[mask]


def _load_view(
    tables: Tables,
    key: str,
    point: str,
    mode: str,
    rows: list[dict[str, Any]],
    colors: dict[str, str],
    timeline: bool,
    slos: Slos,
) -> dict[str, Any]:
    """One point under one load mode: its rows and charts."""
    curves = at(tables.latency_curves, technique=key, point=point, mode=mode)
    salt, where = f"{key}-{point}-{mode}", f" at {point}" if point else ""
    svgs = []
    if mode == results.OPEN:
        series = []
        for variant, color in colors.items():
            series.append(
                curve_series(curves, variant, LATENCY, f"{variant}, from intended send", color)
            )
            series.append(
                curve_series(
                    curves, variant, SERVICE, f"{variant}, from actual send", color, dashed=True
                )
            )
        title = (
            f"Open loop{where}: latency from the intended send time (solid) vs from the actual send"
        )
        svgs.append(charts.percentile_curves_svg(series, title, f"{salt}-pct"))
    else:
        series = [curve_series(curves, v, LATENCY, v, color) for v, color in colors.items()]
        title = f"Latency by percentile{where}, closed loop"
        svgs.append(charts.percentile_curves_svg(series, title, f"{salt}-pct"))
        bars = [(r["variant"], r["rps"], r["rps_ci_low"], r["rps_ci_high"]) for r in rows]
        svgs.append(
            charts.bars_svg(
                bars,
                f"Throughput{where} with 95% CI",
                "requests per second",
                f"{salt}-rps",
                [colors.get(str(bar[0]), "#333") for bar in bars],
            )
        )
    if timeline:
        title = f"Latency over time{where}, {mode} loop (interleaved segments; warm-up excluded)"
        bins = at(tables.timeline, technique=key, point=point, mode=mode)
        svgs.append(latency_over_time_svg(bins, colors, title, f"{salt}-time"))
    for row in rows:
        row["slo"] = slo(row, slos)
        cache = [check for check in slo_checks(row, slos) if check.name == "cache_hit_rate"]
        row["cache_slo"] = ("met" if cache[0].met else "missed") if cache else ""
    return {"mode": mode, "rows": rows, "charts": [Markup(svg) for svg in svgs]}


def _time_split_svg(tables: Tables, key: str, point: str, rows: list[dict[str, Any]]) -> Markup:
    """Each variant's time split: from the uncontended probe if the run has one, else the load.

    Under load the meter's DB time includes waiting for the event loop, so the probe's
    one-request-at-a-time medians are the honest split; the load means are the fallback.
    """
    probe = at(tables.probe, technique=key, point=point)
    where = f" at {point}" if point else ""
    if len(probe):
        splits = {
            str(row["variant"]): charts.time_split(
                float(row["db_ms"]), float(row["app_ms"]), float(row["latency_ms"])
            )
            for row in records(probe)
        }
        how = "one request at a time (median)"
    else:
        splits = {
            str(row["variant"]): charts.time_split(
                float(row["db_ms_per_request"]),
                float(row["app_ms_per_request"]),
                float(row["mean_ms"]),
            )
            for row in rows
        }
        how = "under load (mean per request)"
    variants = ordered(list(splits), [str(row["variant"]) for row in rows])
    title = f"Where the time goes{where}, {how}"
    return Markup(
        charts.time_breakdown_svg({v: splits[v] for v in variants}, title, f"{key}-{point}-split")
    )


def _growth_view(tables: Tables, key: str, colors: dict[str, str]) -> list[dict[str, Any]]:
    """Per sweep: the cost-vs-work chart and its one-line fits (or knees), from growth.csv."""
    fits = at(tables.growth, technique=key)
    points = at(tables.growth_points, technique=key)
    views = []
    for series in dict.fromkeys(fits["series"]):
        rows = records(at(fits, series=str(series)))
        found = at(points, series=str(series))
        parameter = str(rows[0]["parameter"]) if rows else str(series)
        measured = {
            variant: list(
                zip(
                    found.loc[found["variant"] == variant, "value"].astype(float),
                    found.loc[found["variant"] == variant, "cost_ms"].astype(float),
                    strict=True,
                )
            )
            for variant in colors
        }
        curves: dict[str, Curve] = {str(row["variant"]): fit_of(row).drawn() for row in rows}
        setting = any(isinstance(row.get("rate_unit"), str) and row["rate_unit"] for row in rows)
        title = (
            f"Cost as {series} rises (where it levels off is the knee)"
            if setting
            else f"Cost as {series} grows (dashed: the fitted curve)"
        )
        svg = growth_svg(
            parameter, measured, curves, colors, title, f"{key}-{series}-growth", setting=setting
        )
        views.append(
            {
                "parameter": series,
                "sentences": [str(row["sentence"]) for row in rows],
                "source": str(rows[0]["source"]) if rows else "",
                "svg": Markup(svg),
            }
        )
    return views


def _code_view(
    run: results.Run, technique: Technique | None, key: str, order: list[str]
) -> list[dict[str, Any]]:
    """Each variant's source; a pair's (`pairbench ab`) request, captioned with its side."""
    sources = run.code.get(key) or (capture_sources([technique])[key] if technique else {})
    pair = run.manifest.ab.get(key)
    sides = pair.get("sides", {}) if isinstance(pair, dict) else {}
    return [
        {
            "variant": variant,
            "caption": f"{variant}: {sides[variant]}" if variant in sides else variant,
            "html": highlighted(sources[variant], http=pair is not None),
        }
        for variant in order
        if variant in sources
    ]


def _point_view(
    tables: Tables,
    key: str,
    label: str,
    rows: pd.DataFrame,
    colors: dict[str, str],
    default: bool,
    memory: bool = False,
    slos: Slos = DEFAULT_SLOS,
) -> dict[str, Any]:
    """One point of a technique: a load view per mode it was measured in, and its costs
    (and its memory, where `memory`: the technique's figures include it)."""
    modes = [mode for mode in results.MODES if (rows["mode"] == mode).any()]
    loads = [
        _load_view(
            tables, key, label, mode, records(rows[rows["mode"] == mode]), colors, default, slos
        )
        for mode in modes
    ]
    cost_rows = list(loads[0]["rows"]) if loads else []
    mode = modes[0] if modes else ""
    kinds = at(tables.request_kinds, technique=key, point=label, mode=mode)
    depth = at(tables.queue_depth, technique=key, point=label, mode=mode)
    where = f" at {label}" if label else ""
    title = f"Queue depth over the measured window{where}: jobs requested, not yet done"
    return {
        "point": label,
        "loads": loads,
        "cost_rows": cost_rows,
        "memory_rows": load_memory_rows(cost_rows, memory),
        "split_svg": _time_split_svg(tables, key, label, cost_rows),
        "jobs": any(_present(row.get("job_done_p50_ms")) for row in cost_rows),
        # the app's event-loop lag, which bench_app reports (a user's app need not)
        "lag": any(_present(row.get("loop_lag_p99_ms")) for row in cost_rows),
        "gc": gc_pauses_differ(  # shown where the variants' collections differ
            [
                float(row["gc_pause_ms_per_1k"])
                for row in cost_rows
                if _present(row.get("gc_pause_ms_per_1k"))
            ]
        ),
        "kinds": records(kinds),  # the other requests of a mixed workload, e.g. bystanders
        "queue_svg": (  # work handed to a job worker (background_jobs)
            Markup(queue_depth_svg(depth, colors, title, f"{key}-{label}-queue"))
            if len(depth)
            else None
        ),
    }


def _present(value: Any) -> bool:
    return not math.isnan(results.as_float(value))


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


def _bandwidth(
    run: results.Run, key: str, rows: pd.DataFrame, default: str | None, order: list[str]
) -> list[Any]:
    """The bandwidth table's points: the default first, then the sweep (probed, not loaded)."""
    if not len(rows):
        return []
    labels = [str(label) for label in dict.fromkeys(rows["point"])]
    planned = run.manifest.planned_points(key)
    return bandwidth_view(rows, point_order(planned, labels, default), order)


def _served_by(pair: Mapping[str, Any], topology: Mapping[str, Any]) -> str:
    """Who served a pair's sides: pairbench (the app, where from, how many processes), or
    the user (the URLs given)."""
    if not pair.get("app"):
        return "your app, as you run it, at the URLs above"
    workers = int(topology.get("app_workers", 1) or 1)
    processes = f"{workers} uvicorn process{'es' if workers > 1 else ''}"
    if not pair.get("commit"):
        return (
            f"{pair['app']}, served by pairbench at each side's revision (a git worktree "
            f"each, side by side: {processes} a side)"
        )
    return f"{pair['app']}, served by pairbench ({processes}) from commit {pair['commit']}"


def _request_text(pair: Mapping[str, Any]) -> str:
    """The request both sides were sent: method, parameters, headers, body."""
    params = pair.get("params") or {}
    text = f"{pair.get('method', 'GET')}"
    text += " with " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else ""
    for name, values in (pair.get("sweep") or {}).items():
        text += f"; {name} swept over {', '.join(str(value) for value in values)}"
    if pair.get("headers"):
        text += "; headers " + ", ".join(f"{k}: {v}" for k, v in pair["headers"].items())
    if pair.get("body") is not None:
        body = str(pair["body"])
        text += f"; body {body[:120]}{'…' if len(body) > 120 else ''}"
    return text


def _pair_view(run: results.Run, key: str) -> dict[str, Any]:
    """What a pair of the user's own endpoints (`pairbench ab`) is, from the manifest and
    equivalence.json: its sides, the request, what the answers were compared on and
    whether they matched; nothing for a technique."""
    pair = run.manifest.ab.get(key)
    if not isinstance(pair, dict):
        return {}
    sides = pair.get("sides", {})
    answer = run.equivalence.get(key, {}).get(CANDIDATE, {})
    compared = "JSON decoded, byte for byte otherwise"
    if pair.get("ignore"):
        compared += f", ignoring {pair['ignore']}"
    if not answer:
        same = "not checked"
    elif answer.get("equivalent"):
        same = f"yes: {answer.get('detail')}"
    else:
        same = (
            f"NO: {answer.get('detail')}. Measured anyway (--allow-different): every figure "
            f"of b is marked {DIFFERENT_ANSWER}"
        )
    facts = {
        "a, the baseline": str(sides.get("a")),
        "b, compared with a": str(sides.get("b")),
        "Served by": _served_by(pair, run.manifest.topology),
        "Request (both sides)": _request_text(pair),
        "Answers compared": compared,
        "Same answer": same,
    }
    return {"title": f"{key}: {sides.get('b')} against {sides.get('a')}", "pair": facts}


def technique_view(run: results.Run, key: str, tables: Tables, slos: Slos) -> dict[str, Any]:
    """Text, code, charts and tables of one technique; its text from the registry if there.

    `slos`: the run's latency objectives (pairbench.slo.slos_of_run), judged at each point.
    """
    technique = all_techniques().get(key)
    rows = at(tables.summary, technique=key)
    order = ordered(
        list(dict.fromkeys(rows["variant"])), list(technique.variants) if technique else []
    )
    colors = charts.variant_colors(order)
    rows = rows.sort_values("variant", key=lambda names: names.map(order.index), kind="stable")
    labels = [str(label) for label in dict.fromkeys(rows["point"])]
    default = default_point(run, key, labels)
    artifacts_path = run.directory / results.ARTIFACTS / f"{key}.json"
    artifacts = results.read_json(artifacts_path) if artifacts_path.exists() else {}
    micro_rows = records(at(tables.micro, technique=key))
    position = {variant: index for index, variant in enumerate(order)}
    warnings = at(tables.warnings, technique=key)
    memory = memory_matters(technique, rows)
    probe_rows = at(tables.probe, technique=key)
    probed = [str(label) for label in dict.fromkeys(probe_rows["point"])]
    probe_points = point_order(run.manifest.planned_points(key), probed, default)
    return {
        "key": key,
        **_declared(technique, key),
        "pair": {},
        "noun": "pair" if key in run.manifest.ab else "technique",
        **_pair_view(run, key),  # a pair of the user's own endpoints (`pairbench ab`)
        "variants": order,
        "colors": colors,
        "default_point": default,
        "points": [
            _point_view(
                tables,
                key,
                label,
                rows[rows["point"] == label],
                colors,
                label == default,
                memory,
                slos,
            )
            for label in point_order(run.manifest.planned_points(key), labels, default)
        ],
        "cost_columns": _cost_columns(rows),
        "caches": _uses_cache(rows),
        "code": _code_view(run, technique, key, order),
        "growth": _growth_view(tables, key, colors),
        "bandwidth": _bandwidth(run, key, at(tables.bandwidth, technique=key), default, order),
        "micro": sorted(micro_rows, key=lambda row: position.get(row["variant"], len(order))),
        "artifacts": {str(name): str(text) for name, text in artifacts.items()},
        "equivalence": _equivalence_view(run, key, order),
        "probe_memory": probe_memory_rows(probe_rows, probe_points, order) if memory else [],
        "warnings": [str(message) for message in warnings["message"]],
    }


def headline_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    """A section's headline: its default point, closed loop if measured, else open loop."""
    for point in section["points"]:
        if point["point"] == section["default_point"] and point["loads"]:
            return list(point["loads"][0]["rows"])
    return []


def headline_kinds(section: dict[str, Any]) -> list[dict[str, Any]]:
    """The other request kinds' rows (bystanders) at the headline's point and load mode (a
    point's kinds are those of its first load mode, as its headline rows are)."""
    for point in section["points"]:
        if point["point"] == section["default_point"] and point["loads"]:
            return list(point["kinds"])
    return []
