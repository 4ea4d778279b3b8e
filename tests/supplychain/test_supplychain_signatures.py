"""Signature checks against trusted keys: any flipped byte fails (property test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st
from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]

from bastion.errors import VerificationError
from bastion.supplychain.dsse import Envelope, EnvelopeSignature, sign_payload
from bastion.supplychain.keys import TrustedKey, fingerprint, sslib_key_from_pem
from bastion.supplychain.signatures import signing_keys, verify_envelope_signatures

_PRIVATE = ed25519.Ed25519PrivateKey.generate()
_PEM = _PRIVATE.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
_SIGNER = CryptoSigner(_PRIVATE, sslib_key_from_pem(_PEM))
_KEY = TrustedKey(
    keyid=_SIGNER.public_key.keyid,
    fingerprint=fingerprint(_PEM),
    public_pem=_PEM.decode(),
    label="test",
    added=datetime(2026, 1, 1, tzinfo=UTC),
)
_PAYLOAD = b'{"_type":"https://in-toto.io/Statement/v1","predicate":{}}'
_ENVELOPE = sign_payload(_PAYLOAD, _SIGNER)
_WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_untouched_envelope_verifies() -> None:
    assert verify_envelope_signatures(_ENVELOPE, [_KEY], _WHEN) == _KEY


@given(index=st.integers(min_value=0, max_value=len(_PAYLOAD) - 1), bit=st.integers(0, 7))
def test_any_flipped_payload_bit_fails(index: int, bit: int) -> None:
    payload = bytearray(_PAYLOAD)
    payload[index] ^= 1 << bit
    forged = Envelope(bytes(payload), _ENVELOPE.payload_type, _ENVELOPE.signatures)
    assert signing_keys(forged, [_KEY]) == []


@given(index=st.integers(min_value=0, max_value=63), bit=st.integers(0, 7))
def test_any_flipped_signature_bit_fails(index: int, bit: int) -> None:
    sig = bytearray(_ENVELOPE.signatures[0].sig)
    sig[index] ^= 1 << bit
    forged = Envelope(
        _PAYLOAD, _ENVELOPE.payload_type, (EnvelopeSignature(_KEY.keyid, bytes(sig)),)
    )
    assert signing_keys(forged, [_KEY]) == []


def test_changed_payload_type_fails() -> None:
    forged = Envelope(_PAYLOAD, "application/json", _ENVELOPE.signatures)
    assert signing_keys(forged, [_KEY]) == []


def test_empty_keyid_is_tried_against_every_key() -> None:
    anonymous = Envelope(
        _PAYLOAD, _ENVELOPE.payload_type, (EnvelopeSignature("", _ENVELOPE.signatures[0].sig),)
    )
    assert signing_keys(anonymous, [_KEY]) == [_KEY]


def test_a_corrupt_registry_entry_verifies_nothing() -> None:
    broken = TrustedKey(_KEY.keyid, _KEY.fingerprint, "not a pem", "broken", _KEY.added)
    assert signing_keys(_ENVELOPE, [broken]) == []


@pytest.mark.parametrize(
    ("revoked_at", "compromised", "ok"),
    [
        (_WHEN + timedelta(seconds=1), False, True),
        (_WHEN, False, False),
        (_WHEN + timedelta(days=365), True, False),
    ],
)
def test_revocation_is_judged_at_the_signing_time(
    revoked_at: datetime, compromised: bool, ok: bool
) -> None:
    key = TrustedKey(
        _KEY.keyid, _KEY.fingerprint, _KEY.public_pem, "t", _KEY.added, revoked_at, compromised
    )
    if ok:
        assert verify_envelope_signatures(_ENVELOPE, [key], _WHEN) == key
    else:
        with pytest.raises(VerificationError) as info:
            verify_envelope_signatures(_ENVELOPE, [key], _WHEN)
        assert info.value.reason == "key-revoked"
