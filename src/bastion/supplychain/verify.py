"""``bastion verify``: may this artifact be deployed? Every check reported, fail closed.

Checks, in order: ``artifact`` (the bytes: a file hashed, or a stored blob re-hashed),
``provenance`` (present, a well-formed in-toto SLSA v1 statement), ``signature`` (a trusted
key not revoked at the provenance's ``finishedOn``), ``subject`` (the statement names these
bytes), ``builder``, ``source`` (repository and ref), ``gates`` (all passed), ``sbom``
(CycloneDX and SPDX present, signed and about these bytes) and ``policy`` (the built-in
Rego policy and, when given, the user's; both must allow). Any check that cannot be
carried out fails. The report passes only when every check passed. Each build of the same
bytes leaves its own attestation bundle; the artifact verifies if one bundle passes all
checks (so an untrusted rebuild of identical bytes cannot mask the trusted build).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.errors import UsageError, VerificationError
from bastion.supplychain.dsse import INTOTO_PAYLOAD_TYPE, Envelope
from bastion.supplychain.interface import (
    ArtifactStoreError,
    AttestationKind,
    BlobStore,
    Digest,
    digest_file,
    parse_digest,
)
from bastion.supplychain.keys import TrustedKey
from bastion.supplychain.policy_eval import default_policy, evaluate_policy, load_policy
from bastion.supplychain.provenance import ProvenanceFacts
from bastion.supplychain.signatures import verify_envelope_signatures
from bastion.supplychain.statement import (
    CYCLONEDX_PREDICATE,
    SLSA_PROVENANCE_V1,
    SPDX_PREDICATE,
    Statement,
)

__all__ = ["ArtifactVerificationReport", "Check", "Expectations", "verify_artifact"]


@dataclass(frozen=True)
class Expectations:
    """What the deployer expects: the builder, the source repository and (optionally) ref."""

    builder_id: str
    repository: str
    ref: str | None = None
    allow_local: bool = False


@dataclass(frozen=True)
class Check:
    """One verification check: its name, outcome, reason code (``ok`` if passed), detail."""

    name: str
    ok: bool
    reason: str
    detail: str


@dataclass(frozen=True)
class ArtifactVerificationReport:
    """Every check made about one artifact (signature, provenance, policy); ``ok`` only if
    there are checks and all pass. (The audit log's integrity is another report:
    :class:`bastion.audit.AuditVerificationReport`.)"""

    target: str
    digest: Digest | None
    checks: tuple[Check, ...]
    bundle: str | None = None
    bundles_checked: int = 0
    # The facts of the bundle reported on, for what follows a verified deploy (the audit
    # event's ref and trust); None when no provenance could be read.
    provenance: ProvenanceFacts | None = None

    @property
    def ok(self) -> bool:
        """Whether the artifact verified."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json`` and the audit log."""
        return {
            "target": self.target,
            "digest": self.digest,
            "bundle": self.bundle,
            "bundles_checked": self.bundles_checked,
            "ok": self.ok,
            "checks": [c.__dict__ for c in self.checks],
        }

    def raise_for_failure(self) -> None:
        """Raise VerificationError with the first failed check's reason code."""
        for check in self.checks:
            if not check.ok:
                raise VerificationError(f"{check.name}: {check.detail}", reason=check.reason)
        if not self.checks:
            raise VerificationError("nothing was checked", reason="no-checks")


