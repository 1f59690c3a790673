"""A synthetic run directory, written the way `pairbench run` writes one, for report tests."""

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pairbench import results
from pairbench.stats.stage import write_tables

VARIANTS = {"naive": (30.0, 51.0), "selectin": (10.0, 2.0), "joined": (8.0, 1.0)}  # p50, queries
POINT = "authors=50"
SAMPLES_PER_SEGMENT = 260


def _segment_samples(
    rng: np.random.Generator,
    technique: str,
    point: str,
    mode: str,
    repetition: int,
    variant: str,
    clock: float,
    scale: float,
    speed: float = 1.0,
) -> pd.DataFrame:
    median, queries = VARIANTS[variant]
    median /= speed
    count = SAMPLES_PER_SEGMENT
    latency = rng.lognormal(math.log(median * scale), 0.3, count)
    lag = np.full(count, np.nan) if mode == "closed" else rng.uniform(0.0, 2.0, count)
    return pd.DataFrame(
        {
            "technique": technique,
            "variant": variant,
            "point": point,
            "mode": mode,
            "repetition": repetition,
            "phase": np.where(np.arange(count) < 20, "warmup", "measure"),
            "t_start": clock + np.arange(count) * 0.01,
            "latency_ms": latency,
            "status": 200,
            "bytes": 4200,
            "queries": queries * scale,
            "db_ms": latency * 0.5,
            "redis_commands": 0.0,
            "upstream_calls": 0.0,
            "app_ms": latency * 0.8,
            "error": "",
            "send_lag_ms": lag,
            "dropped": 0,
        }
    )


def _point_params(point: str) -> dict[str, Any]:
    return {name: float(value) for name, _, value in (p.partition("=") for p in point.split(","))}


def write_run(
    run_dir: Path,
    *,
    complete: bool = True,
    techniques: tuple[str, ...] = ("n_plus_one",),
    points: tuple[str, ...] = (POINT,),
    modes: tuple[str, ...] = ("closed",),
    probe_only: tuple[str, ...] = (),
    micro: bool = False,
    speed: float = 1.0,
    seed: int = 0,
    generator_ceiling: float | None = None,
    stats: bool = True,
) -> None:
    """A run directory of `techniques`, each with naive/selectin/joined, 2 repetitions.

    `points` are loaded (the first is the default); `probe_only` sweep points are only
    probed, like the quick profile's. Latency grows with a point's `authors` and shrinks
    with `speed` (a later, faster run). Each closed-loop segment sends ~100 requests/s;
    `generator_ceiling` is the manifest's measured ceiling in requests/s (none if None).
    With `stats` the stats stage ends it, as it ends a run (the report and the gate read
    its tables); without, it is a run the stage never finished.
    """
    rng = np.random.default_rng(seed)
    samples: list[pd.DataFrame] = []
    segments: list[dict[str, Any]] = []
    probe: list[dict[str, Any]] = []
    clock = 1_700_000_000.0
    for technique, point in itertools.product(techniques, points + probe_only):
        scale = _point_params(point).get("authors", 50.0) / 50.0
        for variant, (median, queries) in VARIANTS.items():
            for latency in rng.lognormal(math.log(median * (0.4 + 0.6 * scale)), 0.1, 20):
                probe.append(
                    {
                        "technique": technique,
                        "variant": variant,
                        "point": point,
                        "latency_ms": latency,
                        "bytes": 4200,
                        "queries": queries,
                        "db_ms": latency * 0.4,
                        "app_ms": latency * 0.7,
                    }
                )
        if point in probe_only:
            continue
        for mode, repetition, variant in itertools.product(modes, range(2), VARIANTS):
            samples.append(
                _segment_samples(
                    rng, technique, point, mode, repetition, variant, clock, scale, speed
                )
            )
            segments.append(
                {
                    "technique": technique,
                    "variant": variant,
                    "point": point,
                    "mode": mode,
                    "repetition": repetition,
                    "started": clock,
                    "ended": clock + 2.7,
                    "users": 4 if mode == "closed" else math.nan,
                    "rate": 60.0 if mode == "open" else math.nan,
                    "generator_cpu_max": 35.0,
                }
            )
            clock += 3.0
    run_dir.mkdir(parents=True)
    pd.concat(samples).to_csv(run_dir / results.SAMPLES, index=False)
    pd.DataFrame(segments).to_csv(run_dir / results.SEGMENTS, index=False)
    pd.DataFrame(probe).to_csv(run_dir / results.PROBE, index=False)
    equivalence = {
        technique: {
            variant: {"equivalent": True, "detail": f"{POINT}: same body as naive"}
            for variant in VARIANTS
        }
        for technique in techniques
    }
    (run_dir / results.EQUIVALENCE).write_text(json.dumps(equivalence))
    planned = {
        technique: [
            {
                "label": point,
                "params": _point_params(point),
                "swept": None if index == 0 else "authors",
                "loaded": point in points,
            }
            for index, point in enumerate(points + probe_only)
        ]
        for technique in techniques
    }
    manifest = {
        "run_id": run_dir.name,
        "profile": "smoke",
        "started_at": "2024-01-01T00:00:00+00:00",
        "ended_at": "2024-01-01T00:01:00+00:00" if complete else None,
        "complete": complete,
        "git_commit": "abc123",
        "scale": 0.1,
        "techniques": list(techniques),
        "users": 4,
        "duration_s": 2.6,
        "warmup_s": 0.2,
        "repetitions": 2,
        "modes": list(modes),
        "points": planned,
        "sweep": "probe" if probe_only else "off",
        "micro": {"planned": micro, "max_time_s": 0.1, "min_rounds": 5, "error": None},
        "environment": {
            "python": "3.12.1",
            "platform": "Linux",
            "cpu_model": "Test CPU",
            "cores": 8,
            "postgresql": "16.2",
            "redis": "7.2.4",
            "packages": {"fastapi": "0.130.0"},
        },
    }
    if generator_ceiling is not None:
        manifest["generator_ceiling"] = {
            "measured": True,
            "endpoint": "/health/live",
            "users": 4,
            "seconds": 2.0,
            "measured_s": 2.0,
            "rps": generator_ceiling,
            "requests": int(generator_ceiling * 2),
            "failures": 0,
            "generator_cpu_max": 60.0,
            "load_workers": 0,
        }
    (run_dir / results.MANIFEST).write_text(json.dumps(manifest))
    if micro:
        write_micro(run_dir, techniques, rng)
    if stats:
        write_tables(run_dir)


def write_micro(run_dir: Path, techniques: tuple[str, ...], rng: np.random.Generator) -> None:
    """micro.json as pytest-benchmark writes it with --benchmark-save-data."""
    benchmarks = []
    for technique, (variant, (median, _)) in itertools.product(techniques, VARIANTS.items()):
        data = (rng.lognormal(math.log(median / 5000.0), 0.05, 30)).tolist()  # seconds
        benchmarks.append(
            {
                "name": f"bench_variant[{technique}-{variant}]",
                "extra_info": {"technique": technique, "variant": variant, "point": POINT},
                "stats": {"median": float(np.median(data)), "rounds": len(data), "data": data},
            }
        )
    (run_dir / results.MICRO).write_text(json.dumps({"benchmarks": benchmarks}))
