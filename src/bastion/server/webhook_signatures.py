"""Forge webhook headers and signatures: GitHub, GitLab and Gitea/Forgejo.

>>> body = b'{"zen": "hi"}'
>>> sig = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
>>> verify_signature(Forge.GITHUB, read_headers(Forge.GITHUB, {
...     "x-github-delivery": "d-1", "x-github-event": "push", "x-hub-signature-256": sig}),
...     body, WebhookSecret("s3cret"), now=0.0)

Every comparison is constant-time (:func:`hmac.compare_digest`) over the exact body bytes
received, never a re-serialisation. Headers that are missing or not of the documented form
are a :class:`~bastion.server.errors.BadRequestError` (400); a signature that does not
verify is a :class:`ForgedWebhookError` (401).

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``, delivery id in
  ``X-GitHub-Delivery``, event in ``X-GitHub-Event``.
- Gitea and Forgejo: ``X-Gitea-Signature`` (or ``X-Forgejo-Signature``): the bare hex HMAC,
  ``X-Gitea-Delivery``/``X-Forgejo-Delivery``, ``X-Gitea-Event``/``X-Forgejo-Event``.
- GitLab: ``X-Gitlab-Token`` (the secret itself), delivery id in ``X-Gitlab-Event-UUID``,
  event in ``X-Gitlab-Event``. Where a signing token is configured, the signed webhooks
  (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature:
  v1,<base64 HMAC-SHA256(key, id.timestamp.body)>``) are required as well, with the
  timestamp at most :data:`SIGNED_TOLERANCE` seconds from now.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bastion.server.errors import BadRequestError, NotAuthenticatedError

__all__ = [
    "SIGNED_TOLERANCE",
    "Forge",
    "ForgedWebhookError",
    "WebhookHeaders",
    "WebhookSecret",
    "read_headers",
    "verify_signature",
]

SIGNED_TOLERANCE = 300
_DELIVERY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_EVENT = re.compile(r"[A-Za-z _-]{1,64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class Forge(enum.StrEnum):
    """The forges whose webhooks the server accepts."""

    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"


class ForgedWebhookError(NotAuthenticatedError):
    """The delivery's signature (or token) does not verify with the repository's secret."""

    kind = "webhook-signature"


@dataclass(frozen=True)
class WebhookSecret:
    """A repository's webhook secret; ``signing_key`` is GitLab's signing token (``whsec_``
    and base64), required when set."""

    secret: str = field(repr=False)
    signing_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WebhookHeaders:
    """What a delivery's headers say, checked for form but not yet verified."""

    delivery: str
    event: str
    signature: str
    signed: tuple[str, str, str] | None = None  # GitLab: webhook-id, -timestamp, -signature


def _one(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def _required(headers: Mapping[str, str], pattern: re.Pattern[str], *names: str) -> str:
    value = _one(headers, *names)
    if value is None or not pattern.fullmatch(value):
        raise BadRequestError(f"missing or malformed {names[0]} header")
    return value


def read_headers(forge: Forge, headers: Mapping[str, str]) -> WebhookHeaders:
    """The delivery id, event and signature of ``forge``'s headers (lower-case names)."""
    if forge is Forge.GITHUB:
        delivery = _required(headers, _DELIVERY, "x-github-delivery")
        event = _required(headers, _EVENT, "x-github-event")
        signature = _one(headers, "x-hub-signature-256") or ""
        if not signature.startswith("sha256=") or not _HEX64.fullmatch(signature[7:]):
            raise BadRequestError("missing or malformed x-hub-signature-256 header")
        return WebhookHeaders(delivery, event, signature[7:])
    if forge is Forge.GITEA:
        delivery = _required(headers, _DELIVERY, "x-gitea-delivery", "x-forgejo-delivery")
        event = _required(headers, _EVENT, "x-gitea-event", "x-forgejo-event")
        signature = _required(headers, _HEX64, "x-gitea-signature", "x-forgejo-signature")
        return WebhookHeaders(delivery, event, signature)
    delivery = _required(headers, _DELIVERY, "x-gitlab-event-uuid")
    event = _required(headers, _EVENT, "x-gitlab-event")
    token = _one(headers, "x-gitlab-token") or ""
    if not 0 < len(token) <= 256:
        raise BadRequestError("missing or malformed x-gitlab-token header")
    parts = [headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")]
    signed = None
    if all(p is not None for p in parts):
        wid, stamp, sig = (str(p) for p in parts)
        if not _DELIVERY.fullmatch(wid) or not stamp.isdigit() or len(stamp) > 12:
            raise BadRequestError("malformed webhook-id or webhook-timestamp header")
        signed = (wid, stamp, sig)
    return WebhookHeaders(delivery, event, token, signed)


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _gitlab_signed(headers: WebhookHeaders, body: bytes, key: str, now: float) -> bool:
    if headers.signed is None:
        return False
    wid, stamp, signatures = headers.signed
    if abs(now - int(stamp)) > SIGNED_TOLERANCE:
        return False
    try:
        raw_key = base64.b64decode(key.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        return False
    digest = hmac.new(raw_key, f"{wid}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    # The header may list several space-separated signatures (key rotation): any may match.
    return any(hmac.compare_digest(expected, s) for s in signatures.split() if s)


def verify_signature(
    forge: Forge, headers: WebhookHeaders, body: bytes, secret: WebhookSecret, *, now: float
) -> None:
    """ForgedWebhookError unless ``body`` is signed (or GitLab's token matches) with
    ``secret``; ``now`` (Unix seconds) bounds GitLab's signed timestamp."""
    if forge is Forge.GITLAB:
        ok = hmac.compare_digest(headers.signature.encode(), secret.secret.encode())
        if secret.signing_key is not None:
            ok = _gitlab_signed(headers, body, secret.signing_key, now) and ok
    else:
        ok = hmac.compare_digest(headers.signature, _hmac_hex(secret.secret, body))
    if not ok:
        raise ForgedWebhookError(f"the {forge.value} webhook's signature does not verify")
