"""Every route names its permission once; :func:`check_routes` refuses an app with a route
that does not (fails closed at start-up, not at the first request)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from bastion.server.auth import authorize
from bastion.server.errors import ServerError
from bastion.server.permissions import PERMISSIONS, Permission

__all__ = ["PERMISSION_KEY", "check_routes", "guarded"]

PERMISSION_KEY = "x-bastion-permission"


def guarded(permission: Permission) -> dict[str, Any]:
    """Decorator keywords: the permission's dependency and its mark in the OpenAPI document."""
    extra = {PERMISSION_KEY: permission.value}
    if permission is Permission.PUBLIC:
        return {"openapi_extra": extra}
    return {"dependencies": [Depends(authorize(permission))], "openapi_extra": extra}


def check_routes(app: FastAPI) -> None:
    """ServerError if a route names no permission, or one missing from the table."""
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        named = (route.openapi_extra or {}).get(PERMISSION_KEY)
        if named is None or Permission(named) not in PERMISSIONS:
            raise ServerError(f"route {route.path} names no permission of the table")
