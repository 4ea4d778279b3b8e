"""Errors as responses: problem+json (RFC 9457) for the API, a plain page for the web UI.

No handler ever puts a stack trace, an exception's repr or a database message in a response;
an unexpected exception is logged and answered with a bare 500. A database that cannot be
reached (:class:`~bastion.errors.StoreError`) is a 503 with ``Retry-After``: the request's
unit of work was rolled back, so nothing of it was applied; the operator's log has the cause.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bastion.errors import StoreError
from bastion.server.errors import NotAuthenticatedError, ServerError, ThrottledError

__all__ = ["PROBLEM_JSON", "install_handlers", "problem"]

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("bastion.server")
RETRY_AFTER = 5  # seconds a client waits before trying a request the database refused


# Read by machines, not people: problem+json and 401, never the sign-in page's redirect.
_MACHINE_PATHS = frozenset({"/metrics"})


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in _MACHINE_PATHS


def problem(request: Request, status: int, kind: str, detail: str, **extra: object) -> Response:
    """An RFC 9457 response (API) or a short text page (web UI)."""
    if not _is_api(request):
        return Response(detail, status_code=status, media_type="text/plain; charset=utf-8")
    body = {"type": f"urn:bastion:problem:{kind}", "title": kind, "status": status}
    body |= {"detail": detail, "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def _server_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ServerError):  # registered for this type only
        return await _unexpected(request, exc)
    if isinstance(exc, NotAuthenticatedError) and not _is_api(request):
        return RedirectResponse("/login", status_code=303)
    response = problem(request, exc.status, exc.kind, exc.message)
    if isinstance(exc, ThrottledError):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, NotAuthenticatedError):
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # registered for this type only
        return await _unexpected(request, exc)
    # Field locations and messages only: pydantic's "input" would echo what was sent.
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    fields = ", ".join(e["field"] for e in errors)
    return problem(request, 422, "invalid-request", f"invalid value for {fields}", errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for this type only
        return await _unexpected(request, exc)
    kind = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
        exc.status_code, "http-error"
    )
    detail = exc.detail if isinstance(exc.detail, str) else kind
    return problem(request, exc.status_code, kind, detail)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StoreError):  # registered for this type only
        return await _unexpected(request, exc)
    logger.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    detail = "the database is unavailable; nothing was changed, try again later"
    response = problem(request, 503, "unavailable", detail)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The one place an unknown exception stops: logged for the operator, never shown.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(request, 500, "internal", "internal error; the server log has the details")


def install_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(ServerError, _server_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StoreError, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)
