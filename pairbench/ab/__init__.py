"""`pairbench ab`: the harness's equivalence check, interleaved rounds, statistics, report
and gate, pointed at two endpoints (or two revisions) of the user's own app."""
