"""Queue depth over a segment: the jobs requested and not yet done, every STEP_S.

From the (requested_at, done_at) of each job that a segment's measured window handed on
(jobs.csv), per technique x point x load mode x variant: at each instant t seconds into
the measured window, the jobs in progress then (requested by t, not done by t), the
mean over the rounds and the most in any one. Where the work is done inline the "job"
is the request itself, so both variants' lines count the same thing: work accepted and
not yet finished. A flat line is a worker keeping up; a rising one, a backlog. Jobs
requested in the warm-up are not listed, so the first instants may count a few short.
"""

import numpy as np
import pandas as pd

from pairbench.results import SEGMENT_KEY
from pairbench.stats.bootstrap import Floats

STEP_S = 0.1
QUEUE_DEPTH_COLUMNS = [
    "technique",
    "point",
    "mode",
    "variant",
    "t_s",
    "jobs_mean",
    "jobs_max",
    "rounds",
]


def jobs_in_progress(requested: Floats, done: Floats, instants: Floats) -> Floats:
    """At each instant, how many jobs had been requested and were not yet done."""
    started = np.searchsorted(np.sort(requested), instants, side="right")
    finished = np.searchsorted(np.sort(done), instants, side="right")
    return (started - finished).astype(float)


def _window(segments: pd.DataFrame, key: tuple[str, ...], repetition: object) -> Floats | None:
    """The instants of one segment's measured window, STEP_S apart, or None if unknown."""
    technique, variant, point, mode = key
    found = segments[
        (segments["technique"].astype(str) == technique)
        & (segments["point"].astype(str) == point)
        & (segments["mode"].astype(str) == mode)
        & (segments["variant"].astype(str) == variant)
        & (segments["repetition"] == repetition)
    ]
    if found.empty:
        return None
    start, end = float(found["measure_start"].iloc[0]), float(found["measure_end"].iloc[0])
    steps = int(np.floor((end - start) / STEP_S + 1e-6))  # [start, end), robust to rounding
    return start + np.arange(steps, dtype=np.float64) * STEP_S if steps > 0 else None


def queue_depth(jobs: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """QUEUE_DEPTH_COLUMNS: each variant's jobs in progress over its measured windows."""
    parts = []
    for key, part in jobs.groupby(SEGMENT_KEY, sort=False):
        named = tuple(str(value) for value in key)
        rounds = []
        for repetition, rows in part.groupby("repetition"):
            instants = _window(segments, named, repetition)
            if instants is not None:
                requested = rows["requested_at"].to_numpy(dtype=float)
                done = rows["done_at"].to_numpy(dtype=float)
                rounds.append(jobs_in_progress(requested, done, instants))
        if not rounds:
            continue
        grid = np.full((len(rounds), max(len(depths) for depths in rounds)), np.nan)
        for index, depths in enumerate(rounds):
            grid[index, : len(depths)] = depths
        frame = pd.DataFrame(
            {
                "t_s": np.arange(grid.shape[1]) * STEP_S,
                "jobs_mean": np.nanmean(grid, axis=0),
                "jobs_max": np.nanmax(grid, axis=0),
                "rounds": np.sum(~np.isnan(grid), axis=0),
            }
        )
        parts.append(frame.assign(**dict(zip(SEGMENT_KEY, named, strict=True))))
    if not parts:
        return pd.DataFrame(columns=QUEUE_DEPTH_COLUMNS)
    return pd.concat(parts, ignore_index=True)[QUEUE_DEPTH_COLUMNS]
