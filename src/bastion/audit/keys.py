"""The default audit signing key: an Ed25519 signer key string in a 0600 file.

The file holds one line, ``PRIVATE+KEY+<name>+<hex id>+<base64>`` (the Go ``note`` format),
at ``<BASTION_HOME>/keys/audit-ed25519``. It is created on first use (the caller says so on
screen) and refused when anyone but its owner may read it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bastion.audit.interface import NoteError
from bastion.audit.log import DEFAULT_ORIGIN, AuditLog
from bastion.audit.note import Ed25519NoteSigner, Ed25519NoteVerifier
from bastion.audit.witness import WITNESS_DIR_NAME, WitnessDirectory
from bastion.errors import SigningError
from bastion.store import Database

__all__ = [
    "KEY_FILE_NAME",
    "key_path",
    "load_or_create_signer",
    "load_signer",
    "load_verifier",
    "open_local_log",
]

KEY_FILE_NAME = "audit-ed25519"


def key_path(home: Path) -> Path:
    """Where the audit key of the state directory ``home`` lives."""
    return home / "keys" / KEY_FILE_NAME


def load_signer(path: Path) -> Ed25519NoteSigner:
    """Read the key file; SigningError (naming the file and the fix) if unusable."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SigningError(
            f"{path}: no audit signing key", hint="run a pipeline once to create it"
        ) from exc
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the audit key: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningError(
            f"{path}: the audit key is readable by other users", hint=f"chmod 600 {path}"
        )
    try:
        return Ed25519NoteSigner.from_skey(text.strip())
    except NoteError as exc:
        raise SigningError(f"{path}:1: {exc.message}", hint=exc.hint) from exc


def load_verifier(path: Path) -> Ed25519NoteVerifier:
    """The public half of the key file."""
    return load_signer(path).verifier()


def load_or_create_signer(path: Path, name: str) -> tuple[Ed25519NoteSigner, bool]:
    """Load the key at ``path`` or create one named ``name``; the flag says it was created."""
    if path.exists():
        return load_signer(path), False
    signer = Ed25519NoteSigner.generate(name)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: never overwrite a key another process created meanwhile.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_signer(path), False
    except OSError as exc:
        raise SigningError(f"{path}: cannot create the audit key: {exc.strerror}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        fp.write(signer.skey() + "\n")
    return signer, True


def open_local_log(db: Database, home: Path) -> tuple[AuditLog, bool]:
    """The audit log of ``db`` signed by the key under ``home`` (created if missing).

    Its checkpoints are witnessed under ``home`` too, beside the key; the keys it rotated
    away still verify theirs (:mod:`bastion.audit.key_rotation`). The flag says the key
    was just created, so the caller can say so on screen.
    """
    # Imported here: key_rotation reads the key file through this module.
    from bastion.audit.key_rotation import retired_verifiers

    signer, created = load_or_create_signer(key_path(home), DEFAULT_ORIGIN)
    verifiers = [signer.verifier(), *retired_verifiers(home)]
    witness = WitnessDirectory(home / WITNESS_DIR_NAME)
    return AuditLog(db, signer, verifiers=verifiers, witness=witness), created
