"""A small FastAPI app written as if by someone else, for `pairbench ab` to measure."""
