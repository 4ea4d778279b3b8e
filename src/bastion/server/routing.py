"""Every route names its permission once; :func:`check_routes` refuses an app with a route
that does not (fails closed at start-up, not at the first request)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import Request

from bastion.server.auth import authorize
from bastion.server.errors import ServerError
from bastion.server.names import check_name
from bastion.server.permissions import PERMISSIONS, Permission

__all__ = [
    "NAME_PARAMETERS",
    "PERMISSION_KEY",
    "check_path_names",
    "check_routes",
    "guarded",
    "route_marks",
]

PERMISSION_KEY = "x-bastion-permission"
# Path parameters that name something (an account, a repository, an environment, a secret):
# each goes through names.check_name before anything else sees it, the audit log included.
NAME_PARAMETERS = frozenset(
    {"name", "user", "repo", "repository", "environment", "secret", "key", "project"}
)


def check_path_names(request: Request) -> None:
    """BadRequestError (400) for a named path parameter with '/', '..', NUL or a control
    character (a percent-encoded one arrives decoded here)."""
    for parameter, value in request.path_params.items():
        if parameter in NAME_PARAMETERS and isinstance(value, str):
            check_name(value, f"path parameter {parameter!r}")


def guarded(permission: Permission) -> dict[str, Any]:
    """Decorator keywords: the permission's dependency and its mark in the OpenAPI document.

    Named path parameters are checked first, so a refused name never reaches the permission
    check's audit event.
    """
    extra = {PERMISSION_KEY: permission.value}
    names = Depends(check_path_names)
    if permission is Permission.PUBLIC:
        return {"dependencies": [names], "openapi_extra": extra}
    return {"dependencies": [names, Depends(authorize(permission))], "openapi_extra": extra}


def route_marks(app: FastAPI) -> Iterator[tuple[str, frozenset[str], str | None]]:
    """Every route of ``app``, those of included routers too, as (path, methods, the
    permission it names or None); ServerError for a route that is not an API route (no
    permission could guard it)."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            raise ServerError(f"route {context.path} is not an API route: nothing guards it")
        extra: dict[str, Any] = getattr(context, "openapi_extra", None) or {}
        named = extra.get(PERMISSION_KEY)
        yield context.path or "", frozenset(context.methods or ()), named


def check_routes(app: FastAPI) -> None:
    """ServerError if a route names no permission, or one missing from the table.

    Routes of included routers are walked too (FastAPI keeps them apart from ``app.routes``'
    own entries, so a loop over ``app.routes`` alone would check nothing).
    """
    for path, _methods, named in route_marks(app):
        if named not in {p.value for p in PERMISSIONS}:
            raise ServerError(f"route {path} names no permission of the table")
