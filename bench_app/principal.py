"""Who is asking: the user and role an authenticating gateway forwards with each request.

A real app takes them from a verified token (a JWT's claims, a session); here the
gateway is assumed, and the two headers are its word. A route that answers per user
reads them through PrincipalDep, so the OpenAPI declares both, with their constraints.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Header


class Role(StrEnum):
    """The seeded users' roles (bench_app.seed.ROLES)."""

    MEMBER = "member"
    EDITOR = "editor"
    ADMIN = "admin"


USER_HEADER = "x-user-id"
ROLE_HEADER = "x-user-role"


@dataclass(frozen=True)
class Principal:
    user_id: int
    role: Role


def principal(
    x_user_id: Annotated[int, Header(ge=1, le=2**63 - 1, description="The caller's user id.")],
    x_user_role: Annotated[Role, Header(description="The caller's role.")],
) -> Principal:
    """FastAPI dependency: the caller, from the gateway's headers."""
    return Principal(x_user_id, x_user_role)


PrincipalDep = Annotated[Principal, Depends(principal)]


def principal_headers(user_id: int, role: Role | str) -> dict[str, str]:
    """The headers that make a request come from `user_id` as `role`."""
    return {USER_HEADER: str(user_id), ROLE_HEADER: str(role)}
