"""DSSE envelopes: pre-authentication encoding, signing and parsing of the exact bytes.

Written here rather than taken from ``securesystemslib.dsse`` because that class mutates its
input while parsing and accepts envelopes we must refuse (e.g. no payload type check); the
format stays the same, and tests check it against ``securesystemslib`` and ``in-toto`` as
independent readers and against the DSSE specification's own test vector.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from securesystemslib.signer import Signer  # type: ignore[attr-defined]

from bastion.errors import SigningError, VerificationError

__all__ = [
    "INTOTO_PAYLOAD_TYPE",
    "Envelope",
    "EnvelopeSignature",
    "pae",
    "sign_payload",
]

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 <len> <type> <len> <body>``.

    Lengths count bytes (UTF-8 for the type), written in ASCII decimal.
    """
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def _b64decode(text: object, field: str) -> bytes:
    if not isinstance(text, str):
        raise VerificationError(f"envelope {field} is not a string", reason="envelope-malformed")
    # The DSSE spec lets signers use either alphabet; verifiers must accept both.
    normalised = text.replace("-", "+").replace("_", "/")
    normalised += "=" * (-len(normalised) % 4)
    try:
        return base64.b64decode(normalised, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(
            f"envelope {field} is not valid base64", reason="envelope-malformed"
        ) from exc


@dataclass(frozen=True)
class EnvelopeSignature:
    """One DSSE signature: the raw signature bytes and the (unauthenticated) key id."""

    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope. ``payload`` is kept as the exact bytes that were signed."""

    payload: bytes
    payload_type: str
    signatures: tuple[EnvelopeSignature, ...]

    def pae(self) -> bytes:
        """The bytes every signature in this envelope covers."""
        return pae(self.payload_type, self.payload)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (standard base64, the layout cosign and in-toto read)."""
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode("ascii")}
                for s in self.signatures
            ],
        }

    def to_json(self) -> bytes:
        """The envelope as UTF-8 JSON bytes."""
        return json.dumps(self.to_dict(), indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        """Parse an envelope; raise VerificationError(``envelope-malformed``) when invalid."""
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VerificationError(
                f"envelope is not JSON: {exc}", reason="envelope-malformed"
            ) from exc
        if not isinstance(doc, dict):
            raise VerificationError("envelope is not a JSON object", reason="envelope-malformed")
        payload_type = doc.get("payloadType")
        if not isinstance(payload_type, str) or not payload_type:
            raise VerificationError("envelope has no payloadType", reason="envelope-malformed")
        raw_signatures = doc.get("signatures")
        if not isinstance(raw_signatures, list):
            raise VerificationError("envelope has no signatures list", reason="envelope-malformed")
        signatures = []
        for raw in raw_signatures:
            if not isinstance(raw, dict):
                raise VerificationError("signature is not an object", reason="envelope-malformed")
            keyid = raw.get("keyid", "")
            if not isinstance(keyid, str):
                raise VerificationError("signature keyid is not text", reason="envelope-malformed")
            signatures.append(EnvelopeSignature(keyid, _b64decode(raw.get("sig"), "sig")))
        payload = _b64decode(doc.get("payload"), "payload")
        return cls(payload, payload_type, tuple(signatures))


def sign_payload(payload: bytes, signer: Signer | None) -> Envelope:
    """Wrap ``payload`` (an in-toto statement) in an envelope signed by ``signer``.

    ``signer`` None gives an envelope with no signature: unsigned provenance.
    """
    if signer is None:
        return Envelope(payload, INTOTO_PAYLOAD_TYPE, ())
    try:
        signature = signer.sign(pae(INTOTO_PAYLOAD_TYPE, payload))
        raw = bytes.fromhex(signature.signature)
    except (ValueError, OSError) as exc:
        raise SigningError(
            f"the signer failed: {exc}", hint="check the signing key and its backend"
        ) from exc
    return Envelope(payload, INTOTO_PAYLOAD_TYPE, (EnvelopeSignature(signature.keyid, raw),))
