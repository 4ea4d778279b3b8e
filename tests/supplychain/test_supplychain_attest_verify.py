"""End to end: attest artifacts, then verify them; each failure mode has its reason code."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion.errors import PolicyError, SigningError, UsageError, VerificationError
from bastion.supplychain import (
    ArtifactVerificationReport,
    AttestationKind,
    Digest,
    Expectations,
    GateResult,
    KeyAlgorithm,
    LocalBlobStore,
    TrustedKeys,
    attest_artifacts,
    generate_local_key,
    verify_artifact,
)
from bastion.supplychain.dsse import Envelope
from bastion.trust import Trust

from .supplychain_support import BUILDER, REPO, ContextFactory

EXPECT = Expectations(builder_id=BUILDER, repository=REPO, ref="refs/heads/main")


def _path(store: LocalBlobStore, digest: Digest, kind: AttestationKind) -> Path:
    """Where the newest bundle keeps ``kind`` (tests tamper with files as an attacker would)."""
    bundle = store.bundles(digest)[0]
    return store.root / "attestations" / "sha256" / digest[7:] / bundle / f"{kind.value}.dsse.json"


def _reasons(report: ArtifactVerificationReport) -> dict[str, str]:
    return {c.name: c.reason for c in report.checks if not c.ok}


def _attest(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256,
    **overrides: object,
) -> Digest:
    key = generate_local_key(home, algorithm)
    [done] = attest_artifacts(store, [artifact], context_factory(**overrides), key.signer)
    return done.record.digest


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_signed_artifact_verifies(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    algorithm: KeyAlgorithm,
) -> None:
    digest = _attest(store, home, artifact, context_factory, algorithm)
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT)
    assert report.ok, report.to_dict()
    assert [c.name for c in report.checks] == [
        "artifact",
        "provenance",
        "signature",
        "subject",
        "builder",
        "source",
        "gates",
        "sbom-cyclonedx",
        "sbom-spdx",
        "policy",
    ]
    by_file = verify_artifact(store, str(artifact), TrustedKeys(home).entries(), EXPECT)
    assert by_file.ok
    assert by_file.digest == digest
    report.raise_for_failure()


def test_provenance_records_the_build(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    envelope = Envelope.from_json(_path(store, digest, AttestationKind.PROVENANCE).read_bytes())
    statement = json.loads(envelope.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "app.bin", "digest": {"sha256": digest[7:]}}]
    predicate = statement["predicate"]
    external = predicate["buildDefinition"]["externalParameters"]
    assert external["pipeline"]["path"] == ".bastion/pipeline.yml"
    assert external["source"]["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert predicate["buildDefinition"]["internalParameters"] == {
        "trust": "trusted",
        "signed": True,
    }
    deps = predicate["buildDefinition"]["resolvedDependencies"]
    assert deps[0]["digest"] == {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}
    assert deps[1]["uri"] == "pkg:pypi/requests@2.32.3"
    assert predicate["runDetails"]["metadata"]["finishedOn"] == "2026-11-01T10:05:00Z"
    gates = predicate["runDetails"]["byproducts"][0]["annotations"]["gates"]
    assert gates == [
        {"gate": "secrets", "decision": "pass", "findings": 0},
        {"gate": "sast", "decision": "pass", "findings": 0},
    ]


@pytest.mark.parametrize("trust", [Trust.UNTRUSTED, Trust.INTERNAL, Trust.DIRTY])
def test_runs_that_must_not_sign_are_unsigned_and_fail(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    trust: Trust,
) -> None:
    key = generate_local_key(home)
    [done] = attest_artifacts(store, [artifact], context_factory(trust=trust), key.signer)
    assert not done.signed
    statement = json.loads(done.provenance.payload)
    assert statement["predicate"]["buildDefinition"]["internalParameters"]["signed"] is False
    report = verify_artifact(store, done.record.digest, TrustedKeys(home).entries(), EXPECT)
    assert _reasons(report)["signature"] == "unsigned"
    assert _reasons(report)["policy"] == "policy-denied"
    assert not report.ok
    with pytest.raises(VerificationError) as info:
        report.raise_for_failure()
    assert info.value.reason == "unsigned"


def test_trusted_run_without_signer_refuses(
    store: LocalBlobStore, artifact: Path, context_factory: ContextFactory
) -> None:
    with pytest.raises(SigningError, match="must sign"):
        attest_artifacts(store, [artifact], context_factory(trust=Trust.RELEASE), None)


def test_local_build_needs_allow_local(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory, trust=Trust.LOCAL)
    keys = TrustedKeys(home).entries()
    assert _reasons(verify_artifact(store, digest, keys, EXPECT)) == {"policy": "policy-denied"}
    assert verify_artifact(store, digest, keys, replace(EXPECT, allow_local=True)).ok


def _rewrite(
    store: LocalBlobStore, digest: Digest, kind: AttestationKind, **changes: object
) -> None:
    doc = json.loads(_path(store, digest, kind).read_bytes())
    doc.update(changes)
    _path(store, digest, kind).write_text(json.dumps(doc))


def test_tampered_payload_fails(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    envelope = Envelope.from_json(_path(store, digest, AttestationKind.PROVENANCE).read_bytes())
    forged = envelope.payload.replace(b'"trusted"', b'"release"')
    assert forged != envelope.payload
    _rewrite(store, digest, AttestationKind.PROVENANCE, payload=base64.b64encode(forged).decode())
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT)
    assert _reasons(report)["signature"] == "signature-untrusted"


def test_tampered_signature_fails(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory, KeyAlgorithm.ED25519)
    doc = json.loads(_path(store, digest, AttestationKind.SPDX).read_bytes())
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    sig[0] ^= 1
    doc["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    _path(store, digest, AttestationKind.SPDX).write_text(json.dumps(doc))
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT)
    assert _reasons(report) == {"sbom-spdx": "signature-untrusted", "policy": "policy-denied"}


def test_untrusted_key_fails(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    tmp_path: Path,
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    generate_local_key(tmp_path / "stranger")
    report = verify_artifact(store, digest, TrustedKeys(tmp_path / "stranger").entries(), EXPECT)
    assert _reasons(report)["signature"] == "signature-untrusted"


def test_revoked_key_fails_after_revocation_only(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory)  # finishedOn 2026-11-01T10:05Z
    registry = TrustedKeys(home)
    [key] = registry.entries()
    registry.revoke(key.keyid, at=datetime(2026, 12, 1, tzinfo=UTC))
    assert verify_artifact(store, digest, registry.entries(), EXPECT).ok
    registry.revoke(key.keyid, at=datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    report = verify_artifact(store, digest, registry.entries(), EXPECT)
    assert _reasons(report)["signature"] == "key-revoked"


def test_subject_mismatch_fails(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    tmp_path: Path,
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    other = tmp_path / "other.bin"
    other.write_bytes(b"different bytes")
    record = store.put_file(other, name="other.bin", media_type="application/octet-stream")
    for kind in AttestationKind:
        bundle = store.bundles(digest)[0]
        store.put_attestation(record.digest, bundle, kind, _path(store, digest, kind).read_bytes())
    report = verify_artifact(store, record.digest, TrustedKeys(home).entries(), EXPECT)
    assert _reasons(report) == {
        "subject": "subject-mismatch",
        "sbom-cyclonedx": "subject-mismatch",
        "sbom-spdx": "subject-mismatch",
        "policy": "policy-denied",
    }


def test_missing_sbom_fails_closed(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    _path(store, digest, AttestationKind.CYCLONEDX).unlink()
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT)
    assert _reasons(report) == {"sbom-cyclonedx": "cyclonedx-missing", "policy": "policy-denied"}


def test_missing_provenance_fails_every_check(
    store: LocalBlobStore, home: Path, artifact: Path
) -> None:
    generate_local_key(home)
    record = store.put_file(artifact, name="app.bin", media_type="application/octet-stream")
    report = verify_artifact(store, record.digest, TrustedKeys(home).entries(), EXPECT)
    assert _reasons(report)["provenance"] == "provenance-missing"
    assert _reasons(report)["policy"] == "not-checked"
    assert not report.ok


@pytest.mark.parametrize(
    ("expect", "check", "reason"),
    [
        (replace(EXPECT, builder_id="https://evil/builder"), "builder", "builder-mismatch"),
        (replace(EXPECT, repository="https://git.example/other"), "source", "source-mismatch"),
        (replace(EXPECT, ref="refs/tags/v1"), "source", "ref-mismatch"),
    ],
)
def test_expectations_are_enforced(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    expect: Expectations,
    check: str,
    reason: str,
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), expect)
    assert _reasons(report) == {check: reason}


def test_any_ref_is_accepted_when_none_is_expected(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory, ref="refs/heads/feature")
    assert verify_artifact(store, digest, TrustedKeys(home).entries(), replace(EXPECT, ref=None)).ok


@pytest.mark.parametrize(
    ("gates", "reason"),
    [((GateResult("sast", "block", 3),), "gates-failed"), ((), "gates-missing")],
)
def test_gates_must_have_passed(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    gates: tuple[GateResult, ...],
    reason: str,
) -> None:
    digest = _attest(store, home, artifact, context_factory, gates=gates)
    assert (
        _reasons(verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT))["gates"]
        == reason
    )


def test_corrupted_blob_fails(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    store.blob_path(digest).write_bytes(b"swapped")
    assert (
        _reasons(verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT))["artifact"]
        == "blob-corrupt"
    )


def test_unknown_digest_and_bad_target(store: LocalBlobStore, home: Path) -> None:
    report = verify_artifact(store, "sha256:" + "1" * 64, [], EXPECT)
    assert _reasons(report)["artifact"] == "artifact-missing"
    with pytest.raises(UsageError, match="neither a file nor an artifact digest"):
        verify_artifact(store, "no-such-thing", [], EXPECT)


def test_user_policy_can_deny(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    tmp_path: Path,
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    policy = tmp_path / "prod.rego"
    policy.write_text(
        "package bastion.verify\nimport rego.v1\ndefault allow := false\n"
        'allow if input.provenance.trust == "release"\n'
        'deny contains "only release builds go to production" if not allow\n'
    )
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT, policy)
    [denied] = [c for c in report.checks if not c.ok]
    assert denied.reason == "policy-denied"
    assert "only release builds" in denied.detail


def test_broken_user_policy_is_a_policy_error(
    store: LocalBlobStore,
    home: Path,
    artifact: Path,
    context_factory: ContextFactory,
    tmp_path: Path,
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    policy = tmp_path / "broken.rego"
    policy.write_text("package bastion.verify\nallow if {{{\n")
    with pytest.raises(PolicyError, match=r"broken\.rego"):
        verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT, policy)
    with pytest.raises(PolicyError, match="cannot read"):
        verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT, tmp_path / "none.rego")


def test_an_untrusted_rebuild_does_not_mask_the_trusted_build(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    digest = _attest(store, home, artifact, context_factory)
    later = datetime(2026, 11, 2, tzinfo=UTC)
    attest_artifacts(
        store,
        [artifact],
        context_factory(trust=Trust.UNTRUSTED, started=later, finished=later),
        None,
    )
    bundles = store.bundles(digest)
    assert len(bundles) == 2
    assert bundles[0].startswith("20261102")
    report = verify_artifact(store, digest, TrustedKeys(home).entries(), EXPECT)
    assert report.ok
    assert report.bundle == bundles[1]
    assert report.bundles_checked == 2


def test_the_newest_failing_bundle_is_reported(
    store: LocalBlobStore, home: Path, artifact: Path, context_factory: ContextFactory
) -> None:
    generate_local_key(home)
    for day in (1, 2):
        when = datetime(2026, 11, day, tzinfo=UTC)
        attest_artifacts(
            store,
            [artifact],
            context_factory(trust=Trust.DIRTY, started=when, finished=when),
            None,
        )
    record_digest = next(iter(store.root.joinpath("blobs", "sha256").iterdir())).name
    report = verify_artifact(store, "sha256:" + record_digest, TrustedKeys(home).entries(), EXPECT)
    assert not report.ok
    assert report.bundle is not None
    assert report.bundle.startswith("20261102")
    assert report.to_dict()["bundles_checked"] == 2
