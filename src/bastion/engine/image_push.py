"""``bastion image push``: judge an image under policy, attest it, then push it, in that order.

    >>> request = ImagePush(Path("build/layout"), Reference.parse("reg.example/app:1"))
    >>> result = push_image(request, sandbox)  # doctest: +SKIP
    >>> result.pushed, result.digest  # doctest: +SKIP

1. The image gate runs over the image (in the sandbox, like ``bastion scan``) and the policy
   decides; a blocked image never reaches the network.
2. The image is opened again and its manifest digest must be the one judged (a layout
   changed in between is refused); its SBOMs (CycloneDX, SPDX) and SLSA provenance are
   written and signed into the local artifact store like any artifact's.
3. Blobs, then the manifest by digest (untagged), then cosign's ``sha256-<hex>.sig`` and
   ``.att`` artifacts beside it, and only then the manifest under the tag: a push that fails
   anywhere leaves the tag untouched. Every blob is digest-checked as it is uploaded.
"""

from __future__ import annotations

import getpass
import hashlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bastion.engine.attestation import BUILDER_ID
from bastion.engine.gate_scan import PathScan, scan_path
from bastion.engine.gates import GateDecision, GateSpec
from bastion.errors import UsageError
from bastion.oci import (
    Descriptor,
    Image,
    ImageError,
    Reference,
    RefusalReason,
    RegistryClient,
    open_image,
)
from bastion.sandbox import Limits, Sandbox
from bastion.scanners.image import GATE_NAME, InstalledPackage, image_inventory
from bastion.supplychain import (
    CYCLONEDX_PREDICATE,
    SLSA_PROVENANCE_V1,
    SPDX_PREDICATE,
    AttestedArtifact,
    BuildContext,
    CosignArtifact,
    GateResult,
    LocalBlobStore,
    Origin,
    Package,
    PackageKind,
    attest_image,
    attestation_artifact,
    load_local_signer,
    signature_artifact,
)
from bastion.trust import Trust

__all__ = ["BUILD_TYPE", "ImagePush", "PushResult", "image_sbom_packages", "push_image"]

BUILD_TYPE = "https://bastion.dev/buildtypes/image-push@v1"
_OS_PURLS = ("pkg:deb/", "pkg:apk/", "pkg:rpm/")


@dataclass(frozen=True)
class ImagePush:
    """What to push where, judged under which policy, signed with which home's key."""

    image: Path
    reference: Reference
    home: Path = Path()
    policy_dir: Path | None = None
    suppressions_file: Path | None = None
    plain_http: bool = False
    limits: Limits | None = None
    transport: httpx.BaseTransport | None = None  # tests: an in-process registry
    say: Callable[[str], None] = lambda _line: None


@dataclass(frozen=True)
class PushResult:
    """The policy decision and, when it allowed the push, what was pushed."""

    decision: GateDecision
    digest: str | None = None
    attested: AttestedArtifact | None = None
    tags: tuple[str, ...] = ()

    @property
    def pushed(self) -> bool:
        """Whether the image is in the registry under its tag."""
        return self.digest is not None

    @property
    def exit_code(self) -> int:
        """The policy's exit code (0 when pushed)."""
        return self.decision.exit_code


def image_sbom_packages(image: Image, installed: tuple[InstalledPackage, ...]) -> list[Package]:
    """The SBOM entries of an image: its layers by digest, then what the gate read."""
    found = [
        Package(f"layer {d.digest}", None, PackageKind.LAYER, Origin.ARTIFACT, sha256=d.hex)
        for d in image.layers
    ]
    for p in installed:
        kind = PackageKind.OS_PACKAGE if p.purl.startswith(_OS_PURLS) else PackageKind.LIBRARY
        found.append(Package(p.name, p.version, kind, Origin.ARTIFACT, purl=p.purl or None))
    return found


def _manifest_digest(image: Image) -> str:
    if image.kind == "docker-archive":
        raise UsageError(
            f"{image.kind} images have no registry manifest to push",
            hint="convert it to an OCI layout first (skopeo copy docker-archive:X oci:layout)",
        )
    return "sha256:" + hashlib.sha256(image.manifest_bytes).hexdigest()


