"""The runner's probe stage: a profile without a probe budget skips it, honestly."""

from pathlib import Path

import pandas as pd

from pairbench import results
from pairbench.env.server import AppServer
from pairbench.load.probe_stage import probe_uncontended
from pairbench.profiles import PROFILES


class UnreachableApp(AppServer):
    """An app no request may reach: the skipped probe must not send any."""

    def __init__(self) -> None:
        pass

    @property
    def base_url(self) -> str:
        raise AssertionError("the skipped probe sent a request")


def test_the_gate_profile_skips_the_probe_and_leaves_an_empty_table(tmp_path: Path) -> None:
    logged: list[str] = []
    found = probe_uncontended(tmp_path, UnreachableApp(), [], PROFILES["gate"], logged.append)
    assert found.empty
    written = pd.read_csv(tmp_path / results.PROBE)
    assert written.empty and list(written.columns) == results.PROBE_COLUMNS
    assert logged == ["no uncontended probe in the gate profile"]
