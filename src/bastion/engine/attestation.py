"""After a run: store each build job's artifacts by digest with SBOM, provenance and signature.

Artifacts go to the content-addressed store under ``BASTION_HOME/artifacts`` (shared by every
project of the user, like a local registry, so ``bastion verify DIGEST`` finds them). A run
with trust ``local`` (a clean committed tree) is signed with the local key, made on first use;
a ``dirty`` run's provenance is stored unsigned and says so. The resolved dependencies in the
provenance and SBOM come from the project's lock files, read with the SCA gate's parsers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bastion.engine.model import GateVerdict, JobState, RunContext, RunResult, Trust
from bastion.errors import GateError
from bastion.scanners.sca.parsers import discover
from bastion.supplychain import (
    AttestedArtifact,
    BuildContext,
    GateResult,
    LocalBlobStore,
    ResolvedDependency,
    TrustLevel,
    attest_artifacts,
    load_local_signer,
)

__all__ = ["BUILDER_ID", "BUILD_TYPE", "AttestationInputs", "attest_run"]

BUILDER_ID = "https://bastion.dev/builders/local@v1"
BUILD_TYPE = "https://bastion.dev/buildtypes/pipeline@v1"
_PURL_TYPES = {
    "PyPI": "pypi",
    "npm": "npm",
    "Go": "golang",
    "crates.io": "cargo",
    "RubyGems": "gem",
    "Packagist": "composer",
    "Maven": "maven",
}
_SIGNING_TRUST = {Trust.LOCAL, Trust.TRUSTED, Trust.RELEASE}


@dataclass(frozen=True, slots=True)
class AttestationInputs:
    """What the run knows that provenance records."""

    project: Path
    home: Path
    staging: Path
    pipeline_source: str
    pipeline_digest: str
    context: RunContext
    started: datetime
    finished: datetime


def _dependencies(project: Path) -> tuple[ResolvedDependency, ...]:
    try:
        found = discover(project, exclude=(".bastion/**",))
    except (GateError, ValueError):
        return ()  # a malformed lock file already blocked the SCA gate; provenance lists none
    deps: dict[tuple[str, str], ResolvedDependency] = {}
    for dep in found.dependencies:
        if dep.version is None:
            continue
        kind = _PURL_TYPES.get(dep.ecosystem)
        purl = f"pkg:{kind}/{dep.name}@{dep.version}" if kind else None
        deps[(dep.name, dep.version)] = ResolvedDependency(dep.name, dep.version, purl)
    return tuple(deps[key] for key in sorted(deps))


def _gates(verdicts: Mapping[str, GateVerdict]) -> tuple[GateResult, ...]:
    return tuple(
        GateResult(job, "pass" if v.passed else "block", int(v.summary.get("findings", 0)))
        for job, v in sorted(verdicts.items())
    )


def attest_run(
    inputs: AttestationInputs,
    result: RunResult,
    say: Callable[[str], None],
) -> list[AttestedArtifact]:
    """Attest the artifacts of every build job that passed; ``say`` tells the person."""
    jobs = [job for job, files in result.artifacts.items() if files]
    jobs = [job for job in jobs if result.jobs.get(job) is JobState.PASSED]
    if not jobs:
        return []
    context = inputs.context
    signer = None
    if context.trust in _SIGNING_TRUST:
        key = load_local_signer(inputs.home, create=True)
        if key.created:
            say(f"created the local signing key (ECDSA P-256), fingerprint {key.fingerprint}")
        signer = key.signer
    else:
        say(f"trust is '{context.trust.value}': provenance is stored unsigned, marked as such")
    store = LocalBlobStore(inputs.home / "artifacts")
    dependencies = _dependencies(inputs.project)
    attested: list[AttestedArtifact] = []
    for job in jobs:
        build = BuildContext(
            builder_id=BUILDER_ID,
            build_type=BUILD_TYPE,
            pipeline_path=inputs.pipeline_source,
            pipeline_sha256=inputs.pipeline_digest.removeprefix("sha256:"),
            job=job,
            repository=context.repo,
            commit=context.commit or "uncommitted",
            ref=context.ref or "",
            trigger=context.event,
            trust=TrustLevel(context.trust.value),
            started=inputs.started,
            finished=inputs.finished,
            run_id=str(result.run_id),
            dependencies=dependencies,
            gates=_gates(result.verdicts),
        )
        files = [inputs.staging / job / rel for rel in result.artifacts[job]]
        attested += attest_artifacts(store, files, build, signer)
    return attested
