"""When a job ends: store its artifacts by digest with SBOM, provenance and signature.

Artifacts go to the content-addressed store under ``BASTION_HOME/artifacts`` (shared by every
project of the user, like a local registry, so ``bastion verify DIGEST`` finds them). A run
with trust ``local`` (a clean committed tree) is signed with the local key, made on first use;
a ``dirty`` run's provenance is stored unsigned and says so. Each attested artifact is also
put on the run's record (:mod:`bastion.engine.attestation_record`), and the provenance
records the jobs' ``SOURCE_DATE_EPOCH`` and whether an earlier build of the job at the same
commit made the same bytes (``reproducible: verified``). The resolved dependencies in the
provenance and SBOM come from the project's lock files, through the SCA package's public
:func:`~bastion.scanners.sca.dependency_inventory`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from securesystemslib.signer import Signer  # type: ignore[attr-defined]

from bastion.engine.attestation_record import (
    ArtifactAttestation,
    Reproducibility,
    earlier_digests,
    save_attestations,
)
from bastion.engine.model import GateVerdict, RunId
from bastion.errors import GateError
from bastion.sandbox import source_date_epoch
from bastion.scanners.sca import dependency_inventory
from bastion.store import Database
from bastion.supplychain import (
    AttestedArtifact,
    BuildContext,
    GateResult,
    LocalBlobStore,
    LocalKey,
    ResolvedDependency,
    attest_artifacts,
    load_local_signer,
)
from bastion.trust import RunContext

__all__ = ["BUILDER_ID", "BUILD_TYPE", "AttestationInputs", "JobAttester"]

BUILDER_ID = "https://bastion.dev/builders/local@v1"
BUILD_TYPE = "https://bastion.dev/buildtypes/pipeline@v1"


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
    run_id: RunId
    # The run record the attestations are written on, and the commit the jobs' workspaces
    # are made of (None: the working tree), which fixes their SOURCE_DATE_EPOCH.
    db: Database
    source_commit: str | None = None


def _dependencies(project: Path) -> tuple[ResolvedDependency, ...]:
    """What the lock files pin, asked of the SCA package's public inventory (neutral items
    the supply chain describes without knowing any scanner)."""
    try:
        items = dependency_inventory(project)
    except (GateError, ValueError):
        return ()  # a malformed lock file already blocked the SCA gate; provenance lists none
    return tuple(ResolvedDependency(i.name, i.version, i.purl) for i in items)


def _gates(verdicts: Mapping[str, GateVerdict]) -> tuple[GateResult, ...]:
    return tuple(
        GateResult(job, "pass" if v.passed else "block", v.findings or 0)
        for job, v in sorted(verdicts.items())
    )


class JobAttester:
    """Attests a job's artifacts as the job ends, so later jobs of the run can rely on them.

    The signer (``signer``, made on first use; by default the local key under the home) and
    the lock files' dependencies are loaded once, at the first job with artifacts; ``say``
    tells the person about a new key or unsigned provenance.
    """

    def __init__(
        self,
        inputs: AttestationInputs,
        say: Callable[[str], None],
        *,
        signer: Callable[[], LocalKey] | None = None,
    ) -> None:
        self.inputs = inputs
        self.store = LocalBlobStore(inputs.home / "artifacts")
        self._say = say
        self._open_signer = signer or (lambda: load_local_signer(inputs.home, create=True))
        self._ready = False
        self._signer: Signer | None = None
        self._dependencies: tuple[ResolvedDependency, ...] = ()
        self._epoch: int | None = None

    def _prepare(self) -> None:
        if self._ready:
            return
        trust = self.inputs.context.trust
        if trust.signs:
            key = self._open_signer()
            if key.created:
                self._say(
                    f"created the local signing key (ECDSA P-256), fingerprint {key.fingerprint}"
                )
            self._signer = key.signer
        else:
            self._say(f"trust is '{trust}': provenance is stored unsigned, marked as such")
        self._dependencies = _dependencies(self.inputs.project)
        self._epoch = source_date_epoch(self.inputs.project, self.inputs.source_commit)
        self._ready = True

    def attest(
        self, job: str, files: Sequence[str], verdicts: Mapping[str, GateVerdict]
    ) -> list[AttestedArtifact]:
        """Store job ``job``'s staged ``files`` by digest with SBOMs and signed provenance,
        and put them on the run's record.

        ``verdicts`` are the gates decided so far: the ones this job ran after.
        """
        if not files:
            return []
        self._prepare()
        inputs = self.inputs
        earlier = earlier_digests(inputs.db, inputs.context, job, inputs.run_id)
        build = self._build_context(job, verdicts, earlier)
        paths = [inputs.staging / job / relative for relative in files]
        attested = attest_artifacts(self.store, paths, build, self._signer)
        records = [self._record(job, build, item) for item in attested]
        save_attestations(inputs.db, inputs.run_id, inputs.context, records)
        return attested

    def _build_context(
        self, job: str, verdicts: Mapping[str, GateVerdict], earlier: frozenset[str]
    ) -> BuildContext:
        inputs, context = self.inputs, self.inputs.context
        return BuildContext(
            builder_id=BUILDER_ID,
            build_type=BUILD_TYPE,
            pipeline_path=inputs.pipeline_source,
            pipeline_sha256=inputs.pipeline_digest.removeprefix("sha256:"),
            job=job,
            repository=context.repo,
            commit=context.commit or "uncommitted",
            ref=context.ref or "",
            trigger=context.event,
            trust=context.trust,
            started=inputs.started,
            finished=datetime.now(UTC),
            run_id=str(inputs.run_id),
            dependencies=self._dependencies,
            gates=_gates(verdicts),
            source_date_epoch=self._epoch,
            earlier_digests=earlier,
        )

    def _record(self, job: str, build: BuildContext, item: AttestedArtifact) -> ArtifactAttestation:
        # The same test the provenance's `reproducible` was written with (supplychain).
        same = build.source_date_epoch is not None and build.reproduced(str(item.record.digest))
        return ArtifactAttestation.of(
            job,
            item,
            self.store,
            trust=build.trust.value,
            reproducible=Reproducibility.VERIFIED if same else Reproducibility.UNVERIFIED,
        )
