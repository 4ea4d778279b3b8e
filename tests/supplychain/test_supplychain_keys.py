"""Local keys and the trusted-keys registry: creation, permissions, revocation, rotation."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from bastion.errors import SigningError, UsageError
from bastion.supplychain import (
    KeyAlgorithm,
    TrustedKeys,
    fingerprint,
    generate_local_key,
    load_local_signer,
    rotate_local_key,
)
from bastion.supplychain.keys import local_key_paths


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_generated_key_is_private_and_trusted(home: Path, algorithm: KeyAlgorithm) -> None:
    key = generate_local_key(home, algorithm)
    private, public = local_key_paths(home)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_bytes() == key.public_pem
    [trusted] = TrustedKeys(home).entries()
    assert trusted.keyid == key.keyid
    assert trusted.fingerprint == key.fingerprint
    assert load_local_signer(home).keyid == key.keyid


def test_fingerprint_is_sha256_of_spki_der(home: Path) -> None:
    key = generate_local_key(home)
    der = load_pem_public_key(key.public_pem).public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    assert fingerprint(key.public_pem) == "sha256:" + hashlib.sha256(der).hexdigest()


def test_default_key_is_ecdsa_p256_for_cosign(home: Path) -> None:
    key = load_local_signer(home, create=True)
    assert key.created
    assert key.signer.public_key.scheme == "ecdsa-sha2-nistp256"
    assert not load_local_signer(home, create=True).created


def test_missing_key_without_create_is_signing_error(home: Path) -> None:
    with pytest.raises(SigningError, match="no local signing key"):
        load_local_signer(home)


def test_generate_refuses_to_replace(home: Path) -> None:
    generate_local_key(home)
    with pytest.raises(SigningError, match="already exists"):
        generate_local_key(home)


def test_world_readable_private_key_is_refused(home: Path) -> None:
    generate_local_key(home)
    private, _ = local_key_paths(home)
    private.chmod(0o644)
    with pytest.raises(SigningError, match="readable by others"):
        load_local_signer(home)


def test_mismatched_public_key_file_is_refused(home: Path, tmp_path: Path) -> None:
    generate_local_key(home)
    other = generate_local_key(tmp_path / "other")
    local_key_paths(home)[1].write_bytes(other.public_pem)
    with pytest.raises(SigningError, match="does not match"):
        load_local_signer(home)


def test_revocation_applies_from_its_time(home: Path) -> None:
    key = generate_local_key(home)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    revoked = TrustedKeys(home).revoke(key.keyid[:12], at=at)
    assert revoked.valid_at(at - timedelta(seconds=1))
    assert not revoked.valid_at(at)
    # A later revocation never moves the time forward.
    again = TrustedKeys(home).revoke(key.keyid, at=at + timedelta(days=1))
    assert again.revoked_at == at


def test_compromised_key_voids_every_signature(home: Path) -> None:
    key = generate_local_key(home)
    revoked = TrustedKeys(home).revoke(key.fingerprint, compromised=True)
    assert not revoked.valid_at(datetime(2000, 1, 1, tzinfo=UTC))


def test_revoked_key_cannot_be_trusted_again(home: Path) -> None:
    key = generate_local_key(home)
    TrustedKeys(home).revoke(key.keyid)
    with pytest.raises(UsageError, match="cannot be trusted again"):
        TrustedKeys(home).add(key.public_pem, label="again")


def test_add_is_idempotent(home: Path, tmp_path: Path) -> None:
    other = generate_local_key(tmp_path / "other", KeyAlgorithm.ED25519)
    registry = TrustedKeys(home)
    first = registry.add(other.public_pem, label="ci")
    assert registry.add(other.public_pem, label="ci") == first
    assert len(registry.entries()) == 1


@pytest.mark.parametrize(
    "pem", [b"garbage", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"]
)
def test_add_refuses_non_keys(home: Path, pem: bytes) -> None:
    with pytest.raises(UsageError, match="not a PEM public key"):
        TrustedKeys(home).add(pem, label="bad")


def test_add_refuses_other_curves(home: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(UsageError, match="unsupported key type"):
        TrustedKeys(home).add(pem, label="p384")


@pytest.mark.parametrize("ident", ["", "abc", "ffffffffffff"])
def test_find_needs_a_unique_prefix(home: Path, ident: str) -> None:
    generate_local_key(home)
    with pytest.raises(UsageError, match="trusted key matches"):
        TrustedKeys(home).find(ident)


def test_corrupt_registry_fails_closed(home: Path) -> None:
    generate_local_key(home)
    TrustedKeys(home).path.write_text("{")
    with pytest.raises(UsageError, match="unreadable trusted-keys"):
        TrustedKeys(home).entries()


def test_rotation_trusts_new_key_and_revokes_old(home: Path) -> None:
    old = generate_local_key(home)
    new, revoked = rotate_local_key(home, KeyAlgorithm.ED25519)
    assert revoked is not None
    assert revoked.keyid == old.keyid
    assert revoked.revoked_at is not None
    assert not revoked.compromised
    assert load_local_signer(home).keyid == new.keyid
    entries = {k.keyid: k for k in TrustedKeys(home).entries()}
    assert entries[new.keyid].revoked_at is None
    assert json.loads(TrustedKeys(home).path.read_text())["keys"][0]["revoked_at"]


def test_rotation_without_a_key_just_creates_one(home: Path) -> None:
    new, revoked = rotate_local_key(home)
    assert revoked is None
    assert load_local_signer(home).keyid == new.keyid
