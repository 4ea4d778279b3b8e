"""Job identity tokens: short-lived ES256 JWTs, their JWKS and OpenID discovery document.

>>> issuer = IdentityIssuer("https://ci.example", clock=lambda: 1_900_000_000)
>>> token = issuer.mint(JobIdentity("acme/api", "refs/heads/main", "c0ffee", Trust.TRUSTED,
...                     "prod", 42, "deploy"), audience="sts.example")
>>> token.count(".")
2

Only ``trusted`` and ``release`` jobs get a token (:class:`IdentityRefusedError` otherwise;
an operator may add ``internal``, never ``untrusted``, ``local`` or ``dirty``).
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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bastion.errors import BastionError
from bastion.trust import Trust

__all__ = [
    "DEFAULT_ISSUING",
    "MAX_LIFETIME",
    "IdentityIssuer",
    "IdentityRefusedError",
    "JobIdentity",
    "SigningKey",
    "kid_of",
    "new_signing_key",
    "retire_and_add",
]

MAX_LIFETIME = 600
DEFAULT_ISSUING = frozenset({Trust.TRUSTED, Trust.RELEASE})
# A setting may widen the default to internal runs; these never speak for a repository.
_NEVER = frozenset({Trust.UNTRUSTED, Trust.LOCAL, Trust.DIRTY})


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
class SigningKey:
    """One P-256 signing key: its id, when it was made, and when it stopped signing."""

    kid: str
    private: ec.EllipticCurvePrivateKey = field(repr=False)
    created_at: float = 0.0
    retired_at: float | None = None
    # Seconds it stays published after retirement beyond the token lifetime; None: the
    # issuer's default. Set by an on-demand rotation (``bastion keys rotate oidc --overlap``).
    overlap: float | None = None

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


def kid_of(private: ec.EllipticCurvePrivateKey) -> str:
    """The key id: derived from the public key, so it cannot be swapped onto another key."""
    numbers = private.public_key().public_numbers()
    digest = hashlib.sha256(numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big"))
    return _b64(digest.digest()[:16])


def new_signing_key(now: float) -> SigningKey:
    """A fresh P-256 key made at ``now``."""
    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid_of(private), private, created_at=now)


def retire_and_add(
    keys: Sequence[SigningKey], now: float, overlap: float | None = None
) -> list[SigningKey]:
    """``keys`` with every one retired at ``now`` (those not retired yet get ``overlap``)
    and a fresh signing key first."""
    if overlap is not None and overlap < 0:
        raise IdentityRefusedError(f"overlap {overlap} s is negative")
    for key in keys:
        if key.retired_at is None:
            key.retired_at, key.overlap = now, overlap
    return [new_signing_key(now), *keys]


class IdentityIssuer:
    """Mints job tokens for one issuer URL; ``on_issue`` is told of every issuance (audit).

    ``keys`` are the persisted signing keys, newest (the signing one) first; without them a
    fresh key is made. ``rotate_after`` (seconds) rotates the signing key once it is that
    old, checked at each mint; ``on_change`` is given the keys after every rotation or
    pruning, to persist them. ``issuing`` is the set of run trusts that get a token.
    """

    def __init__(
        self,
        issuer: str,
        *,
        lifetime: int = 300,
        overlap: int = 3600,
        clock: Callable[[], float] = time.time,
        on_issue: Callable[[dict[str, Any]], None] | None = None,
        keys: Sequence[SigningKey] = (),
        rotate_after: float | None = None,
        on_change: Callable[[Sequence[SigningKey]], None] | None = None,
        issuing: frozenset[Trust] = DEFAULT_ISSUING,
        reload: Callable[[], Sequence[SigningKey] | None] | None = None,
    ) -> None:
        if not 0 < lifetime <= MAX_LIFETIME:
            raise IdentityRefusedError(f"a token lives at most {MAX_LIFETIME} seconds")
        if not issuer.startswith("https://") and not issuer.startswith("http://127.0.0.1"):
            raise IdentityRefusedError("the issuer must be an https:// URL")
        if issuing & _NEVER:
            refused = ", ".join(sorted(t.value for t in issuing & _NEVER))
            raise IdentityRefusedError(f"{refused} runs can never get an identity token")
        if keys and keys[0].retired_at is not None:
            raise IdentityRefusedError("the newest signing key is retired: nothing would sign")
        self.issuer, self._lifetime, self._overlap = issuer.rstrip("/"), lifetime, overlap
        self._clock, self._on_issue, self._on_change = clock, on_issue, on_change
        self._rotate_after, self.issuing = rotate_after, issuing
        self._keys = list(keys) or [new_signing_key(clock())]
        self._reload = reload
        self._lock = threading.RLock()  # runs mint from several threads; one rotation wins

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """The keys held, the signing one first (to persist them)."""
        return tuple(self._keys)

    def issues_for(self, trust: Trust) -> bool:
        """Whether a run of ``trust`` may get a token from this issuer."""
        return trust in self.issuing

    def rotate(self, overlap: float | None = None) -> str:
        """Sign with a new key from now on; the old one is published until it is safe to
        drop: every token it signed has expired, plus ``overlap`` seconds (default: the
        issuer's). The new key's id."""
        with self._lock:
            self._keys = retire_and_add(self._keys, self._clock(), overlap)
            self._changed()
            return self._keys[0].kid

    def _refresh(self) -> None:
        """Take the keys another process rotated (``bastion keys rotate oidc``), if any."""
        if self._reload is None:
            return
        keys = self._reload()
        if keys and keys[0].retired_at is None:
            self._keys = list(keys)

    def _signing_key(self) -> SigningKey:
        """The key that signs now, rotated first if it is past ``rotate_after``."""
        with self._lock:
            self._refresh()
            age = self._clock() - self._keys[0].created_at
            if self._rotate_after is not None and age >= self._rotate_after:
                self.rotate()
            return self._keys[0]

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.keys)

    def jwks(self) -> dict[str, Any]:
        """The published keys: the active one and the retired ones still in their window."""
        now = self._clock()
        with self._lock:
            self._refresh()
            kept = [k for k in self._keys if self._published(k, now)]
            if len(kept) != len(self._keys):
                self._keys = kept
                self._changed()
            return {"keys": [k.jwk() for k in kept]}

    def _published(self, key: SigningKey, now: float) -> bool:
        if key.retired_at is None:
            return True
        overlap = self._overlap if key.overlap is None else key.overlap
        return now - key.retired_at < self._lifetime + overlap

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

    def mint(self, identity: JobIdentity, *, audience: str | Sequence[str]) -> str:
        """A signed token for ``identity``; IdentityRefusedError for a job whose run trust
        gets none or a malformed audience (one string, or a list of 1 to 8)."""
        if identity.trust not in self.issuing:
            raise IdentityRefusedError(f"a {identity.trust.value} job gets no identity token")
        audiences = [audience] if isinstance(audience, str) else list(audience)
        if not 0 < len(audiences) <= 8 or not all(0 < len(a) <= 256 for a in audiences):
            raise IdentityRefusedError("an audience is 1 to 8 names of 1 to 256 characters")
        key = self._signing_key()
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"repo:{identity.repo}:ref:{identity.ref}:environment:{identity.environment}",
            "aud": audience if isinstance(audience, str) else audiences,
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
