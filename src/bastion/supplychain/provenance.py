"""SLSA provenance v1 predicates from a :class:`BuildContext`, and reading them back.

Where Bastion's own facts go (all inside the signed statement):

- ``buildDefinition.externalParameters``: the pipeline file (path + sha256), the job, the
  source (repository, ref, commit) and the trigger;
- ``buildDefinition.internalParameters``: the run's trust level and whether it was signed,
  and ``reproducibility`` when the job's ``SOURCE_DATE_EPOCH`` is known: the epoch, that
  the workspace's mtimes were clamped to it, and ``reproducible``: ``verified`` when an
  earlier build of the same job at the same commit made the same subject digest, else
  ``unverified``;
- ``buildDefinition.resolvedDependencies``: the source commit, then each resolved package;
- ``runDetails.metadata``: invocation id, ``startedOn``/``finishedOn`` (RFC 3339, UTC);
  ``finishedOn`` doubles as the signing time revocation is judged against;
- ``runDetails.byproducts``: one ``bastion/gates`` descriptor whose annotations hold the
  gate results, with the sha256 of their canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bastion.errors import VerificationError
from bastion.supplychain.context import BuildContext, GateResult, ResolvedDependency

__all__ = ["GATES_BYPRODUCT", "ProvenanceFacts", "provenance_predicate", "rfc3339"]

GATES_BYPRODUCT = "bastion/gates"


def rfc3339(when: datetime) -> str:
    """UTC RFC 3339 with seconds precision and a ``Z``, as Go's time parser wants."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dependency(dep: ResolvedDependency) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "name": dep.name,
        "uri": dep.purl or f"pkg:generic/{dep.name}@{dep.version}",
        "annotations": {"version": dep.version},
    }
    if dep.sha256:
        descriptor["digest"] = {"sha256": dep.sha256}
    return descriptor


def _gates(gates: tuple[GateResult, ...]) -> dict[str, Any]:
    rows = [{"gate": g.gate, "decision": g.decision, "findings": g.findings} for g in gates]
    canonical = json.dumps(rows, sort_keys=True, separators=(",", ":")).encode()
    return {
        "name": GATES_BYPRODUCT,
        "mediaType": "application/json",
        "digest": {"sha256": hashlib.sha256(canonical).hexdigest()},
        "annotations": {"gates": rows},
    }


def _internal(context: BuildContext, signed: bool, subject: str | None) -> dict[str, Any]:
    internal: dict[str, Any] = {"trust": context.trust.value, "signed": signed}
    if context.source_date_epoch is not None:
        verified = subject is not None and context.reproduced(subject)
        internal["reproducibility"] = {
            "sourceDateEpoch": context.source_date_epoch,
            # The workspace clamps every mtime to the epoch (bastion.sandbox.source_date).
            "mtimesClamped": True,
            "reproducible": "verified" if verified else "unverified",
        }
    return internal


def provenance_predicate(
    context: BuildContext, *, signed: bool, subject: str | None = None
) -> dict[str, Any]:
    """The SLSA provenance v1 predicate of one build job whose artifact is ``subject`` (its
    digest, to say whether an earlier build reproduced it)."""
    source = {"uri": context.repository, "ref": context.ref, "commit": context.commit}
    return {
        "buildDefinition": {
            "buildType": context.build_type,
            "externalParameters": {
                "pipeline": {
                    "path": context.pipeline_path,
                    "digest": {"sha256": context.pipeline_sha256},
                },
                "job": context.job,
                "source": source,
                "trigger": context.trigger,
            },
            "internalParameters": _internal(context, signed, subject),
            "resolvedDependencies": [
                {
                    "uri": f"git+{context.repository}@{context.ref}",
                    "digest": {"gitCommit": context.commit},
                },
                *(_dependency(d) for d in context.dependencies),
            ],
        },
        "runDetails": {
            "builder": {"id": context.builder_id},
            "metadata": {
                "invocationId": context.run_id,
                "startedOn": rfc3339(context.started),
                "finishedOn": rfc3339(context.finished),
            },
            "byproducts": [_gates(context.gates)],
        },
    }


def _field(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            raise VerificationError(
                f"provenance has no {'.'.join(path)}", reason="provenance-malformed"
            )
        doc = doc[key]
    return doc


@dataclass(frozen=True)
class ProvenanceFacts:
    """The facts verification and policy read from a provenance predicate."""

    builder_id: str
    build_type: str
    repository: str
    ref: str
    commit: str
    trust: str
    signed: bool
    finished: datetime
    gates: tuple[GateResult, ...]

    @classmethod
    def from_predicate(cls, predicate: dict[str, Any]) -> ProvenanceFacts:
        """Read the facts; raise VerificationError(``provenance-malformed``) when absent."""
        source = _field(predicate, "buildDefinition", "externalParameters", "source")
        internal = _field(predicate, "buildDefinition", "internalParameters")
        byproducts = _field(predicate, "runDetails", "byproducts")
        gates_rows: list[Any] | None = None
        for item in byproducts if isinstance(byproducts, list) else []:
            if isinstance(item, dict) and item.get("name") == GATES_BYPRODUCT:
                gates_rows = _field(item, "annotations", "gates")
        if not isinstance(gates_rows, list):
            raise VerificationError("provenance has no gate results", reason="gates-missing")
        try:
            finished = datetime.fromisoformat(
                str(_field(predicate, "runDetails", "metadata", "finishedOn"))
            )
            gates = tuple(
                GateResult(str(r["gate"]), str(r["decision"]), int(r["findings"]))
                for r in gates_rows
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationError(
                f"provenance field malformed: {exc}", reason="provenance-malformed"
            ) from exc
        if finished.tzinfo is None:
            raise VerificationError("finishedOn has no timezone", reason="provenance-malformed")
        return cls(
            builder_id=str(_field(predicate, "runDetails", "builder", "id")),
            build_type=str(_field(predicate, "buildDefinition", "buildType")),
            repository=str(_field(source, "uri")),
            ref=str(_field(source, "ref")),
            commit=str(_field(source, "commit")),
            trust=str(_field(internal, "trust")),
            signed=bool(_field(internal, "signed")),
            finished=finished,
            gates=gates,
        )
