"""Independent checkers: in-toto, securesystemslib, and cosign's algorithm re-implemented.

cosign is not installable here (no Debian or PyPI package), so the cosign test re-creates
what ``cosign verify-blob-attestation --key signing.pub --signature env.json
--type slsaprovenance1 ARTIFACT`` does (cosign's verify_blob_attestation.go, sigstore's
pkg/signature/dsse, go-securesystemslib's dsse/verify.go), using only ``cryptography``:

1. load the PEM SubjectPublicKeyInfo; 2. decode the envelope; 3. skip a signature whose
non-empty keyid differs from the key's SSH SHA256 fingerprint; 4. verify ECDSA-SHA256
(ASN.1) or Ed25519 over PAE; 5. require a statement subject whose sha256 is the blob's;
6. require predicateType https://slsa.dev/provenance/v1 and a predicate Go's typed structs
unmarshal (RFC 3339 times, string builder id, string-valued digest maps).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import struct
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from in_toto.models.metadata import Metadata
from securesystemslib.dsse import Envelope as SslibEnvelope

from bastion.supplychain import (
    AttestationKind,
    KeyAlgorithm,
    LocalBlobStore,
    attest_artifacts,
    generate_local_key,
)
from bastion.supplychain.keys import local_key_paths, sslib_key_from_pem

from .supplychain_support import ContextFactory

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _go_ssh_fingerprint(public: Any) -> str:
    """golang.org/x/crypto/ssh FingerprintSHA256, built from the wire format by hand."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        wire = _ssh_string(b"ssh-ed25519") + _ssh_string(raw)
    else:
        point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        wire = _ssh_string(b"ecdsa-sha2-nistp256") + _ssh_string(b"nistp256") + _ssh_string(point)
    return "SHA256:" + base64.b64encode(hashlib.sha256(wire).digest()).decode().rstrip("=")


def _b64(text: str) -> bytes:
    return base64.b64decode(
        text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None
    )


def cosign_verify_blob_attestation(pub_pem: bytes, envelope_json: bytes, blob: bytes) -> None:
    """Raise AssertionError/InvalidSignature unless cosign would print 'Verified OK'."""
    public = load_pem_public_key(pub_pem)
    env = json.loads(envelope_json)
    body = _b64(env["payload"])
    type_bytes = env["payloadType"].encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(body), body)
    accepted = False
    for sig in env["signatures"]:
        if sig.get("keyid") and sig["keyid"] != _go_ssh_fingerprint(public):
            continue
        try:
            if isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(_b64(sig["sig"]), pae, ec.ECDSA(hashes.SHA256()))
            else:
                assert isinstance(public, ed25519.Ed25519PublicKey)
                public.verify(_b64(sig["sig"]), pae)
        except InvalidSignature:
            continue
        accepted = True
    assert accepted, "no signature verified"
    statement = json.loads(body)
    blob_digest = hashlib.sha256(blob).hexdigest()
    assert any(s["digest"].get("sha256") == blob_digest for s in statement["subject"]), "subject"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    predicate = statement["predicate"]
    metadata = predicate["runDetails"]["metadata"]
    for field in ("startedOn", "finishedOn"):
        assert _RFC3339.match(metadata[field]), field
    assert isinstance(predicate["runDetails"]["builder"]["id"], str)
    for descriptor in predicate["buildDefinition"]["resolvedDependencies"]:
        assert all(isinstance(v, str) for v in descriptor.get("digest", {}).values())


@pytest.fixture(params=list(KeyAlgorithm))
def signed(
    request: pytest.FixtureRequest,
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
) -> tuple[bytes, bytes, bytes]:
    """(public PEM, provenance envelope JSON, artifact bytes) for each key algorithm."""
    key = generate_local_key(home, request.param)
    [done] = attest_artifacts(store, [artifact], context_factory(), key.signer)
    envelope = store.get_attestation(done.record.digest, done.bundle, AttestationKind.PROVENANCE)
    assert envelope is not None
    return local_key_paths(home)[1].read_bytes(), envelope, artifact.read_bytes()


def test_cosign_algorithm_accepts_our_envelope(signed: tuple[bytes, bytes, bytes]) -> None:
    cosign_verify_blob_attestation(*signed)


def test_cosign_algorithm_rejects_other_bytes(signed: tuple[bytes, bytes, bytes]) -> None:
    pub, envelope, _ = signed
    with pytest.raises(AssertionError, match="subject"):
        cosign_verify_blob_attestation(pub, envelope, b"other bytes")


def test_cosign_algorithm_rejects_a_forged_payload(signed: tuple[bytes, bytes, bytes]) -> None:
    pub, envelope, blob = signed
    doc = json.loads(envelope)
    doc["payload"] = base64.b64encode(
        base64.b64decode(doc["payload"]).replace(b"trusted", b"release")
    ).decode()
    with pytest.raises(AssertionError, match="no signature verified"):
        cosign_verify_blob_attestation(pub, json.dumps(doc).encode(), blob)


def test_keyid_is_the_go_ssh_fingerprint(signed: tuple[bytes, bytes, bytes]) -> None:
    pub, envelope, _ = signed
    assert json.loads(envelope)["signatures"][0]["keyid"] == _go_ssh_fingerprint(
        load_pem_public_key(pub)
    )


@pytest.mark.integration
def test_keyid_matches_ssh_keygen(signed: tuple[bytes, bytes, bytes], tmp_path: Path) -> None:
    ssh_keygen = shutil.which("ssh-keygen")
    assert ssh_keygen, "ssh-keygen (openssh-client) is needed for this cross-check"
    pub, envelope, _ = signed
    openssh = load_pem_public_key(pub).public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    (tmp_path / "key.pub").write_bytes(openssh + b"\n")
    out = subprocess.run(
        [ssh_keygen, "-l", "-E", "sha256", "-f", str(tmp_path / "key.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split()[1] == json.loads(envelope)["signatures"][0]["keyid"]


def test_in_toto_verifies_our_envelope(signed: tuple[bytes, bytes, bytes]) -> None:
    pub, envelope, _ = signed
    key = sslib_key_from_pem(pub)
    metadata = Metadata.from_dict(json.loads(envelope))
    metadata.verify_signature({"keyid": key.keyid, **key.to_dict()})
    statement = json.loads(metadata.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    datetime.fromisoformat(statement["predicate"]["runDetails"]["metadata"]["startedOn"])


def test_securesystemslib_verifies_our_envelope(signed: tuple[bytes, bytes, bytes]) -> None:
    pub, envelope, _ = signed
    key = sslib_key_from_pem(pub)
    assert list(SslibEnvelope.from_dict(json.loads(envelope)).verify([key], 1)) == [key.keyid]
