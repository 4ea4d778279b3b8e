"""What the server does with hostile input: oversized bodies, malformed JSON, bad names, and
errors it did not expect. No answer echoes the input or shows a stack trace."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI

from bastion.server import Permission, Role
from bastion.server.middleware import CSP
from bastion.server.routing import guarded
from tests.server.conftest import Server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # as conftest: Starlette's nudge towards httpx2
    from starlette.testclient import TestClient

LIMIT = 1024 * 1024
CHUNK = 64 * 1024


def asgi_post(app: Any, path: str, chunks: list[bytes], length: int | None) -> tuple[int, int]:
    """POST ``chunks`` to ``app`` straight over ASGI: (status, how many chunks it read)."""
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    reads, sent = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[reads - 1], "more_body": reads < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # In a thread of its own: a running event loop in this one (Playwright's) forbids asyncio.run.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return sent[0]["status"], reads


def test_a_declared_content_length_over_the_limit_is_refused_unread(server: Server) -> None:
    status, reads = asgi_post(server.client.app, "/api/users", [b"{}"], LIMIT + 1)
    assert (status, reads) == (413, 0)
    response = server.client.post(
        "/api/users", content=b"{}", headers={"content-length": str(10 * LIMIT)}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:bastion:problem:too-large"


def test_a_chunked_body_over_the_limit_is_refused_as_it_streams(server: Server) -> None:
    chunks = [b" " * CHUNK] * (2 * LIMIT // CHUNK)
    status, reads = asgi_post(server.client.app, "/api/users", chunks, None)
    assert status == 413
    assert reads == LIMIT // CHUNK + 1  # stopped at the first chunk past the limit

    def stream() -> Iterator[bytes]:
        yield from chunks

    response = server.client.post("/api/users", content=stream())
    assert response.status_code == 413


def test_a_body_at_the_limit_reaches_the_app(server: Server) -> None:
    body = b'{"name": "bob"}'.rjust(LIMIT)  # JSON allows the leading white space
    chunks = [body[i : i + CHUNK] for i in range(0, LIMIT, CHUNK)]
    status, reads = asgi_post(server.client.app, "/api/users", chunks, LIMIT)
    assert status == 401  # the permission check, not the size, refused it
    assert reads == len(chunks)


def signed_in_admin(server: Server) -> dict[str, str]:
    server.add_user("root", Role.ADMIN)
    server.login("root")
    return {"X-CSRF-Token": server.csrf(), "content-type": "application/json"}


def test_malformed_json_is_422_naming_the_body(server: Server) -> None:
    headers = signed_in_admin(server)
    response = server.client.post("/api/users", content=b'{"name": "zq', headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"].startswith("body")
    assert "zq" not in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5}, "body.name"),
        ({"name": ["bob"]}, "body.name"),
        ({"name": "bob", "role": "root"}, "body.role"),
        ({"name": "bob", "is_admin": "please-echo-me"}, "body.is_admin"),
        ({}, "body.name"),
    ],
)
def test_wrong_types_are_422_naming_the_field_without_echoing_it(
    server: Server, body: dict[str, object], field: str
) -> None:
    headers = signed_in_admin(server)
    response = server.client.post("/api/users", json=body, headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert field in response.json()["detail"]
    assert "please-echo-me" not in response.text


BAD_NAMES = ["a/b", "..", "a..b", "nul\x00", "line\nfeed", "esc\x1b[31m", "rtl\u202e", " pad"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_in_a_body_are_400(server: Server, name: str) -> None:
    headers = signed_in_admin(server)
    response = server.client.post("/api/users", json={"name": name}, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "urn:bastion:problem:bad-request"
    assert [u.name for u in server.accounts.list()] == ["root"]


@pytest.mark.parametrize("encoded", ["a..b", "nul%00", "line%0Afeed", "esc%1B", "rtl%E2%80%AE"])
def test_bad_names_in_a_path_are_400_before_anything_else(server: Server, encoded: str) -> None:
    anonymous = server.client.post(f"/api/users/{encoded}/disable")
    assert anonymous.status_code == 400  # refused before the permission check: not audited
    assert server.audit.events == []
    headers = signed_in_admin(server)
    response = server.client.post(
        f"/api/users/{encoded}/grants", json={"role": "admin"}, headers=headers
    )
    assert response.status_code == 400
    assert "path parameter 'name'" in response.json()["detail"]


def test_a_slash_or_dot_segment_in_a_path_name_matches_no_route(server: Server) -> None:
    headers = signed_in_admin(server)
    slash = server.client.post("/api/users/a%2Fb/disable", headers=headers)
    assert slash.status_code == 404  # decoded to a/b: another path, which does not exist
    dots = server.client.post("/api/users/../disable", headers=headers)
    assert dots.status_code == 404  # the client resolves it to /api/disable


def test_login_sends_security_headers_and_a_csp_without_script(server: Server) -> None:
    response = server.client.get("/login")
    headers = response.headers
    assert headers["content-security-policy"] == CSP
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # falls back to 'none': no script runs at all
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in headers  # no TLS here
    page = response.text.lower()
    assert "<script" not in page
    assert " style=" not in page
    assert " onclick=" not in page
    assert " onload=" not in page


@pytest.mark.parametrize("path", ["/api/boom", "/boom"])
def test_an_unhandled_error_is_a_bare_500(
    server: Server, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = server.client.app
    assert isinstance(app, FastAPI)

    def boom() -> None:
        raise RuntimeError("db password hunter2 at /srv/secret.conf")

    app.add_api_route(path, boom, **guarded(Permission.PUBLIC))
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get(path)
    assert response.status_code == 500
    for leak in ("hunter2", "Traceback", "RuntimeError", "secret.conf", 'File "'):
        assert leak not in response.text
    assert "internal error" in response.text
    assert "hunter2" in caplog.text  # the operator's log has it
