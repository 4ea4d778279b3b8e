"""The server as an OIDC issuer (issue 14): discovery and JWKS served publicly, and tokens
minted by the issuer the app publishes verified by PyJWT fetching the JWKS over HTTP from
the app on a loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
import uvicorn

from bastion.server import ServerServices, ServerSettings, create_app
from bastion.store import open_database, sqlite_url
from bastion.trust import Trust
from bastion.vault import IdentityIssuer, JobIdentity, open_identity_issuer, rotate_identity_keys
from tests.server.conftest import Clock, ListSink, Server, make_server

JOB = JobIdentity("acme/api", "refs/tags/v1", "c" * 40, Trust.RELEASE, "prod", 3, "deploy")


@dataclass
class Live:
    base: str
    issuer: IdentityIssuer


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """The app under uvicorn on 127.0.0.1 with an issuer whose keys are under tmp_path."""
    db = open_database(sqlite_url(tmp_path / "server.db"))
    issuer = open_identity_issuer(tmp_path, "https://ci.example")
    settings = ServerSettings("127.0.0.1", 8080, "unused")
    app = create_app(settings, ServerServices(db, ListSink(), Clock(), identity=issuer))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Live(f"http://127.0.0.1:{port}", issuer)
    finally:
        server.should_exit = True
        thread.join(10)
        db.dispose()


def _verify(
    live: Live, token: str, audience: str = "sts", iss: str = "https://ci.example"
) -> dict[str, object]:
    client = jwt.PyJWKClient(f"{live.base}/.well-known/jwks.json", cache_keys=False)
    key = client.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token, key.key, algorithms=["ES256"], audience=audience, issuer=iss
    )
    return claims


def test_pyjwt_verifies_a_token_against_the_served_jwks(live: Live) -> None:
    discovery = httpx.get(f"{live.base}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == "https://ci.example"
    assert discovery["jwks_uri"] == "https://ci.example/.well-known/jwks.json"
    claims = _verify(live, live.issuer.mint(JOB, audience="sts"))
    assert claims["sub"] == "repo:acme/api:ref:refs/tags/v1:environment:prod"
    assert claims["trust"] == "release"


def test_wrong_audience_issuer_expired_and_rotated_away_are_rejected(live: Live) -> None:
    token = live.issuer.mint(JOB, audience="sts")
    with pytest.raises(jwt.InvalidAudienceError):
        _verify(live, token, audience="vault")
    with pytest.raises(jwt.InvalidIssuerError):
        _verify(live, token, iss="https://evil.example")
    forged = token.rsplit(".", 1)[0] + "." + "A" * 86
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(live, forged)
    live.issuer.rotate()
    _verify(live, token)  # still in its overlap window
    for key in live.issuer.keys[1:]:
        key.retired_at = time.time() - 10**6  # long past lifetime + overlap
    with pytest.raises(jwt.PyJWKClientError):
        _verify(live, token)
    old = IdentityIssuer("https://ci.example", clock=lambda: time.time() - 700)
    with pytest.raises(jwt.PyJWKClientError):  # another key: not in the served set either
        _verify(live, old.mint(JOB, audience="sts"))


def test_an_expired_token_is_rejected(tmp_path: Path) -> None:
    issuer = IdentityIssuer("https://ci.example", clock=lambda: time.time() - 700)
    key = jwt.PyJWK(issuer.jwks()["keys"][0]).key
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(issuer.mint(JOB, audience="a"), key, algorithms=["ES256"], audience="a")


def test_documents_are_public_and_publish_no_private_part(server: Server) -> None:
    response = server.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "alg", "use", "kid"}  # no "d"
    assert server.client.get("/.well-known/openid-configuration").status_code == 200
    assert "request.denied" not in server.audit.actions()


def test_a_server_without_an_https_issuer_publishes_nothing(tmp_path: Path) -> None:
    made = make_server(tmp_path, oidc_issuer="http://ci.example")
    try:
        assert made.client.get("/.well-known/jwks.json").status_code == 404
        assert made.client.get("/.well-known/openid-configuration").status_code == 404
    finally:
        made.client.close()
        made.db.dispose()


def test_a_rotation_beside_the_running_server_is_served_with_its_overlap(
    live: Live, tmp_path: Path
) -> None:
    """Issue 18: ``bastion keys rotate oidc`` rewrites the key file while the server runs; the
    server signs with the new key at once and serves the old one, so earlier tokens verify."""
    before = live.issuer.mint(JOB, audience="sts")
    new, old = rotate_identity_keys(tmp_path, overlap=1800)
    after = live.issuer.mint(JOB, audience="sts")
    assert jwt.get_unverified_header(after)["kid"] == new.kid
    assert old is not None
    assert jwt.get_unverified_header(before)["kid"] == old.kid
    served = httpx.get(f"{live.base}/.well-known/jwks.json").json()
    assert [k["kid"] for k in served["keys"]] == [new.kid, old.kid]
    assert _verify(live, before)["trust"] == "release"
    assert _verify(live, after)["trust"] == "release"
