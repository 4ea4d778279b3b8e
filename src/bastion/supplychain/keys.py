"""Signing keys: the local key generated on first use, and the trusted-keys registry.

Layout under ``<BASTION_HOME>/keys`` (directory 0700)::

    signing.key     PKCS#8 PEM private key, mode 0600 (never printed)
    signing.pub     SubjectPublicKeyInfo PEM public key (what cosign ``--key`` reads)
    trusted.json    the keys ``bastion verify`` trusts, with their revocation times

The default algorithm is ECDSA P-256 with SHA-256, cosign's default, so envelopes verify
with ``cosign verify-blob-attestation --key signing.pub``; Ed25519 is also offered.
The key id written in envelopes is the OpenSSH-style ``SHA256:<base64>`` fingerprint of
the public key, not securesystemslib's default (sha256 of its canonical key dict): cosign
verifies DSSE through go-securesystemslib, which skips any signature whose non-empty key id
differs from that SSH fingerprint of the key it was given. securesystemslib and in-toto
accept any key id, so this one works for all three. The fingerprint shown to people is the
sha256 of the public key's DER SubjectPublicKeyInfo.

Revocation: a revoked key's signatures made at or after the revocation time fail. The
signing time is the ``finishedOn`` claimed inside the signed provenance, i.e. the builder's
own claim; a key known to be stolen must be revoked with ``compromised`` so that every
signature it ever made fails.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from securesystemslib.signer import (  # type: ignore[attr-defined]
    CryptoSigner,
    SSlibKey,
)

from bastion.atomic import replacing
from bastion.errors import SigningError, UsageError

__all__ = [
    "KeyAlgorithm",
    "LocalKey",
    "TrustedKey",
    "TrustedKeys",
    "fingerprint",
    "generate_local_key",
    "keyid_of",
    "load_local_signer",
    "local_key_paths",
    "rotate_local_key",
    "sslib_key_from_pem",
]


class KeyAlgorithm(enum.Enum):
    """Algorithms of locally generated keys."""

    ECDSA_P256 = "ecdsa-p256"
    ED25519 = "ed25519"


def local_key_paths(home: Path) -> tuple[Path, Path]:
    """Paths of the local private and public key under ``home`` (BASTION_HOME)."""
    keys = home / "keys"
    return keys / "signing.key", keys / "signing.pub"


def keyid_of(public: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> str:
    """``SHA256:`` + unpadded base64 of sha256 over the key's SSH wire encoding."""
    openssh = public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    wire = base64.b64decode(openssh.split(b" ")[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(wire).digest()).decode().rstrip("=")


def _sslib_key(public: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> SSlibKey:
    return SSlibKey.from_crypto(public, keyid=keyid_of(public))


def sslib_key_from_pem(pem: bytes, *, source: str = "public key") -> SSlibKey:
    """A securesystemslib key from a PEM SubjectPublicKeyInfo (ECDSA P-256 or Ed25519)."""
    try:
        public = load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise UsageError(
            f"{source}: not a PEM public key", hint="give a '-----BEGIN PUBLIC KEY-----' file"
        ) from exc
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return _sslib_key(public)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return _sslib_key(public)
    raise UsageError(
        f"{source}: unsupported key type", hint="use an ECDSA P-256 or Ed25519 public key"
    )


def _public_pem(key: SSlibKey) -> bytes:
    # securesystemslib keeps Ed25519 keys as raw hex and ECDSA keys as PEM.
    if key.keytype == "ed25519":
        raw = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.keyval["public"]))
        return raw.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return str(key.keyval["public"]).encode("ascii")


def fingerprint(public_pem: bytes) -> str:
    """``sha256:<hex>`` of the DER SubjectPublicKeyInfo of a PEM public key."""
    der = load_pem_public_key(public_pem).public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