def _context(request: ImagePush, decision: GateDecision, started: datetime) -> BuildContext:
    findings = sum(1 for f in decision.findings if f.finding.gate == GATE_NAME)
    return BuildContext(
        builder_id=BUILDER_ID,
        build_type=BUILD_TYPE,
        pipeline_path="",
        pipeline_sha256="",
        job="image-push",
        repository=str(request.image.resolve()),
        commit="uncommitted",
        ref=str(request.reference),
        trigger=f"bastion image push by {getpass.getuser()}@{socket.gethostname()}",
        trust=Trust.LOCAL,
        started=started,
        finished=datetime.now(UTC),
        run_id=f"image-push-{started.strftime('%Y%m%dT%H%M%S%fZ')}",
        gates=(GateResult(GATE_NAME, "pass", findings),),
    )


def _chunks(image: Image, descriptor: Descriptor) -> Iterator[bytes]:
    with image.open_blob(descriptor) as reader:
        while chunk := reader.read(1 << 20):
            yield chunk
        reader.drain()


def _push_artifact(client: RegistryClient, repository: str, artifact: CosignArtifact) -> None:
    for digest, data in artifact.blobs.items():
        if not client.has_blob(repository, digest):
            client.push_blob(repository, digest, len(data), data)
    client.put_manifest(
        repository, artifact.tag, "application/vnd.oci.image.manifest.v1+json", artifact.manifest
    )


def _upload(request: ImagePush, image: Image, digest: str, extras: list[CosignArtifact]) -> None:
    """Blobs, manifest by digest, signature and attestations, then the tag (see above)."""
    ref, repo = request.reference, request.reference.repository
    media = str(image.manifest.get("mediaType") or "application/vnd.oci.image.manifest.v1+json")
    with RegistryClient(
        ref.registry, plain_http=request.plain_http, transport=request.transport
    ) as client:
        for descriptor in (image.config_descriptor, *image.layers):
            if client.has_blob(repo, descriptor.digest):
                continue
            request.say(f"uploading {descriptor.digest} ({descriptor.size} bytes)")
            client.push_blob(repo, descriptor.digest, descriptor.size, _chunks(image, descriptor))
        client.put_manifest(repo, digest, media, image.manifest_bytes)
        for artifact in extras:
            _push_artifact(client, repo, artifact)
        client.put_manifest(repo, ref.tag, media, image.manifest_bytes)


def push_image(request: ImagePush, sandbox: Sandbox) -> PushResult:
    """Judge, attest and push ``request.image`` (module docstring); blocked: nothing pushed."""
    started = datetime.now(UTC)
    with open_image(request.image) as image:
        judged = _manifest_digest(image)
    root, name = request.image.resolve().parent, request.image.resolve().name
    scan = PathScan(
        root=root,
        gates=[GateSpec(GATE_NAME, {"image": name})],
        policy_dir=request.policy_dir,
        suppressions_file=request.suppressions_file,
        limits=request.limits,
        say=request.say,
    )
    decision = scan_path(scan, sandbox)
    if decision.exit_code != 0:
        return PushResult(decision)
    signer = load_local_signer(request.home, create=True).signer
    inventory = image_inventory(request.image, secrets=None)
    with open_image(request.image) as image:
        digest = _manifest_digest(image)
        if digest != judged:
            raise ImageError(
                f"{request.image} changed while it was judged ({judged} became {digest})",
                reason=RefusalReason.DIGEST_MISMATCH,
                hint="push again once the image is no longer being written",
            )
        attested = attest_image(
            LocalBlobStore(request.home / "artifacts"),
            image.manifest_bytes,
            str(request.reference),
            image_sbom_packages(image, inventory.packages),
            _context(request, decision, started),
            signer,
        )
        repository = f"{request.reference.registry}/{request.reference.repository}"
        extras = [
            signature_artifact(repository, digest, signer),
            attestation_artifact(
                digest,
                [
                    (SLSA_PROVENANCE_V1, attested.provenance),
                    (CYCLONEDX_PREDICATE, attested.cyclonedx),
                    (SPDX_PREDICATE, attested.spdx),
                ],
            ),
        ]
        _upload(request, image, digest, extras)
    return PushResult(
        decision, digest, attested, (extras[0].tag, extras[1].tag, request.reference.tag)
    )
