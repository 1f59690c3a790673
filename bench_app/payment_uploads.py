"""The payments CSV that csv_import stores: its format, its grammar for the OpenAPI, and the
uploads the harness sends.

The lesson (bench_app/techniques/csv_import.py) reads and stores these uploads; what they
look like, to a client reading the schema and to the load generator making them, is here.
"""

import csv
import io
from collections.abc import Mapping
from datetime import date
from typing import Any

from bench_app.technique import RequestBody

HEADER = ["id", "booked_on", "payer", "amount_cents", "reference"]
DEFAULT_ROWS = 10_000


def _either_plain_or_quoted(plain: str, characters: str = "") -> str:
    """A field as a regex: `plain`, or quoted (where `characters` may also hold quotes)."""
    quoted = f'"(?:{characters})"' if characters else f'"{plain}"'
    return f"(?:{plain}|{quoted})"


# What an importable upload looks like, as a regex for the OpenAPI (a subset of what the
# endpoints accept: every text it matches is stored). Any character but quotes, commas
# and line breaks (str.splitlines' too) outside quotes; inside, also commas and "".
_TEXT = r'[^",\x00-\x1f\x7f-\x9f\u2028\u2029]'  # line breaks and control characters out
_QUOTED_TEXT = r'(?:[^"\x00-\x1f\x7f-\x9f\u2028\u2029]|"")'
_DATE = r"[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
_LINE = ",".join(
    [
        _either_plain_or_quoted("[1-9][0-9]{0,17}"),
        _either_plain_or_quoted(_DATE),
        _either_plain_or_quoted(f"{_TEXT}{{1,100}}", f"{_QUOTED_TEXT}{{1,100}}"),
        _either_plain_or_quoted("-?[0-9]{1,18}"),
        _either_plain_or_quoted(f"{_TEXT}{{0,140}}", f"{_QUOTED_TEXT}{{0,140}}"),
    ]
)
UPLOAD_PATTERN = rf"^(?:{','.join(HEADER)}(?:\r?\n{_LINE})*(?:\r?\n)?)?$"
UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": False,  # no body: an empty import
        "description": "The payments CSV, header first; Content-Length required.",
        "content": {"text/csv": {"schema": {"type": "string", "pattern": UPLOAD_PATTERN}}},
    }
}

PAYERS = [
    "Acme Corporation",
    "Globex International",
    "Initech Software, Inc.",
    "Umbrella Pharmaceuticals, Ltd.",
    "Hooli XYZ",
    "Stark Industries",
]
REFERENCES = [  # what payers write in the reference field, quotes and commas included
    "INV-{n:07d} for order {n:06d}, thank you",
    "refund of order {n:06d}, partial (damaged in transit)",
    'standing order "{n}" monthly rent, flat 4B',
    "",
    "salary advance {n:07d} approved by accounting",
]


def payments_csv(rows: int) -> bytes:
    """The upload: `rows` payment lines, a function of their positions only (~85 bytes each)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(
        (
            n,
            date(2026, 1 + n % 12, 1 + n % 28).isoformat(),
            PAYERS[n % len(PAYERS)],
            (n * 7919) % 200_000 - 50_000,
            REFERENCES[n % len(REFERENCES)].format(n=n),
        )
        for n in range(1, rows + 1)
    )
    return buffer.getvalue().encode()


def upload(params: Mapping[str, Any]) -> RequestBody:
    """The body every variant is POSTed at a point: a CSV of the point's `rows`."""
    return RequestBody(payments_csv(int(params.get("rows", DEFAULT_ROWS))), "text/csv")
