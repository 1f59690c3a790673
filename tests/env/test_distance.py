"""A run's distance read back from its manifest, as `pairbench crosscheck` serves the app."""

from pairbench.env.distance import DATABASE, REDIS, Distance


def test_the_distance_a_run_loaded_at_is_read_back_from_its_manifest() -> None:
    put_away = Distance({DATABASE: 0.5})
    assert Distance.loaded_in(put_away.manifest_entry()) == put_away
    # a swept dependency stood behind a proxy of no delay while the load ran; the sweep
    # itself was the probe's
    swept = Distance({DATABASE: 0.5}, sweep_ms=(0.0, 1.0))
    assert Distance.loaded_in(swept.manifest_entry()) == Distance({DATABASE: 0.5, REDIS: 0.0})
    assert Distance.loaded_in({}) == Distance()
