"""Records every request Locust makes as one raw sample row (Locust itself keeps 2 digits)."""

import csv
from typing import IO, Any

from bench_app.metering import COST_HEADERS

SAMPLE_COLUMNS = ["t_start", "latency_ms", "status", "bytes", *COST_HEADERS, "error", "name"]


class SampleRecorder:
    """A Locust `request` event listener writing raw samples to a CSV file."""

    def __init__(self, path: str) -> None:
        self._file: IO[str] = open(path, "w", newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file)
        self._writer.writerow(SAMPLE_COLUMNS)

    def on_request(
        self,
        response_time: float,
        response_length: int,
        response: Any,
        exception: BaseException | None,
        start_time: float,
        name: str = "",
        **_: Any,
    ) -> None:
        headers = getattr(response, "headers", None) or {}
        status = getattr(response, "status_code", 0) or 0
        costs = [headers.get(header, "") for header in COST_HEADERS.values()]
        error = "" if exception is None else f"{type(exception).__name__}: {exception}"[:200]
        self._writer.writerow(
            [
                f"{start_time:.6f}",
                f"{response_time:.4f}",
                status,
                response_length,
                *costs,
                error,
                name,
            ]  # fmt: skip
        )

    def close(self) -> None:
        self._file.close()
