"""A per-request event listener left subscribed vs removed when the request ends, or held weakly.

Contract: user `user_id`'s public profile (name, role, bio), and whether the user changed
while it was being read (`changed_while_reading`): a request-scoped reader subscribes to
the app's "user.changed" event before its query, so a write that lands meanwhile is
seen (an answer may then be refreshed by the client). 404 if there is no such user.
Every variant answers alike; what differs is what the app's event bus keeps afterwards.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench_app.db import SessionDep
from bench_app.event_bus import EventBus
from bench_app.headline import MEMORY_GROWTH, Headline
from bench_app.models import User
from bench_app.responses import not_found
from bench_app.technique import Technique

router = APIRouter(prefix="/listener-leak", tags=["listener_leak"])

USER_CHANGED = "user.changed"  # published with the changed user's id
USER_EVENTS = EventBus()  # the app's bus: one for the process, as a singleton provider is
DEFAULT_USER_ID = 1

UserId = Annotated[int, Query(ge=1, le=2**63 - 1, description="The user's id.")]
NO_USER = not_found("no user has this id")


class Profile(BaseModel):
    id: int
    first_name: str
    last_name: str
    role: str
    bio: str
    changed_while_reading: bool


class ProfileReader:
    """A request-scoped service: reads one user's profile and listens for changes to it.

    What its listener (a bound method) keeps alive is the whole reader: the user's id,
    the changes seen and, once read, the profile itself.
    """

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.changes: list[int] = []
        self.profile: Profile | None = None

    def on_user_changed(self, user_id: int) -> None:
        if user_id == self.user_id:
            self.changes.append(user_id)

    async def read(self, session: AsyncSession) -> Profile:
        """One query for the user's row."""
        columns = (User.id, User.first_name, User.last_name, User.role, User.bio)
        row = (await session.execute(select(*columns).where(User.id == self.user_id))).first()
        if row is None:
            raise HTTPException(404, f"no user has the id {self.user_id}")
        self.profile = Profile(**row._mapping, changed_while_reading=bool(self.changes))
        return self.profile


@router.get("/never-removed", response_model=Profile, responses=NO_USER)
async def never_removed(session: SessionDep, user_id: UserId = DEFAULT_USER_ID) -> Profile:
    """Subscribe and never unsubscribe: the bus keeps every request's reader, and its
    profile, for the life of the process (and calls them all on every change)."""
    reader = ProfileReader(user_id)
    USER_EVENTS.subscribe(USER_CHANGED, reader.on_user_changed)
    return await reader.read(session)


@router.get("/unsubscribed", response_model=Profile, responses=NO_USER)
async def unsubscribed(session: SessionDep, user_id: UserId = DEFAULT_USER_ID) -> Profile:
    """Subscribe for the request only: unsubscribed when it ends, error or not."""
    reader = ProfileReader(user_id)
    with USER_EVENTS.subscribed(USER_CHANGED, reader.on_user_changed):
        return await reader.read(session)


@router.get("/weak", response_model=Profile, responses=NO_USER)
async def weak(session: SessionDep, user_id: UserId = DEFAULT_USER_ID) -> Profile:
    """Subscribe through a weak reference: the bus does not keep the reader alive, and its
    entry goes when the reader does, with no unsubscribe to forget."""
    reader = ProfileReader(user_id)
    USER_EVENTS.subscribe_weakly(USER_CHANGED, reader.on_user_changed)
    return await reader.read(session)


TECHNIQUE = Technique(
    key="listener_leak",
    area="response and memory",
    title="Event listener left subscribed vs removed at the end of the request, or held weakly",
    summary=(
        "A request-scoped service that subscribes to an app-level event bus and never "
        "unsubscribes leaks: the bus holds its listener, and through it the service and "
        "whatever it loaded, for the life of the process, one per request. Unsubscribing "
        "when the request ends (a with block, as onModuleDestroy would) or subscribing "
        "through a weak reference keeps the bus at the requests in flight."
    ),
    guide_section="Memory Management / Memory Leak Prevention",
    router=router,
    variants=("never_removed", "unsubscribed", "weak"),
    baseline="never_removed",
    headline=Headline(MEMORY_GROWTH),
    params={"user_id": DEFAULT_USER_ID},
    proof=(
        "listeners kept on the bus per request: 1 -> 0 -> 0; app memory growth per 10k "
        "requests: every request's reader kept -> ~0; the same answer, 1 query each"
    ),
    caveats=(
        "The run is a soak, as for bounded_cache: each variant is served by an app process "
        "of its own for the whole run, and the bus is never emptied between segments, so "
        "the leaked listeners pile up through the run as they would in production; the "
        "growth per 10,000 requests is the figure. Nothing publishes a change under the "
        "load, so the leak shows as memory only: in production every change would also call "
        "every listener ever left, a cost that grows with the process's age. A weak "
        "reference frees the listener as soon as the reader is unreachable (CPython frees it "
        "at once; a reader caught in a reference cycle would wait for the collector)."
    ),
    soak_process=True,
    memory_figures=True,
)
