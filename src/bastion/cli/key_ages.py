"""How old Bastion's own keys are, for ``bastion keys due``.

The signing key's age counts from when it was trusted (``keys list``: added), the
job-identity key's from its ``created_at`` in ``keys/oidc/keys.json``, the audit key's from
its rotation (or, never rotated, its file's modification time). A key that does not exist yet is
not listed: it will be made fresh when first needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bastion.audit import key_path, load_signer, retired_audit_keys
from bastion.supplychain import TrustedKeys, load_local_signer
from bastion.supplychain.keys import local_key_paths
from bastion.vault import format_age, identity_keys_path, load_signing_keys

__all__ = ["KeyAge", "key_ages", "overdue_keys"]


@dataclass(frozen=True)
class KeyAge:
    """One of Bastion's keys: which, its id, and since when it signs."""

    kind: str
    key_id: str
    since: datetime

    def age(self, now: datetime) -> int:
        """Whole seconds since ``since``."""
        return int((now - self.since).total_seconds())

    def to_json(self, now: datetime, max_age: int) -> dict[str, object]:
        """The JSON form, as ``keys due --json`` prints it and ``key.overdue`` records it."""
        return {
            "kind": self.kind,
            "key_id": self.key_id,
            "since": self.since.isoformat(timespec="seconds"),
            "age": format_age(self.age(now)),
            "max_age": format_age(max_age),
        }


def key_ages(home: Path) -> list[KeyAge]:
    """Every key of ``home`` that exists, signing, oidc, audit in that order."""
    ages: list[KeyAge] = []
    if local_key_paths(home)[0].exists():
        local = load_local_signer(home)
        ages.append(KeyAge("signing", local.keyid, TrustedKeys(home).find(local.keyid).added))
    identity = load_signing_keys(identity_keys_path(home))
    if identity:
        made = datetime.fromtimestamp(identity[0].created_at, UTC)
        ages.append(KeyAge("oidc", identity[0].kid, made))
    audit = key_path(home)
    if audit.exists():
        since = _audit_key_since(home, audit)
        ages.append(KeyAge("audit", load_signer(audit).key_id.hex(), since))
    return ages


def _audit_key_since(home: Path, path: Path) -> datetime:
    """Since when the audit key signs: the earlier of its file's modification time and its
    rotation's, recorded in the retired keys file (the old key retired as this one was
    made). The file's time alone is moved by any rewrite or ``touch``, making an old key
    look new; the recorded rotation is not."""
    changed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    rotations = [r.retired_at for r in retired_audit_keys(home)]
    return min(changed, max(rotations)) if rotations else changed


def overdue_keys(ages: list[KeyAge], max_age: int, now: datetime) -> list[KeyAge]:
    """The keys older than ``max_age`` seconds at ``now``."""
    return [key for key in ages if key.age(now) > max_age]
