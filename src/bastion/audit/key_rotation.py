"""Rotating the audit checkpoint key with an overlap window.

``rotate_audit_key`` writes a new key file and moves the old key's public half to
``<home>/keys/audit-retired.json`` with the end of its overlap and a *seal*: the digests of
every checkpoint text it signed that the home's witness files hold (every checkpoint a log
of this home signs is witnessed there). :func:`audit_verifiers` trusts a retired key for

- any checkpoint until its overlap ends (a process started before the rotation still
  signs with it: restart it within the window), and
- afterwards only the sealed checkpoints, so history keeps verifying while a checkpoint the
  old key signs later (a stolen copy) is refused: "signature ... does not verify".

The file is mode 0600 like the key; one that others may write is refused, because adding
an entry to it would make a forged key trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bastion.atomic import replacing
from bastion.audit.interface import NoteError, NoteVerifier
from bastion.audit.keys import key_path, load_signer
from bastion.audit.note import Ed25519NoteSigner, Ed25519NoteVerifier, open_note
from bastion.audit.witness import WITNESS_DIR_NAME, WitnessFile
from bastion.errors import SigningError

__all__ = [
    "RETIRED_FILE_NAME",
    "RetiredAuditKey",
    "audit_verifiers",
    "retired_audit_keys",
    "retired_verifiers",
    "rotate_audit_key",
]

RETIRED_FILE_NAME = "audit-retired.json"


@dataclass(frozen=True)
class RetiredAuditKey:
    """A rotated-away audit key: trusted for anything until ``until``, then only for the
    checkpoint texts whose SHA-256 is in ``sealed``."""

    vkey: str
    retired_at: datetime
    until: datetime
    sealed: frozenset[str]

    def to_dict(self) -> dict[str, object]:
        """The JSON form in the retired-keys file."""
        return {
            "vkey": self.vkey,
            "retired_at": self.retired_at.isoformat(),
            "until": self.until.isoformat(),
            "sealed": sorted(self.sealed),
        }


class _SealedVerifier:
    """A retired key as a :class:`NoteVerifier`: see the module's docstring."""

    def __init__(self, retired: RetiredAuditKey, now: datetime) -> None:
        self._inner = Ed25519NoteVerifier.from_vkey(retired.vkey)
        self._retired, self._now = retired, now

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def key_id(self) -> bytes:
        return self._inner.key_id

    def verify(self, message: bytes, signature: bytes) -> bool:
        if not self._inner.verify(message, signature):
            return False
        if self._now < self._retired.until:
            return True
        return hashlib.sha256(message).hexdigest() in self._retired.sealed


def _retired_path(home: Path) -> Path:
    return home / "keys" / RETIRED_FILE_NAME


def retired_audit_keys(home: Path) -> list[RetiredAuditKey]:
    """The retired keys of ``home``; SigningError if the file is unsafe or malformed."""
    path = _retired_path(home)
    try:
        # O_NOFOLLOW and fstat: the file judged is the file read, never a link's target
        # (a link could name a file its owner keeps adding keys to).
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            raw = handle.read()
        document = json.loads(raw)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:  # ELOOP: a symbolic link
        raise SigningError(
            f"{path}: cannot read the retired audit keys: {exc}",
            hint="it must be a regular file, not a symbolic link",
        ) from exc
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SigningError(f"{path}: others may write it", hint=f"chmod 600 {path}")
    if info.st_uid not in (0, os.geteuid()):
        raise SigningError(
            f"{path}: owned by another user (uid {info.st_uid}), who could add keys to it",
            hint=f"chown it to the user running Bastion: chown {os.geteuid()} {path}",
        )
    try:
        return [
            RetiredAuditKey(
                str(entry["vkey"]),
                datetime.fromisoformat(entry["retired_at"]),
                datetime.fromisoformat(entry["until"]),
                frozenset(str(d) for d in entry["sealed"]),
            )
            for entry in document["keys"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise SigningError(f"{path}: malformed retired audit key entry: {exc}") from exc


def retired_verifiers(home: Path, now: datetime | None = None) -> list[NoteVerifier]:
    """Every retired key of ``home`` as a verifier (sealed, see above)."""
    when = now or datetime.now(UTC)
    return [_SealedVerifier(r, when) for r in retired_audit_keys(home)]


def audit_verifiers(home: Path, now: datetime | None = None) -> list[NoteVerifier]:
    """The current audit key's verifier, then every retired key."""
    current: list[NoteVerifier] = [load_signer(key_path(home)).verifier()]
    return current + retired_verifiers(home, now)


def _sealed_by(home: Path, verifier: Ed25519NoteVerifier) -> frozenset[str]:
    """SHA-256 of every witnessed checkpoint text ``verifier`` signed under ``home``."""
    directory = home / WITNESS_DIR_NAME
    digests: set[str] = set()
    for path in sorted(directory.glob("*")) if directory.is_dir() else []:
        for note in WitnessFile(path).read() or []:
            try:
                text, _names = open_note(note, [verifier])
            except NoteError:
                continue  # another key's checkpoint: not this key's to seal
            digests.add(hashlib.sha256(text.encode()).hexdigest())
    return frozenset(digests)


def rotate_audit_key(
    home: Path, overlap: timedelta, now: datetime | None = None
) -> tuple[Ed25519NoteSigner, RetiredAuditKey]:
    """Replace the audit key of ``home``: the old one retired with ``overlap`` and sealed."""
    if overlap < timedelta(0):
        raise SigningError(f"overlap {overlap} is negative")
    path = key_path(home)
    old = load_signer(path)
    when = now or datetime.now(UTC)
    retired = RetiredAuditKey(
        old.verifier().vkey, when, when + overlap, _sealed_by(home, old.verifier())
    )
    kept = [r for r in retired_audit_keys(home) if r.vkey != retired.vkey]
    document = {"keys": [r.to_dict() for r in [*kept, retired]]}
    new = Ed25519NoteSigner.generate(old.name)
    _write_private(_retired_path(home), json.dumps(document, indent=1) + "\n")
    _write_private(path, new.skey() + "\n")  # last: a failure above leaves the old key in use
    return new, retired


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, mode 0600."""
    with replacing(path) as handle:  # a 0600 temporary file renamed over the old one
        handle.write(text.encode("utf-8"))
