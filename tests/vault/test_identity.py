"""Job identity tokens (issue 14, part 3) verified by an independent JOSE library (PyJWT),
which fetches the JWKS over HTTP from a loopback server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest

from bastion.trust import Trust
from bastion.vault.identity import IdentityIssuer, IdentityRefusedError, JobIdentity

ISSUER = "https://ci.example"
JOB = JobIdentity("acme/api", "refs/heads/main", "c" * 40, Trust.TRUSTED, "prod", 7, "deploy")


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[IdentityIssuer, FakeClock, str, list[dict[str, Any]]]]:
    clock, issued = FakeClock(), list[dict[str, Any]]()
    issuer = IdentityIssuer(ISSUER, clock=clock, overlap=60, on_issue=issued.append)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(issuer.jwks()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer, clock, f"http://127.0.0.1:{http.server_address[1]}/jwks", issued
    finally:
        http.shutdown()
        http.server_close()
        thread.join(5)


def verify(token: str, url: str, audience: str = "sts", issuer: str = ISSUER) -> dict[str, Any]:
    key = jwt.PyJWKClient(url, cache_keys=False).get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["ES256"], audience=audience, issuer=issuer
    )
    return claims


def test_a_token_verifies_with_pyjwt_and_carries_every_claim(served: Any) -> None:
    issuer, _clock, url, issued = served
    claims = verify(issuer.mint(JOB, audience="sts"), url)
    assert claims["sub"] == "repo:acme/api:ref:refs/heads/main:environment:prod"
    assert {k: claims[k] for k in ("repo", "ref", "sha", "trust", "run_id", "job")} == {
        "repo": "acme/api",
        "ref": "refs/heads/main",
        "sha": "c" * 40,
        "trust": "trusted",
        "run_id": 7,
        "job": "deploy",
    }
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert claims["nbf"] == claims["iat"]
    assert [i["jti"] for i in issued] == [claims["jti"]]


def test_expired_wrong_audience_and_wrong_issuer_are_rejected(served: Any) -> None:
    issuer, clock, url, _ = served
    token = issuer.mint(JOB, audience="sts")
    with pytest.raises(jwt.InvalidAudienceError):
        verify(token, url, audience="other")
    with pytest.raises(jwt.InvalidIssuerError):
        verify(token, url, issuer="https://evil.example")
    clock.now -= 700  # minted 700 s ago: expired by the wall clock PyJWT reads
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(issuer.mint(JOB, audience="sts"), url)


def test_rotation_overlaps_then_drops_the_old_key(served: Any) -> None:
    issuer, clock, url, _ = served
    before = issuer.mint(JOB, audience="sts")
    issuer.rotate()
    after = issuer.mint(JOB, audience="sts")
    assert verify(before, url)["jti"] != verify(after, url)["jti"]  # both keys published
    clock.now += 300 + 61  # lifetime + overlap
    verify(after, url)
    with pytest.raises(jwt.PyJWKClientError):
        verify(before, url)


@pytest.mark.parametrize("trust", [Trust.UNTRUSTED, Trust.INTERNAL, Trust.LOCAL, Trust.DIRTY])
def test_only_trusted_and_release_jobs_get_a_token(trust: Trust) -> None:
    issuer = IdentityIssuer(ISSUER)
    lower = JobIdentity("r", "refs/heads/x", "c" * 40, trust, "e", 1, "j")
    with pytest.raises(IdentityRefusedError):
        issuer.mint(lower, audience="sts")


def test_lifetime_is_capped_at_ten_minutes() -> None:
    with pytest.raises(IdentityRefusedError):
        IdentityIssuer(ISSUER, lifetime=601)


def test_discovery_names_the_jwks() -> None:
    document = IdentityIssuer(ISSUER).discovery()
    assert document["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert document["id_token_signing_alg_values_supported"] == ["ES256"]
