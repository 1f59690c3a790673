"""What a run measures: each technique at its default parameters and at its sweep points."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bench_app.technique import Technique
from pairbench.profiles import REQUEST_TIMEOUT_S, SWEEP_LOAD, SWEEP_OFF, Profile
from pairbench.results import RTT_PARAMETER


@dataclass(frozen=True)
class Point:
    """One technique at one set of request parameters (its defaults or a sweep point)."""

    technique: Technique
    params: dict[str, Any]
    given_label: str | None = None  # kept when run-time params are added (resolve_points)
    swept: str | None = None  # the parameter this sweep point varies; None for the defaults
    loaded: bool = True  # measured under load, not only probed one request at a time
    rtt_ms: float | None = None  # an RTT sweep point's round trip, set on the proxies
    # The named starting point (Technique.sweep_from) a sweep point was swept from; None
    # for a sweep from the defaults, whose series is named by its parameter.
    series: str | None = None

    @property
    def label(self) -> str:
        if self.given_label is not None:
            return self.given_label
        return ",".join(f"{name}={value}" for name, value in self.params.items()) or "default"

    def with_params(self, extra: dict[str, Any]) -> "Point":
        return Point(
            self.technique,
            {**self.params, **extra},
            self.label,
            self.swept,
            self.loaded,
            self.rtt_ms,
            self.series,
        )


def plan_points(techniques: list[Technique], profile: Profile) -> list[Point]:
    """Every (technique, parameters) pair the profile measures or probes."""
    points = []
    for technique in techniques:
        points.append(Point(technique, dict(technique.params)))
        if profile.sweep == SWEEP_OFF:
            continue
        starts: list[tuple[str | None, Mapping[str, Any]]] = [(None, {})]
        if technique.sweep_from:
            starts = list(technique.sweep_from.items())
        for series, start in starts:
            for name, values in technique.sweep.items():
                for value in values:
                    if technique.sweep_scales:
                        value = round(value * profile.scale)
                    params = {**technique.params, **start, name: value}
                    if params != dict(technique.params):
                        points.append(
                            Point(
                                technique,
                                params,
                                swept=name,
                                loaded=profile.sweep == SWEEP_LOAD,
                                series=series,
                            )
                        )
    return points


def rtt_label(rtt_ms: float) -> str:
    return f"{RTT_PARAMETER}={rtt_ms:g}"


def rtt_sweep_points(points: list[Point], sweep_ms: tuple[float, ...]) -> list[Point]:
    """The default point of each round-trip technique again at each RTT, probed only."""
    return [
        Point(point.technique, point.params, rtt_label(rtt), RTT_PARAMETER, False, rtt)
        for point in points
        if point.technique.round_trips and point.swept is None
        for rtt in sweep_ms
    ]


def resolve_points(base_url: str, points: list[Point]) -> list[Point]:
    """Points with the extra params their technique derives at run time (see params_path)."""
    resolved = []
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        for point in points:
            path = point.technique.params_path
            if path is None:
                resolved.append(point)
                continue
            response = client.get(path, params=point.params)
            response.raise_for_status()
            resolved.append(point.with_params(response.json()))
    return resolved


def manifest_points(points: list[Point]) -> dict[str, list[dict[str, Any]]]:
    """The plan as the manifest keeps it, so stats can tell sweep points from defaults."""
    found: dict[str, list[dict[str, Any]]] = {}
    for point in points:
        params = {name: _jsonable(value) for name, value in point.params.items()}
        if point.rtt_ms is not None:  # what the growth fit reads its work from
            params[RTT_PARAMETER] = point.rtt_ms
        entry = {
            "label": point.label,
            "params": params,
            "swept": point.swept,
            "loaded": point.loaded,
        }
        if point.series is not None:  # named only where a technique names its sweeps' starts
            entry["series"] = point.series
        if point.swept and point.technique.work_unit is not None:
            entry["work_unit"] = point.technique.work_unit  # what the sweep's rate counts
        found.setdefault(point.technique.key, []).append(entry)
    return found


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
