"""Which requests count: the one definition of a measured, successful request.

A sample is *measured* when it fell in its segment's measure phase (not the warm-up)
and was actually sent (an open-loop send the generator dropped never reached the app).
A request *succeeded* when the app answered with a status below 400; status 0 is a
connection error or a timeout. Latency percentiles and mean costs count the measured,
successful requests; throughput and the error rate count every measured one.

Frames are samples.csv.gz rows (results.SAMPLE_COLUMNS); every stage that filters
them (the load's progress lines, the stats, the comparison) asks this module.
"""

import pandas as pd

from pairbench.results import MEASURE_PHASE


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


def failed(samples: pd.DataFrame) -> "pd.Series[bool]":
    """Which requests failed: a connection error (status 0) or an HTTP error status."""
    return ~succeeded(samples)


def measured(samples: pd.DataFrame) -> pd.DataFrame:
    """The measured requests: sent in a segment's measure phase, answered or not."""
    return sent(samples[samples["phase"] == MEASURE_PHASE])


def measured_successful(samples: pd.DataFrame) -> pd.DataFrame:
    """The measured, successful requests: the ones latency and cost figures are made of."""
    requests = measured(samples)
    return requests[succeeded(requests)]
