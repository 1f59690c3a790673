"""The run's slow-query log: the app's slow statements, filed under the variants that sent them.

The app keeps statements slower than its threshold by route template
(bench_app.slow_queries); a variant's route template is its path, so each maps back
to a technique and variant. Kept in slow_queries.csv for the report.
"""

from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd

from bench_app.technique import Technique
from pairbench import results
from pairbench.profiles import REQUEST_TIMEOUT_S


def slow_query_rows(log_document: dict[str, object], techniques: list[Technique]) -> pd.DataFrame:
    """The app's /slow-queries answer as rows, each filed under the variant of its route."""
    variants = {
        technique.path(variant): (technique.key, variant)
        for technique in techniques
        for variant in technique.variants
    }
    threshold = log_document.get("threshold_ms")
    statements = log_document.get("statements")
    rows = []
    for statement in statements if isinstance(statements, list) else []:
        owner = variants.get(str(statement.get("route")))
        if owner is not None:
            rows.append(
                {"technique": owner[0], "variant": owner[1], **statement, "threshold_ms": threshold}
            )
    return pd.DataFrame(rows, columns=results.SLOW_QUERY_COLUMNS)


def save_slow_queries(
    run_dir: Path, base_url: str, techniques: list[Technique], log: Callable[[str], None]
) -> pd.DataFrame:
    """Fetch the app's slow-query log and write slow_queries.csv (header only if none)."""
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        response = client.get("/slow-queries")
        response.raise_for_status()
    rows = slow_query_rows(response.json(), techniques)
    rows.to_csv(run_dir / results.SLOW_QUERIES, index=False)
    threshold = response.json().get("threshold_ms")
    log(f"slow queries (over {threshold:g} ms): {len(rows)} statement(s) kept")
    return rows