@dataclass(frozen=True)
class LocalKey:
    """The local signing key: its signer and public description."""

    signer: CryptoSigner
    public_pem: bytes
    fingerprint: str
    created: bool

    @property
    def keyid(self) -> str:
        """securesystemslib key id of the public key."""
        return str(self.signer.public_key.keyid)


def generate_local_key(home: Path, algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256) -> LocalKey:
    """Create the local key under ``home/keys`` and trust it; refuse to replace one."""
    private_path, public_path = local_key_paths(home)
    if private_path.exists():
        raise SigningError(
            f"{private_path}: a local signing key already exists",
            hint="use 'bastion keys rotate' to replace it",
        )
    private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if algorithm is KeyAlgorithm.ECDSA_P256:
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    signer = CryptoSigner(private, _sslib_key(private.public_key()))
    public_pem = _public_pem(signer.public_key)
    try:
        _write_private(private_path, signer.private_bytes)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise SigningError(f"{private_path}: cannot write the key: {exc.strerror}") from exc
    TrustedKeys(home).add(public_pem, label="local")
    return LocalKey(signer, public_pem, fingerprint(public_pem), created=True)


def load_local_signer(
    home: Path, *, create: bool = False, algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256
) -> LocalKey:
    """Load the local key; with ``create`` generate it on first use."""
    private_path, public_path = local_key_paths(home)
    if not private_path.exists():
        if create:
            return generate_local_key(home, algorithm)
        raise SigningError(
            f"{private_path}: no local signing key", hint="run 'bastion keys generate'"
        )
    if private_path.stat().st_mode & 0o077:
        raise SigningError(
            f"{private_path}: private key is readable by others",
            hint=f"run 'chmod 600 {private_path}'",
        )
    try:
        private = load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise TypeError(f"unsupported key type {type(private).__name__}")
        signer = CryptoSigner(private, _sslib_key(private.public_key()))
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError(f"{private_path}: unusable private key: {exc}") from exc
    public_pem = _public_pem(signer.public_key)
    if public_path.exists() and public_path.read_bytes() != public_pem:
        raise SigningError(
            f"{public_path}: does not match {private_path}",
            hint="delete the stale public key file; it is rewritten from the private key",
        )
    return LocalKey(signer, public_pem, fingerprint(public_pem), created=False)


