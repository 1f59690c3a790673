"""What a request is known by once routed, and middleware that wraps one route alone.

Metrics and logs name a request by its route template (`/users/{user_id}`), never by
its raw path (`/users/7`): a label or key per distinct URL grows without bound.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

UNMATCHED = "<unmatched>"  # what a request no route matched (a 404) is known by


def route_template(scope: Scope) -> str:
    """The template of the route that served `scope`: read it after the app has run,
    since routing fills it in. Our routers are included without a prefix, so a route's
    own path is the whole template."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def route_class_with(middleware: Middleware) -> type[APIRoute]:
    """An APIRoute whose requests, and only those, pass through `middleware`.

    An app-wide middleware sees every request of every route; wrapping one route's
    handler keeps a middleware's cost on that route alone.
    """
    factory, args, kwargs = middleware

    class RouteWithMiddleware(APIRoute):
        def __init__(self, *route_args: Any, **route_kwargs: Any) -> None:
            super().__init__(*route_args, **route_kwargs)
            handle: Callable[[Scope, Receive, Send], Any] = super().handle
            self.wrapped: ASGIApp = factory(handle, *args, **kwargs)

        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.wrapped(scope, receive, send)

    return RouteWithMiddleware


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def get_through(
    router: APIRouter, path: str, middleware: Middleware, **route: Any
) -> Callable[[Endpoint], Endpoint]:
    """Like `@router.get(path, **route)`, with `middleware` around this route alone."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            route_class_override=route_class_with(middleware),
            **route,
        )
        return endpoint

    return register
