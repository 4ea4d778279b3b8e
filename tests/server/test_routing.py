"""The start-up check: an app with a route that names no permission of the table refuses to
start, whether the route sits on the app or in an included router."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from starlette.responses import PlainTextResponse

from bastion.server import Permission, ServerError
from bastion.server.routing import check_routes, guarded


def _app_with(router: APIRouter) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(router, prefix="/api")
    return app


def test_a_guarded_route_in_an_included_router_passes() -> None:
    router = APIRouter()
    router.add_api_route("/ok", lambda: "ok", **guarded(Permission.SIGNED_IN))
    check_routes(_app_with(router))


def test_an_unguarded_route_in_an_included_router_is_refused() -> None:
    router = APIRouter()
    router.add_api_route("/ok", lambda: "ok", **guarded(Permission.SIGNED_IN))
    router.add_api_route("/open", lambda: "open")
    with pytest.raises(ServerError, match="route /api/open names no permission"):
        check_routes(_app_with(router))


def test_a_route_naming_a_permission_outside_the_table_is_refused() -> None:
    router = APIRouter()
    router.add_api_route("/x", lambda: "x", openapi_extra={"x-bastion-permission": "root"})
    with pytest.raises(ServerError, match="route /api/x names no permission"):
        check_routes(_app_with(router))


def test_a_plain_starlette_route_is_refused() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_route("/raw", lambda _request: PlainTextResponse("raw"))
    with pytest.raises(ServerError, match="route /raw is not an API route"):
        check_routes(app)