@dataclass(frozen=True)
class TrustedKey:
    """A public key ``bastion verify`` accepts, and when (if ever) it was revoked."""

    keyid: str
    fingerprint: str
    public_pem: str
    label: str
    added: datetime
    revoked_at: datetime | None = None
    compromised: bool = False

    def sslib_key(self) -> SSlibKey:
        """The key as a securesystemslib key (to verify signatures)."""
        return sslib_key_from_pem(self.public_pem.encode("ascii"), source=self.label)

    def valid_at(self, when: datetime) -> bool:
        """Whether a signature made at ``when`` counts (revocation applies from then on)."""
        if self.compromised:
            return False
        return self.revoked_at is None or when < self.revoked_at

    def to_dict(self) -> dict[str, Any]:
        """JSON form for trusted.json and ``--json`` output."""
        return {
            "keyid": self.keyid,
            "fingerprint": self.fingerprint,
            "public_pem": self.public_pem,
            "label": self.label,
            "added": self.added.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "compromised": self.compromised,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> TrustedKey:
        """Parse one entry of trusted.json."""
        revoked = doc.get("revoked_at")
        return cls(
            keyid=str(doc["keyid"]),
            fingerprint=str(doc["fingerprint"]),
            public_pem=str(doc["public_pem"]),
            label=str(doc["label"]),
            added=datetime.fromisoformat(str(doc["added"])),
            revoked_at=datetime.fromisoformat(str(revoked)) if revoked else None,
            compromised=bool(doc.get("compromised", False)),
        )


class TrustedKeys:
    """The registry ``<home>/keys/trusted.json``."""

    def __init__(self, home: Path) -> None:
        self.path = home / "keys" / "trusted.json"

    def entries(self) -> list[TrustedKey]:
        """Every trusted key, revoked ones included."""
        if not self.path.exists():
            return []
        try:
            doc = json.loads(self.path.read_bytes())
            return [TrustedKey.from_dict(entry) for entry in doc["keys"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"{self.path}: unreadable trusted-keys file: {exc}",
                hint="restore it from a backup; verification refuses to guess",
            ) from exc

    def _save(self, keys: list[TrustedKey]) -> None:
        data = json.dumps({"keys": [k.to_dict() for k in keys]}, indent=2).encode()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with replacing(self.path) as stream:
            stream.write(data)

    def add(self, public_pem: bytes, *, label: str) -> TrustedKey:
        """Trust a PEM public key (idempotent for a key already trusted and not revoked)."""
        key = sslib_key_from_pem(public_pem, source=label)
        keys = self.entries()
        for existing in keys:
            if existing.keyid == key.keyid:
                if existing.revoked_at is not None or existing.compromised:
                    raise UsageError(
                        f"key {existing.fingerprint} was revoked; it cannot be trusted again",
                        hint="generate a new key",
                    )
                return existing
        canonical = _public_pem(key)
        entry = TrustedKey(
            keyid=str(key.keyid),
            fingerprint=fingerprint(canonical),
            public_pem=canonical.decode("ascii"),
            label=label,
            added=datetime.now(UTC),
        )
        self._save([*keys, entry])
        return entry

    def find(self, ident: str) -> TrustedKey:
        """The key whose key id or fingerprint is ``ident`` or starts with it (unique)."""
        ident = ident.strip()
        hex_ident = ident.lower().removeprefix("sha256:")
        matches = [
            k
            for k in self.entries()
            if len(ident) >= 8
            and (
                k.keyid.startswith(ident)
                or (
                    len(hex_ident) >= 8
                    and k.fingerprint.removeprefix("sha256:").startswith(hex_ident)
                )
            )
        ]
        if len(matches) != 1:
            found = "no" if not matches else "several"
            raise UsageError(
                f"{found} trusted key matches {ident!r}",
                hint="give 8+ characters of a key id or fingerprint ('bastion keys list')",
            )
        return matches[0]

    def revoke(
        self, ident: str, *, at: datetime | None = None, compromised: bool = False
    ) -> TrustedKey:
        """Revoke a key from ``at`` (default now); ``compromised`` voids every signature."""
        target = self.find(ident)
        when = at or datetime.now(UTC)
        if target.revoked_at is not None and target.revoked_at < when:
            when = target.revoked_at  # a revocation only ever moves earlier
        updated = replace(target, revoked_at=when, compromised=compromised or target.compromised)
        self._save([updated if k.keyid == target.keyid else k for k in self.entries()])
        return updated


def rotate_local_key(
    home: Path,
    algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256,
    overlap: timedelta = timedelta(0),
) -> tuple[LocalKey, TrustedKey | None]:
    """Replace the local key: trust a new one, revoke the old one ``overlap`` from now.

    Signatures the old key made before the revocation keep verifying: with an overlap, so do
    those a builder still holding a copy of it makes within the window (their provenance's
    ``finishedOn`` is the signing time), and none made after it. The local private key is
    deleted so Bastion itself never signs with it again. Returns the new key and the revoked
    old entry (None if there was none).
    """
    if overlap < timedelta(0):
        raise UsageError(f"overlap {overlap} is negative")
    private_path, public_path = local_key_paths(home)
    old: TrustedKey | None = None
    if private_path.exists():
        previous = load_local_signer(home)
        registry = TrustedKeys(home)
        if any(k.keyid == previous.keyid for k in registry.entries()):
            old = registry.revoke(previous.keyid, at=datetime.now(UTC) + overlap)
        private_path.unlink()
        public_path.unlink(missing_ok=True)
    return generate_local_key(home, algorithm), old
