"""Job identity tokens: short-lived ES256 JWTs, their JWKS and OpenID discovery document.

>>> issuer = IdentityIssuer("https://ci.example", clock=lambda: 1_900_000_000)
>>> token = issuer.mint(JobIdentity("acme/api", "refs/heads/main", "c0ffee", Trust.TRUSTED,
...                     "prod", 42, "deploy"), audience="sts.example")
>>> token.count(".")
2

Only ``trusted`` and ``release`` jobs get a token (:class:`IdentityRefusedError` otherwise).
Keys rotate with an overlap window: after :meth:`IdentityIssuer.rotate` the new key signs,
and the old one stays in the JWKS until every token it signed has expired plus ``overlap``,
so a verifier that cached the old set keeps working and none accepts a rotated-away key
after that.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bastion.errors import BastionError
from bastion.trust import Trust

__all__ = ["MAX_LIFETIME", "IdentityIssuer", "IdentityRefusedError", "JobIdentity"]

MAX_LIFETIME = 600
_ISSUING = frozenset({Trust.TRUSTED, Trust.RELEASE})


class IdentityRefusedError(BastionError):
    """The job may not have an identity token (its trust, or a malformed request)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(value: int) -> str:
    return _b64(value.to_bytes(32, "big"))


@dataclass(frozen=True)
class JobIdentity:
    """Who a token speaks for: the job of a run, at a commit, with the server's trust."""

    repo: str
    ref: str
    sha: str
    trust: Trust
    environment: str
    run_id: int
    job: str


@dataclass
class _Key:
    kid: str
    private: ec.EllipticCurvePrivateKey = field(repr=False)
    retired_at: float | None = None

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _int_b64(numbers.x),
            "y": _int_b64(numbers.y),
            "alg": "ES256",
            "use": "sig",
            "kid": self.kid,
        }


def _new_key() -> _Key:
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    digest = hashlib.sha256(numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big"))
    return _Key(_b64(digest.digest()[:16]), private)


class IdentityIssuer:
    """Mints job tokens for one issuer URL; ``on_issue`` is told of every issuance (audit)."""

    def __init__(
        self,
        issuer: str,
        *,
        lifetime: int = 300,
        overlap: int = 3600,
        clock: Callable[[], float] = time.time,
        on_issue: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if not 0 < lifetime <= MAX_LIFETIME:
            raise IdentityRefusedError(f"a token lives at most {MAX_LIFETIME} seconds")
        if not issuer.startswith("https://") and not issuer.startswith("http://127.0.0.1"):
            raise IdentityRefusedError("the issuer must be an https:// URL")
        self.issuer, self._lifetime, self._overlap = issuer.rstrip("/"), lifetime, overlap
        self._clock, self._on_issue = clock, on_issue
        self._keys = [_new_key()]

    def rotate(self) -> str:
        """Sign with a new key from now on; the old one is published until it is safe to
        drop. The new key's id."""
        now = self._clock()
        for key in self._keys:
            key.retired_at = key.retired_at or now
        self._keys.insert(0, _new_key())
        return self._keys[0].kid

    def jwks(self) -> dict[str, Any]:
        """The published keys: the active one and the retired ones still in their window."""
        now = self._clock()
        keep = self._lifetime + self._overlap
        self._keys = [k for k in self._keys if k.retired_at is None or now - k.retired_at < keep]
        return {"keys": [k.jwk() for k in self._keys]}

    def discovery(self) -> dict[str, Any]:
        """The OpenID Connect discovery document."""
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "repo",
                "ref",
                "sha",
                "trust",
                "environment",
                "run_id",
                "job",
                "jti",
                "iat",
                "nbf",
                "exp",
            ],
        }

    def mint(self, identity: JobIdentity, *, audience: str) -> str:
        """A signed token for ``identity``; IdentityRefusedError for an untrusted job."""
        if identity.trust not in _ISSUING:
            raise IdentityRefusedError(f"a {identity.trust.value} job gets no identity token")
        if not audience or len(audience) > 256:
            raise IdentityRefusedError("the audience must be 1 to 256 characters")
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"repo:{identity.repo}:ref:{identity.ref}:environment:{identity.environment}",
            "aud": audience,
            "repo": identity.repo,
            "ref": identity.ref,
            "sha": identity.sha,
            "trust": identity.trust.value,
            "environment": identity.environment,
            "run_id": identity.run_id,
            "job": identity.job,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "nbf": now,
            "exp": now + self._lifetime,
        }
        key = self._keys[0]
        header = {"alg": "ES256", "typ": "JWT", "kid": key.kid}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = key.private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        token = f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
        if self._on_issue is not None:
            self._on_issue({k: claims[k] for k in ("sub", "aud", "jti", "exp")} | {"kid": key.kid})
        return token
