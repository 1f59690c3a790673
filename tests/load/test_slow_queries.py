"""The run's slow-query log: each statement filed under the variant whose route sent it."""

from bench_app.techniques import all_techniques
from pairbench.load.slow_queries import slow_query_rows


def test_statements_are_filed_under_their_variant() -> None:
    technique = all_techniques()["n_plus_one"]
    document = {
        "threshold_ms": 50.0,
        "statements": [
            {
                "route": "/n-plus-one/naive",
                "statement": "SELECT 1",
                "count": 3,
                "max_ms": 80.0,
                "mean_ms": 60.0,
            },
            {
                "route": "/health",
                "statement": "SELECT 1",
                "count": 1,
                "max_ms": 70.0,
                "mean_ms": 70.0,
            },
        ],
    }
    rows = slow_query_rows(document, [technique])
    assert rows[["technique", "variant", "route", "count", "threshold_ms"]].values.tolist() == [
        ["n_plus_one", "naive", "/n-plus-one/naive", 3, 50.0]
    ]
