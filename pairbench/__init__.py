"""pairbench: the harness that measures naive vs optimized backend techniques."""
