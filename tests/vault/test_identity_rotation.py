"""On-demand rotation of the job-identity signing key with an overlap window (issue 18).

``rotate_identity_keys`` (``bastion keys rotate oidc --overlap``) rewrites the key file; a
running issuer (the server) picks it up at its next token or JWKS request. A token signed
before the rotation verifies against the published JWKS for the token's lifetime plus the
overlap; after that its key is gone from the JWKS and the token is refused.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from bastion.trust import Trust
from bastion.vault import (
    IdentityIssuer,
    IdentityRefusedError,
    JobIdentity,
    identity_keys_path,
    load_signing_keys,
    open_identity_issuer,
    rotate_identity_keys,
)

ISSUER = "https://ci.example"
JOB = JobIdentity("acme/api", "refs/heads/main", "c0ffee", Trust.TRUSTED, "prod", 7, "deploy")


class Clock:
    """The issuer's time, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def _verify(token: str, issuer: IdentityIssuer) -> dict[str, Any]:
    """What a relying party does: find the token's key in the published JWKS, check it."""
    kid = jwt.get_unverified_header(token)["kid"]
    keys = {k["kid"]: k for k in issuer.jwks()["keys"]}
    if kid not in keys:
        raise jwt.InvalidKeyError(f"no published key {kid}")
    key = jwt.PyJWK.from_dict(keys[kid])
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["ES256"],
        audience="sts.example",
        # The test's clock runs ahead of the real one: the window is judged by the JWKS.
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    return claims


def test_a_token_from_before_verifies_in_the_overlap_and_is_refused_after(tmp_path: Any) -> None:
    clock = Clock()
    server = open_identity_issuer(tmp_path, ISSUER, clock=clock)  # the running server
    before = server.mint(JOB, audience="sts.example")
    old = jwt.get_unverified_header(before)["kid"]
    clock.now += 10
    new_key, retired = rotate_identity_keys(tmp_path, overlap=120, clock=clock)
    assert retired is not None
    assert retired.kid == old
    after = server.mint(JOB, audience="sts.example")
    assert jwt.get_unverified_header(after)["kid"] == new_key.kid  # the server took it up
    clock.now += 60
    assert _verify(before, server)["jti"]
    assert _verify(after, server)["jti"]
    assert [k["kid"] for k in server.jwks()["keys"]] == [new_key.kid, old]
    clock.now += 600 + 120  # the longest token lifetime plus the overlap since retirement
    with pytest.raises(jwt.InvalidKeyError, match="no published key"):
        _verify(before, server)
    assert _verify(after, server)["jti"]
    reopened = open_identity_issuer(tmp_path, ISSUER, clock=clock)  # after a restart too
    with pytest.raises(jwt.InvalidKeyError):
        _verify(before, reopened)


def test_the_overlap_is_kept_across_a_restart(tmp_path: Any) -> None:
    clock = Clock()
    token = open_identity_issuer(tmp_path, ISSUER, clock=clock).mint(JOB, audience="sts.example")
    rotate_identity_keys(tmp_path, overlap=7200, clock=clock)
    clock.now += 3600 + 600  # past the default overlap, inside the one asked for
    assert _verify(token, open_identity_issuer(tmp_path, ISSUER, clock=clock))["jti"]


def test_a_negative_overlap_is_refused(tmp_path: Any) -> None:
    open_identity_issuer(tmp_path, ISSUER)
    with pytest.raises(IdentityRefusedError, match="negative"):
        rotate_identity_keys(tmp_path, overlap=-1)


def test_a_servers_own_save_never_overwrites_a_rotation_made_beside_it(tmp_path: Any) -> None:
    """The race: ``keys rotate oidc`` rewrites the file, then the running server rotates
    from its older in-memory keys before it reloaded. The command's key must survive on
    disk and be the one the server signs with from its next request."""
    clock = Clock()
    server = open_identity_issuer(tmp_path, ISSUER, clock=clock)
    rotated, _ = rotate_identity_keys(tmp_path, clock=clock)
    server.rotate()  # the server's own change, made from keys read before the command's
    on_disk = [k.kid for k in load_signing_keys(identity_keys_path(tmp_path)) or []]
    assert on_disk[0] == rotated.kid
    token = server.mint(JOB, audience="sts.example")
    assert jwt.get_unverified_header(token)["kid"] == rotated.kid