@dataclass
class _Run:
    store: BlobStore
    trusted: Sequence[TrustedKey]
    expect: Expectations
    bundle: str = ""
    checks: list[Check] = field(default_factory=list)

    def passed(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, "ok", detail))

    def failed(self, name: str, reason: str, detail: str) -> None:
        self.checks.append(Check(name, False, reason, detail))

    def artifact(self, target: str) -> Digest | None:
        path = Path(target)
        if path.is_file():
            digest, size = digest_file(path)
            self.passed("artifact", f"{path}: {size} bytes, {digest}")
            return digest
        try:
            digest = parse_digest(target)
        except ArtifactStoreError as exc:
            raise UsageError(
                f"{target!r} is neither a file nor an artifact digest",
                hint="give a path to the artifact or its sha256:<hex> digest",
            ) from exc
        if not self.store.has(digest):
            self.failed("artifact", "artifact-missing", f"{digest} is not in the artifact store")
            return digest
        try:
            self.store.check(digest)
        except VerificationError as exc:
            self.failed("artifact", exc.reason, exc.message)
            return digest
        self.passed("artifact", f"stored blob {digest} matches its digest")
        return digest

    def statement(self, digest: Digest, kind: AttestationKind) -> tuple[Envelope, Statement]:
        raw = self.store.get_attestation(digest, self.bundle, kind)
        if raw is None:
            raise VerificationError(f"no {kind.value} attestation", reason=f"{kind.value}-missing")
        envelope = Envelope.from_json(raw)
        if envelope.payload_type != INTOTO_PAYLOAD_TYPE:
            raise VerificationError(
                f"payload type {envelope.payload_type!r}", reason="envelope-malformed"
            )
        return envelope, Statement.from_payload(envelope.payload)

    def provenance(self, digest: Digest) -> tuple[Envelope, Statement, ProvenanceFacts] | None:
        try:
            envelope, statement = self.statement(digest, AttestationKind.PROVENANCE)
            if statement.predicate_type != SLSA_PROVENANCE_V1:
                raise VerificationError(
                    f"predicate type {statement.predicate_type!r} is not SLSA provenance v1",
                    reason="predicate-type",
                )
            facts = ProvenanceFacts.from_predicate(statement.predicate)
        except VerificationError as exc:
            self.failed("provenance", exc.reason, exc.message)
            return None
        self.passed("provenance", f"SLSA v1 by {facts.builder_id}, trust {facts.trust}")
        return envelope, statement, facts

    def signature(self, envelope: Envelope, facts: ProvenanceFacts) -> None:
        try:
            key = verify_envelope_signatures(envelope, self.trusted, facts.finished)
        except VerificationError as exc:
            self.failed("signature", exc.reason, exc.message)
            return
        self.passed("signature", f"signed by trusted key {key.fingerprint} ({key.label})")

    def subject(self, name: str, digest: Digest, statement: Statement) -> bool:
        if any(s.digest == digest for s in statement.subjects):
            self.passed(name, f"statement subject is {digest}")
            return True
        self.failed(name, "subject-mismatch", f"no statement subject matches {digest}")
        return False

    def expectations(self, facts: ProvenanceFacts) -> None:
        if facts.builder_id == self.expect.builder_id:
            self.passed("builder", facts.builder_id)
        else:
            self.failed(
                "builder",
                "builder-mismatch",
                f"built by {facts.builder_id!r}, expected {self.expect.builder_id!r}",
            )
        if facts.repository != self.expect.repository:
            self.failed(
                "source",
                "source-mismatch",
                f"repository {facts.repository!r}, expected {self.expect.repository!r}",
            )
        elif self.expect.ref is not None and facts.ref != self.expect.ref:
            self.failed(
                "source", "ref-mismatch", f"ref {facts.ref!r}, expected {self.expect.ref!r}"
            )
        else:
            ref_note = "" if self.expect.ref is not None else " (any ref accepted)"
            self.passed("source", f"{facts.repository} {facts.ref} @ {facts.commit}{ref_note}")

    def gates(self, facts: ProvenanceFacts) -> None:
        blocked = [g for g in facts.gates if not g.passed]
        if not facts.gates:
            self.failed("gates", "gates-missing", "the provenance records no gate results")
        elif blocked:
            names = ", ".join(f"{g.gate}={g.decision}" for g in blocked)
            self.failed("gates", "gates-failed", f"gates did not pass: {names}")
        else:
            self.passed("gates", f"{len(facts.gates)} gates passed")

    def sboms(self, digest: Digest, facts: ProvenanceFacts) -> dict[str, bool]:
        present = {}
        for kind, predicate in (
            (AttestationKind.CYCLONEDX, CYCLONEDX_PREDICATE),
            (AttestationKind.SPDX, SPDX_PREDICATE),
        ):
            present[kind.value] = self._sbom(digest, facts, kind, predicate)
        return present

    def _sbom(
        self, digest: Digest, facts: ProvenanceFacts, kind: AttestationKind, predicate: str
    ) -> bool:
        name = f"sbom-{kind.value}"
        try:
            envelope, statement = self.statement(digest, kind)
            if statement.predicate_type != predicate:
                raise VerificationError(
                    f"predicate type {statement.predicate_type!r}", reason="predicate-type"
                )
            key = verify_envelope_signatures(envelope, self.trusted, facts.finished)
        except VerificationError as exc:
            self.failed(name, exc.reason, exc.message)
            return False
        if not any(s.digest == digest for s in statement.subjects):
            self.failed(name, "subject-mismatch", f"the {kind.value} SBOM is about other bytes")
            return False
        self.passed(name, f"present, signed by {key.fingerprint}")
        return True

    def policy(self, data: dict[str, Any], user_policy: Path | None) -> None:
        policies = [default_policy()] + ([load_policy(user_policy)] if user_policy else [])
        for origin, source in policies:
            decision = evaluate_policy(origin, source, data)
            if decision.allow:
                self.passed("policy", f"{origin} allows")
            else:
                why = "; ".join(decision.reasons) or "allow is false"
                self.failed("policy", "policy-denied", f"{origin}: {why}")


