"""Check DSSE signatures against the trusted keys, revocation included."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import Signature  # type: ignore[attr-defined]

from bastion.errors import UsageError, VerificationError
from bastion.supplychain.dsse import Envelope
from bastion.supplychain.keys import TrustedKey

__all__ = ["signing_keys", "verify_envelope_signatures"]


def signing_keys(envelope: Envelope, trusted: Sequence[TrustedKey]) -> list[TrustedKey]:
    """The trusted keys whose signature over the envelope's PAE verifies (revoked or not).

    A signature is tried against the keys with its key id; one with an empty key id (as
    cosign writes them) is tried against every trusted key.
    """
    message = envelope.pae()
    verified: dict[str, TrustedKey] = {}
    for signature in envelope.signatures:
        candidates = [k for k in trusted if not signature.keyid or k.keyid == signature.keyid]
        for key in candidates:
            try:
                sslib_key = key.sslib_key()
            except UsageError:
                continue  # an unreadable registry entry verifies nothing
            try:
                sslib_key.verify_signature(Signature(key.keyid, signature.sig.hex()), message)
            except (UnverifiedSignatureError, SslibVerificationError):
                continue
            verified[key.keyid] = key
    return list(verified.values())


def verify_envelope_signatures(
    envelope: Envelope, trusted: Sequence[TrustedKey], signed_at: datetime
) -> TrustedKey:
    """The trusted, unrevoked-at-``signed_at`` key that signed ``envelope``; else raise.

    Reason codes: ``unsigned``, ``signature-untrusted`` (no trusted key verifies),
    ``key-revoked`` (only keys revoked at ``signed_at`` verify).
    """
    if not envelope.signatures:
        raise VerificationError("the envelope carries no signature", reason="unsigned")
    keys = signing_keys(envelope, trusted)
    if not keys:
        raise VerificationError(
            "no trusted key verifies the signature",
            reason="signature-untrusted",
            hint="add the signer's public key with 'bastion keys add'",
        )
    for key in keys:
        if key.valid_at(signed_at):
            return key
    fingerprints = ", ".join(k.fingerprint for k in keys)
    raise VerificationError(
        f"signed by revoked key(s) {fingerprints} at {signed_at.isoformat()}",
        reason="key-revoked",
    )
