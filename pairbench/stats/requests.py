"""Which requests count: the one definition of the variant's measured, successful requests.

A sample is *measured* when it fell in its segment's measure phase (not the warm-up)
and was actually sent (an open-loop send the generator dropped never reached the app).
A request *succeeded* when the app answered with a status below 400; status 0 is a
connection error or a timeout. A request is the variant's *own* when it is of the
target kind: a mixed workload also sends other kinds (invalidation's readers, the
bystanders of event_loop_blocking), each its own distribution, never pooled with the
variant's. Latency percentiles and mean costs count the measured, successful requests;
throughput and the error rate count every measured one.

Frames are samples.csv.gz rows (results.SAMPLE_COLUMNS); every stage that filters
them (the load's progress lines and stopping rule, the stats, the comparison) asks
this module.
"""

import pandas as pd

from pairbench.results import MEASURE_PHASE, TARGET_NAME
from pairbench.stats.bootstrap import Floats


def own(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a variant's own requests (samples or summary rows), leaving out the other
    kinds of a mixed workload; files from before the `name` column hold only those."""
    if "name" not in frame:
        return frame
    return frame[frame["name"].fillna(TARGET_NAME).isin([TARGET_NAME, ""])]


def sent(samples: pd.DataFrame) -> pd.DataFrame:
    """The requests actually sent (open-loop sends dropped by the generator left out)."""
    if "dropped" not in samples:
        return samples
    return samples[samples["dropped"] != 1]


def succeeded(samples: pd.DataFrame) -> "pd.Series[bool]":
    """Which requests succeeded: an HTTP status from 1 to 399."""
    return (samples["status"] > 0) & (samples["status"] < 400)


def status_succeeded(status: int) -> bool:
    """Whether one request with this status succeeded, as `succeeded` judges a frame's."""
    return 0 < status < 400


def answered(probe: pd.DataFrame) -> pd.DataFrame:
    """The probe's successful requests (probe.csv rows): its figures are made of these. A
    file from before the probe kept statuses has only those."""
    if "status" not in probe:
        return probe
    status = pd.to_numeric(probe["status"], errors="coerce")
    return probe[status.isna() | ((status > 0) & (status < 400))]


def failed(samples: pd.DataFrame) -> "pd.Series[bool]":
    """Which requests failed: a connection error (status 0) or an HTTP error status."""
    return ~succeeded(samples)


def measured(samples: pd.DataFrame) -> pd.DataFrame:
    """The measured requests: sent in a segment's measure phase, answered or not."""
    return sent(samples[samples["phase"] == MEASURE_PHASE])


def successful(samples: pd.DataFrame) -> pd.DataFrame:
    """The requests sent and answered successfully (of the phases `samples` holds)."""
    requests = sent(samples)
    return requests[succeeded(requests)]


def measured_successful(samples: pd.DataFrame) -> pd.DataFrame:
    """The measured, successful requests: the ones latency and cost figures are made of."""
    return successful(samples[samples["phase"] == MEASURE_PHASE])


def own_measured_successful(samples: pd.DataFrame) -> pd.DataFrame:
    """The variant's measured, successful, own requests: what its headline figures (and the
    stopping rule that decides how long to measure them) are made of."""
    return measured_successful(own(samples))


def successful_latencies_by_round(samples: pd.DataFrame) -> list[Floats]:
    """Latencies of the successful requests, one array per round (repetition) in order; the
    caller picks the phase and the request kind."""
    ok = successful(samples)
    return [part["latency_ms"].to_numpy(dtype=float) for _, part in ok.groupby("repetition")]
