"""Instrumentation's workload fills its route's user id from a walk over every id."""

from itertools import islice

from scenarios.instrumentation import id_walk


def test_the_workload_walks_every_id_once_per_lap_across_segments() -> None:
    route = "/test-walk/users/{user_id}"
    first_segment = list(islice(id_walk(route, count=5), 3))
    next_segment = list(islice(id_walk(route, count=5), 4))  # a new user class, same walk
    assert first_segment + next_segment == [1, 2, 3, 4, 5, 1, 2]
    assert list(islice(id_walk("/other/users/{user_id}", count=5), 2)) == [1, 2]
