"""Pure-Python CPU work: the catalogue names most like a key ("did you mean ..."), by difflib.

difflib is written in Python, so one ranking holds the GIL for all of its ~10 ms (the key
scored against each of CATALOGUE_SIZE names with SequenceMatcher.ratio): the kind of work
a thread cannot take off the event loop and a process can. It takes a short string and
returns three, so sending it to a process pool costs the pickling of a few bytes each way.
"""

import difflib

SUGGESTIONS = 3
CATALOGUE_SIZE = 120  # ~10 ms here: half the upstream's latency, the I/O part
_WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
)
CATALOGUE = tuple(
    f"{_WORDS[number % 16]}-{_WORDS[number * 7 % 16]}-{number}" for number in range(CATALOGUE_SIZE)
)


def similar_names(key: str) -> list[str]:
    """The SUGGESTIONS catalogue names most similar to `key` (ties by name): pure Python."""
    matcher = difflib.SequenceMatcher(b=key, autojunk=False)
    scored = []
    for name in CATALOGUE:
        matcher.set_seq1(name)
        scored.append((-matcher.ratio(), name))
    return [name for _, name in sorted(scored)[:SUGGESTIONS]]
