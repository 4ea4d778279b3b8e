"""Rotating the local signing key with an overlap window (issue 18): a signature the old key
makes inside the window still verifies (a builder that still holds a copy), one made after
it is refused with key-revoked, and the new key's signatures verify throughout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from securesystemslib.signer import Signer  # type: ignore[attr-defined]

from bastion.errors import UsageError
from bastion.supplychain import (
    Expectations,
    LocalBlobStore,
    TrustedKeys,
    attest_artifacts,
    generate_local_key,
    load_local_signer,
    rotate_local_key,
    verify_artifact,
)

from .supplychain_support import BUILDER, REPO, ContextFactory

EXPECT = Expectations(builder_id=BUILDER, repository=REPO, ref="refs/heads/main")


def _signed_at(
    store: LocalBlobStore, artifact: Path, factory: ContextFactory, signer: Signer, when: datetime
) -> str:
    """A build finished at ``when`` signed by ``signer`` (its bytes name both)."""
    artifact.write_bytes(f"built at {when.isoformat()} by {id(signer)}\n".encode())
    context = factory(started=when - timedelta(minutes=1), finished=when)
    [done] = attest_artifacts(store, [artifact], context, signer)
    return str(done.record.digest)


def _failures(store: LocalBlobStore, home: Path, digest: str) -> dict[str, str]:
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT)
    return {c.name: c.reason for c in report.checks if not c.ok}


def test_the_old_key_verifies_inside_the_overlap_and_is_refused_after(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    old = generate_local_key(home).signer  # a copy another builder still holds
    rotated = datetime.now(UTC)
    new, revoked = rotate_local_key(home, overlap=timedelta(hours=2))
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert revoked.revoked_at - rotated >= timedelta(hours=2) - timedelta(seconds=5)
    inside = _signed_at(store, artifact, context_factory, old, rotated + timedelta(hours=1))
    after = _signed_at(store, artifact, context_factory, old, rotated + timedelta(hours=3))
    fresh = _signed_at(store, artifact, context_factory, new.signer, rotated + timedelta(hours=3))
    assert _failures(store, home, inside) == {}
    refused = _failures(store, home, after)
    assert refused["signature"] == "key-revoked"
    assert set(refused.values()) <= {"key-revoked", "policy-denied"}  # SBOMs too
    assert _failures(store, home, fresh) == {}
    assert load_local_signer(home).keyid == new.keyid  # Bastion itself signs with the new key


def test_without_overlap_the_old_key_is_refused_from_now(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    old = generate_local_key(home).signer
    rotate_local_key(home)
    later = _signed_at(
        store, artifact, context_factory, old, datetime.now(UTC) + timedelta(minutes=1)
    )
    assert _failures(store, home, later)["signature"] == "key-revoked"


def test_a_negative_overlap_is_a_usage_error(home: Path) -> None:
    generate_local_key(home)
    with pytest.raises(UsageError, match="negative"):
        rotate_local_key(home, overlap=timedelta(hours=-1))
