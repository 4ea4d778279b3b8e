"""The job-identity issuer's public documents: OpenID discovery and the JWKS.

Both are public (a cloud's STS fetches them without credentials) and say nothing secret:
the issuer URL, the claims a token carries and the public halves of the signing keys still
in their overlap window. A server whose issuer URL is not https:// has no issuer and answers
404 here (and its jobs get no token).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from bastion.server.context import context_of
from bastion.server.errors import NotFoundError
from bastion.server.permissions import Permission
from bastion.server.routing import guarded
from bastion.vault import IdentityIssuer

__all__ = ["JWKS_PATH", "router"]

JWKS_PATH = "/.well-known/jwks.json"
router = APIRouter(tags=["identity"])


def _issuer(request: Request) -> IdentityIssuer:
    issuer = context_of(request).identity
    if issuer is None:
        raise NotFoundError("this server issues no job identity tokens")
    return issuer


@router.get("/.well-known/openid-configuration", **guarded(Permission.PUBLIC))
def discovery(request: Request) -> dict[str, Any]:
    """The OpenID Connect discovery document of the job-identity issuer."""
    return _issuer(request).discovery()


@router.get(JWKS_PATH, **guarded(Permission.PUBLIC))
def jwks(request: Request) -> dict[str, Any]:
    """The public signing keys: the active one and the retired ones still overlapping."""
    return _issuer(request).jwks()
