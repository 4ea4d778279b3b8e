"""C2SP signed notes with Ed25519 keys, and tlog checkpoints (c2sp.org/tlog-checkpoint).

A note is ``text`` (ending in a newline), a blank line, then lines
``— <key name> <base64(4-byte key ID || signature)>``. The Ed25519 key ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``. Keys travel in the Go ``note`` package
strings: verifier ``<name>+<hex id>+<base64(0x01 || public key)>`` and signer
``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``, so Go tools can check our checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bastion.audit.interface import NoteError, NoteSigner, NoteVerifier

__all__ = [
    "Checkpoint",
    "Ed25519NoteSigner",
    "Ed25519NoteVerifier",
    "format_checkpoint_text",
    "open_note",
    "sign_note",
]

_ED25519 = 0x01
_DASH = "\u2014 "
_MAX_SIGNATURES = 32
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(
            f"invalid key name {name!r}", hint="use a schema-less URL without spaces or '+'"
        )
    return name


def _ed25519_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([_ED25519]) + public).digest()[:4]


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc


def _parse_key(text: str, what: str) -> tuple[str, bytes, bytes]:
    """``name+hexid+base64`` → (name, key id, key bytes without the type byte)."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or len(parts[1]) != 8:
        raise NoteError(f"malformed {what}", hint="expected <name>+<8 hex digits>+<base64 key>")
    name = _check_name(parts[0])
    try:
        key_id = bytes.fromhex(parts[1])
    except ValueError as exc:
        raise NoteError(f"malformed {what}: key ID is not hex") from exc
    raw = _b64decode(parts[2], what)
    if len(raw) != 33 or raw[0] != _ED25519:
        raise NoteError(f"{what} is not an Ed25519 key (type 0x01, 32 bytes)")
    return name, key_id, raw[1:]


class Ed25519NoteVerifier:
    """Verifies Ed25519 note signatures of one named key."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self._name = _check_name(name)
        self._public = public_key
        self._raw = public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._key_id = _ed25519_key_id(name, self._raw)

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519NoteVerifier:
        """Parse a verifier key string ``<name>+<hex id>+<base64(0x01 || key)>``."""
        name, key_id, raw = _parse_key(vkey, "verifier key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw))
        if verifier.key_id != key_id:
            raise NoteError("verifier key ID does not match its name and key")
        return verifier

    @property
    def name(self) -> str:
        """The key name."""
        return self._name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self._key_id

    @property
    def vkey(self) -> str:
        """The verifier key string to hand to outsiders."""
        encoded = base64.b64encode(bytes([_ED25519]) + self._raw).decode()
        return f"{self._name}+{self._key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Ed25519NoteSigner:
    """Signs notes with an Ed25519 private key under a key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._verifier = Ed25519NoteVerifier(name, private_key.public_key())
        self._private = private_key

    @classmethod
    def generate(cls, name: str) -> Ed25519NoteSigner:
        """A fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519NoteSigner:
        """Parse a signer key string ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
        prefix = "PRIVATE+KEY+"
        if not skey.startswith(prefix):
            raise NoteError("malformed signer key", hint="it must start with PRIVATE+KEY+")
        name, key_id, seed = _parse_key(skey[len(prefix) :], "signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.key_id != key_id:
            raise NoteError("signer key ID does not match its name and key")
        return signer

    def skey(self) -> str:
        """The signer key string (a secret: write it only to a 0600 file)."""
        seed = self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        encoded = base64.b64encode(bytes([_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def name(self) -> str:
        """The key name."""
        return self._verifier.name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self._verifier.key_id

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def verifier(self) -> Ed25519NoteVerifier:
        """The matching verifier."""
        return self._verifier


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """``text`` followed by a blank line and one signature line per signer."""
    if not text.endswith("\n") or _CONTROL.search(text) or "\n\n" in text:
        raise NoteError("note text must be lines ending in a newline, without control characters")
    lines = []
    for signer in signers:
        signature = signer.key_id + signer.sign(text.encode())
        lines.append(f"{_DASH}{_check_name(signer.name)} {base64.b64encode(signature).decode()}\n")
    return text + "\n" + "".join(lines)


def _split_note(note: str) -> tuple[str, list[str]]:
    if _CONTROL.search(note):
        raise NoteError("signed note contains control characters")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("signed note has no blank line before its signatures")
    lines = note[cut + 2 : -1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"signed note has more than {_MAX_SIGNATURES} signatures")
    return note[: cut + 1], lines


def open_note(note: str, verifiers: Sequence[NoteVerifier]) -> tuple[str, list[str]]:
    """Check ``note``; return its text and the names of the known keys that signed it.

    Unknown keys are ignored (C2SP); a known key whose signature fails rejects the note;
    with no verified signature from a known key the note is rejected.
    """
    text, lines = _split_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    signed: list[str] = []
    for line in lines:
        if not line.startswith(_DASH) or line.count(" ") != 2:
            raise NoteError(f"malformed signature line {line[:80]!r}")
        name, encoded = line[len(_DASH) :].split(" ")
        blob = _b64decode(encoded, f"signature of {name}")
        if len(blob) < 5:
            raise NoteError(f"signature of {name} is too short")
        verifier = known.get((name, blob[:4]))
        if verifier is None:
            continue
        if not verifier.verify(text.encode(), blob[4:]):
            raise NoteError(f"signature of {name} does not verify")
        signed.append(name)
    if not signed:
        names = ", ".join(sorted(v.name for v in verifiers)) or "none given"
        raise NoteError(f"note is not signed by a trusted key (trusted: {names})")
    return text, signed


def format_checkpoint_text(origin: str, size: int, root: bytes) -> str:
    """The checkpoint body: origin, tree size, base64 root hash, one per line."""
    if not origin or _CONTROL.search(origin) or "\n" in origin:
        raise NoteError(f"invalid checkpoint origin {origin!r}")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: ``size`` leaves hash to ``root``; ``note`` is the exact signed text."""

    origin: str
    size: int
    root: bytes
    note: str

    @classmethod
    def sign(cls, origin: str, size: int, root: bytes, signer: NoteSigner) -> Checkpoint:
        """Make and sign a checkpoint."""
        return cls(
            origin, size, root, sign_note(format_checkpoint_text(origin, size, root), [signer])
        )

    @classmethod
    def open(
        cls, note: str, verifiers: Sequence[NoteVerifier], *, origin: str | None = None
    ) -> Checkpoint:
        """Verify ``note`` and parse its body; NoteError when either fails."""
        text, _ = open_note(note, verifiers)
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise NoteError("checkpoint needs origin, tree size and root hash lines")
        if origin is not None and lines[0] != origin:
            raise NoteError(f"checkpoint is for log {lines[0]!r}, not {origin!r}")
        if not _SIZE.fullmatch(lines[1]):
            raise NoteError(f"checkpoint tree size {lines[1][:30]!r} is not a decimal number")
        root = _b64decode(lines[2], "checkpoint root hash")
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(lines[0], int(lines[1]), root, note)