def _policy_input(
    digest: Digest, facts: ProvenanceFacts, sbom: dict[str, bool], expect: Expectations
) -> dict[str, Any]:
    return {
        "artifact": {"digest": digest},
        "provenance": {
            "builder_id": facts.builder_id,
            "build_type": facts.build_type,
            "repository": facts.repository,
            "ref": facts.ref,
            "commit": facts.commit,
            "trust": facts.trust,
            "signed": facts.signed,
            "finished": facts.finished.isoformat(),
            "gates": [g.__dict__ for g in facts.gates],
        },
        "sbom": sbom,
        "options": {"allow_local": expect.allow_local},
    }


def _verify_bundle(
    base: _Run, artifact_check: Check, digest: Digest, bundle: str, policy_path: Path | None
) -> tuple[list[Check], ProvenanceFacts | None]:
    run = _Run(base.store, base.trusted, base.expect, bundle, [artifact_check])
    found = run.provenance(digest)
    if found is None:
        _not_checked(run)
        return run.checks, None
    envelope, statement, facts = found
    run.signature(envelope, facts)
    run.subject("subject", digest, statement)
    run.expectations(facts)
    run.gates(facts)
    sbom = run.sboms(digest, facts)
    run.policy(_policy_input(digest, facts, sbom, base.expect), policy_path)
    return run.checks, facts


def _not_checked(run: _Run) -> None:
    for name in ("signature", "subject", "builder", "source", "gates", "sbom", "policy"):
        run.failed(name, "not-checked", "no usable provenance to check against")


def verify_artifact(
    store: BlobStore,
    target: str,
    trusted: Sequence[TrustedKey],
    expectations: Expectations,
    policy_path: Path | None = None,
) -> ArtifactVerificationReport:
    """Verify the artifact ``target`` (a file path or a ``sha256:`` digest).

    Every attestation bundle (one per build of these bytes) is checked, newest first; the
    report of the first bundle that passes every check is returned, else the newest one's.
    Never raises for a failed check, only for unusable input (UsageError, PolicyError).
    """
    base = _Run(store, trusted, expectations)
    digest = base.artifact(target)
    [artifact_check] = base.checks
    bundles = store.bundles(digest) if digest else []
    if digest is None or not artifact_check.ok or not bundles:
        if artifact_check.ok:
            base.failed("provenance", "provenance-missing", "no attestations for these bytes")
        else:
            base.failed("provenance", "not-checked", "the artifact itself did not check out")
        _not_checked(base)
        return ArtifactVerificationReport(target, digest, tuple(base.checks))
    reports = []
    for bundle in bundles:
        checks, facts = _verify_bundle(base, artifact_check, digest, bundle, policy_path)
        report = ArtifactVerificationReport(
            target, digest, tuple(checks), bundle, len(bundles), facts
        )
        if report.ok:
            return report
        reports.append(report)
    return reports[0]
