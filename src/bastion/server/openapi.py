"""The API's OpenAPI 3.1 document, served at ``/api/openapi.json`` to signed-in callers.

FastAPI's own document (``app.openapi()``) describes every route, pages included, and only the
successes; this one is the API's contract: the ``/api/`` operations, each with the
problem+json answers (RFC 9457) it can give (401/403 where a permission guards it, 404 where
it names an object, 422/400 where it takes input, 413 where it takes a body, 409 where it
changes state, 503 everywhere: the database or a store may be unavailable), a bearer-token
security scheme, and only the schemas those operations use. ``tests/server/test_openapi.py``
runs schemathesis over it against the app.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bastion.server.permissions import Permission, rule_for
from bastion.server.problems import PROBLEM_JSON
from bastion.server.routing import PERMISSION_KEY, guarded

__all__ = ["PROBLEM_SCHEMA", "api_document", "router"]

router = APIRouter(prefix="/api")

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457); never a stack trace, never the input echoed back.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "pattern": "^urn:bastion:problem:[a-z-]+$"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_REASONS = {
    400: "The input names something in a form the server refuses",
    401: "No valid session or API token",
    403: "Not allowed, or the action needs step-up (a token never counts as stepped up)",
    404: "Unknown, or not visible to the caller",
    409: "The state does not allow it (taken, not running, ...)",
    413: "The body is over the server's limit",
    422: "A parameter or the body is malformed",
    429: "Too many attempts or open streams; see Retry-After",
    503: "The database or a store the request needs is unavailable; nothing was changed",
}
_STATE_CHANGING = frozenset({"post", "put", "patch", "delete"})
_CACHE_KEY = "bastion_api_document"


def _problem(status: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": _REASONS[status], "content": {PROBLEM_JSON: {"schema": schema}}}


def _error_statuses(method: str, operation: Mapping[str, Any]) -> set[int]:
    """The problem statuses this operation can answer (see the module's docstring)."""
    permission = Permission(operation.get(PERMISSION_KEY, Permission.PUBLIC.value))
    parameters = operation.get("parameters", [])
    body = "requestBody" in operation
    statuses = {503}
    if permission is not Permission.PUBLIC:
        statuses |= {401, 403}
    if rule_for(permission).hide or any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if parameters or body:
        statuses |= {400, 422}
    if body:
        statuses.add(413)
    if method in _STATE_CHANGING:  # acts on something named in the path or the body
        statuses |= {400, 404, 409}
    return statuses


def _refs(node: object) -> Iterator[str]:
    """Every component name ``node`` refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _used_schemas(paths: object, schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The schemas ``paths`` refer to, directly or through other schemas."""
    wanted, todo = set[str](), list(_refs(paths))
    while todo:
        name = todo.pop()
        if name not in wanted and name in schemas:
            wanted.add(name)
            todo.extend(_refs(schemas[name]))
    return {name: schemas[name] for name in sorted(wanted)}


def build_api_document(full: Mapping[str, Any]) -> dict[str, Any]:
    """The API's document from FastAPI's whole one (not modified)."""
    paths: dict[str, Any] = {}
    for path, operations in full.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        paths[path] = copy.deepcopy(operations)
        for method, operation in paths[path].items():
            responses = operation.setdefault("responses", {})
            for status in sorted(_error_statuses(method, operation)):
                responses[str(status)] = _problem(status)
            if operation.get(PERMISSION_KEY) != Permission.PUBLIC.value:
                operation["security"] = [{"bearer": []}]
    schemas = dict(full.get("components", {}).get("schemas", {}), Problem=PROBLEM_SCHEMA)
    schemes = {"bearer": {"type": "http", "scheme": "bearer", "description": "An API token"}}
    return {
        "openapi": full["openapi"],
        "info": dict(full["info"], description="Bastion's API (problem+json errors)."),
        "paths": paths,
        "components": {"schemas": _used_schemas(paths, schemas), "securitySchemes": schemes},
    }


def api_document(app: FastAPI) -> dict[str, Any]:
    """The document of ``app``'s API, built once."""
    cached: dict[str, Any] | None = getattr(app.state, _CACHE_KEY, None)
    if cached is None:
        cached = build_api_document(app.openapi())
        setattr(app.state, _CACHE_KEY, cached)
    return cached


_DOCUMENT_RESPONSE = {
    200: {
        "description": "The OpenAPI 3.1 document of this API",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.get(
    "/openapi.json",
    response_class=JSONResponse,
    responses=_DOCUMENT_RESPONSE,  # type: ignore[arg-type]
    **guarded(Permission.SIGNED_IN),
)
def openapi_document(request: Request) -> JSONResponse:
    """This API's OpenAPI 3.1 document (the routes' permissions under ``x-bastion-permission``)."""
    return JSONResponse(api_document(request.app))
