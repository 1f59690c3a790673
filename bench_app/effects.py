"""What must hold after a variant's request beyond its body: a technique's `effects=`.

Each effect is a plain declaration a technique lists next to its variants; the harness
(pairbench.load.effects) observes it for every variant, wherever it compares bodies, and
the variant's observation must match its baseline variant's. So "every invalidation
variant answers {"invalidated": true}" is not enough: the keys must be gone too.

Every variant is also held, with no declaration, to the status its route declares and to
its baseline's Content-Type.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Params = Mapping[str, Any]


@dataclass(frozen=True)
class KeysGone:
    """No Redis key matches `pattern(params)` after the request, though some did before:
    `refill_path`, POSTed with the params before each variant's request, writes them."""

    pattern: Callable[[Params], str]
    refill_path: str


@dataclass(frozen=True)
class RowsStored:
    """What `table` holds after the request (its reset, POSTed before, empties it): the
    same count and the same `columns` as after the baseline's request."""

    table: str  # schema-qualified
    columns: Sequence[str] = ()  # compared as one checksum over the rows in key order
    order_by: str = ""


@dataclass(frozen=True)
class JobDone:
    """The job the answer's Location names gets done, and reads back with the same `fields`
    as the baseline's job (its status, what it recorded)."""

    fields: Sequence[str] = ("status", "item", "value")


@dataclass(frozen=True)
class Revalidates:
    """A client holding the answer asks again with If-None-Match: a 304 keeps the same
    ETag (so the copy it holds stands), a 200 is the same body; a tag it does not match
    gets the whole body, never a 304."""


@dataclass(frozen=True)
class PlainWhenNotAccepted:
    """A client that accepts no encoding gets the same body with no Content-Encoding; one
    that does gets a body that decodes to it (checked by every body comparison)."""


@dataclass(frozen=True)
class DegradesTo:
    """At `params` (where the upstream stalls) the answer is the baseline's or exactly the
    documented `fallback(params)`, nothing else; under load, wherever a variant degrades."""

    params: Params
    fallback: Callable[[Params], Mapping[str, Any]]


@dataclass(frozen=True)
class ConcurrentCallers:
    """Callers asking at once for each value of `vary` (the point's other params kept),
    from the technique's reset state (cold caches, so flights form), each get the baseline's
    answer for their own request: no flight or cache entry is shared by different requests."""

    vary: Mapping[str, Sequence[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class CallersInTurn:
    """Callers named by each of `callers` (the request headers that say who is asking) ask
    for the same URL one after another, from the technique's reset state: each gets the
    baseline's answer for themselves, never an entry another caller left in a shared cache."""

    callers: Sequence[Mapping[str, str]] = ()


Effect = (
    KeysGone
    | RowsStored
    | JobDone
    | Revalidates
    | PlainWhenNotAccepted
    | DegradesTo
    | ConcurrentCallers
    | CallersInTurn
)
