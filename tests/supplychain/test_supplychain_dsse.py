"""DSSE: the spec's PAE and signature vector, round trips, malformed input, interop."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import CryptoSigner, Signature  # type: ignore[attr-defined]

from bastion.errors import SigningError, VerificationError
from bastion.supplychain.dsse import (
    INTOTO_PAYLOAD_TYPE,
    Envelope,
    EnvelopeSignature,
    pae,
    sign_payload,
)

# The DSSE specification's test vector (protocol.md, "Test Vectors").
SPEC_TYPE = "http://example.com/HelloWorld"
SPEC_BODY = b"hello world"
SPEC_X = 46950820868899156662930047687818585632848591499744589407958293238635476079160
SPEC_Y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
SPEC_SIG = (
    "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="
)


def test_pae_matches_the_spec_vector() -> None:
    assert pae(SPEC_TYPE, SPEC_BODY) == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_pae_counts_utf8_bytes_not_characters() -> None:
    assert pae("é", "é".encode()) == b"DSSEv1 2 \xc3\xa9 2 \xc3\xa9"


def test_spec_signature_verifies_over_our_pae() -> None:
    public = ec.EllipticCurvePublicNumbers(SPEC_X, SPEC_Y, ec.SECP256R1()).public_key()
    raw = base64.b64decode(SPEC_SIG)  # r || s, 32 bytes each
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, pae(SPEC_TYPE, SPEC_BODY), ec.ECDSA(hashes.SHA256()))


def test_spec_envelope_parses() -> None:
    doc = {
        "payload": "aGVsbG8gd29ybGQ=",
        "payloadType": SPEC_TYPE,
        "signatures": [{"sig": SPEC_SIG}],
    }
    envelope = Envelope.from_json(json.dumps(doc).encode())
    assert envelope.payload == SPEC_BODY
    assert envelope.signatures[0].keyid == ""
    assert envelope.signatures[0].sig == base64.b64decode(SPEC_SIG)


@given(
    payload=st.binary(max_size=256),
    sig=st.binary(min_size=1, max_size=80),
    keyid=st.text(max_size=20),
)
def test_envelope_round_trips(payload: bytes, sig: bytes, keyid: str) -> None:
    envelope = Envelope(payload, INTOTO_PAYLOAD_TYPE, (EnvelopeSignature(keyid, sig),))
    assert Envelope.from_json(envelope.to_json()) == envelope


def test_url_safe_base64_is_accepted() -> None:
    doc = {
        "payload": base64.urlsafe_b64encode(b"\xfb\xff").decode().rstrip("="),
        "payloadType": "t",
        "signatures": [],
    }
    assert Envelope.from_json(json.dumps(doc).encode()).payload == b"\xfb\xff"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"payload": "aGk=", "signatures": []}',
        b'{"payload": "aGk=", "payloadType": "t"}',
        b'{"payload": "!!!", "payloadType": "t", "signatures": []}',
        b'{"payload": 3, "payloadType": "t", "signatures": []}',
        b'{"payload": "aGk=", "payloadType": "t", "signatures": [3]}',
        b'{"payload": "aGk=", "payloadType": "t", "signatures": [{"keyid": 1, "sig": "aGk="}]}',
    ],
)
def test_malformed_envelopes_are_refused(raw: bytes) -> None:
    with pytest.raises(VerificationError) as info:
        Envelope.from_json(raw)
    assert info.value.reason == "envelope-malformed"


@pytest.mark.parametrize("make", [CryptoSigner.generate_ecdsa, CryptoSigner.generate_ed25519])
def test_securesystemslib_verifies_our_envelopes(make: object) -> None:
    signer = make()  # type: ignore[operator]
    envelope = sign_payload(b'{"_type": "x"}', signer)
    theirs = SslibEnvelope.from_dict(json.loads(envelope.to_json()))
    assert theirs.payload == envelope.payload
    assert list(theirs.verify([signer.public_key], 1)) == [signer.public_key.keyid]


def test_unsigned_envelope_has_no_signature() -> None:
    assert sign_payload(b"{}", None).signatures == ()


def test_a_failing_signer_raises_signing_error() -> None:
    class Broken(CryptoSigner):
        def sign(self, payload: bytes) -> Signature:
            raise OSError("hardware token unplugged")

    signer = CryptoSigner.generate_ed25519()
    broken = Broken(signer._private_key)  # test-only access to build a failing signer
    with pytest.raises(SigningError):
        sign_payload(b"{}", broken)
