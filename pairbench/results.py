"""The run directory: where each stage leaves its files for the next one.

`results/<run-id>/` holds manifest.json, samples.csv.gz (every raw request),
segments.csv (one row per load segment), equivalence.json and summary.csv. A run
never reuses another's directory, and samples are appended segment by segment,
so an interrupted run keeps everything it measured.
"""

import gzip
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

MANIFEST = "manifest.json"
SAMPLES = "samples.csv.gz"
SEGMENTS = "segments.csv"
EQUIVALENCE = "equivalence.json"
SUMMARY = "summary.csv"
PROBE = "probe.csv"
ARTIFACTS = "artifacts"
KEY_PACKAGES = ("fastapi", "uvicorn", "sqlalchemy", "asyncpg", "redis", "locust", "pandas")


class ResultsError(Exception):
    """A run directory or one of its files is missing or malformed; the message names it."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_dir(results_root: Path, profile: str) -> Path:
    """A fresh directory for one run, named by its start time; never an existing one."""
    results_root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 100):
        suffix = "" if attempt == 1 else f"-{attempt}"
        run_dir = results_root / f"{stamp}-{profile}{suffix}"
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir
    raise ResultsError(f"could not create a new run directory in {results_root}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically, so a crash never leaves half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    """Read a JSON file of a run; a missing or malformed one is a ResultsError naming it."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(
            f"{path} is missing: is {path.parent} a pairbench run directory?"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path} is not valid JSON ({error})") from None


def read_manifest(run_dir: Path) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise ResultsError(f"{run_dir} is not a directory: pass a run directory under results/")
    manifest = read_json(run_dir / MANIFEST)
    if not isinstance(manifest, dict) or "run_id" not in manifest:
        raise ResultsError(f"{run_dir / MANIFEST} has no run_id: not a pairbench manifest")
    return manifest


def append_rows(path: Path, frame: pd.DataFrame) -> None:
    """Append rows to a CSV (gzip-compressed if the name says so), writing the header once."""
    header = not path.exists()
    if path.suffix == ".gz":
        with gzip.open(path, "at", newline="") as handle:
            frame.to_csv(handle, index=False, header=header)
    else:
        frame.to_csv(path, mode="a", index=False, header=header)


def read_table(path: Path, required: list[str]) -> pd.DataFrame:
    """Read a CSV of a run; a malformed one, or one lacking columns, is a ResultsError."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise ResultsError(f"{path} is missing") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise ResultsError(f"{path} cannot be read as CSV ({error})") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ResultsError(f"{path} lacks the columns {', '.join(missing)}")
    return frame


def git_commit(repo: Path) -> str:
    """The checked-out commit (with '+dirty' when the tree has changes), or 'unknown'."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(server_versions: dict[str, str]) -> dict[str, Any]:
    """What the figures were measured on: hardware, Python, servers, key packages."""
    packages = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count() or 0,
        **server_versions,
        "packages": packages,
    }
