"""``bastion image push`` (issue 17): gate, attest, then push to a real registry in order."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from bastion.engine.image_push import ImagePush, push_image
from bastion.oci.errors import RegistryError
from bastion.oci.registry import Reference
from bastion.sandbox import UnsafeHostRunner
from bastion.supplychain import local_key_paths
from bastion.supplychain.cosign import DSSE_MEDIA_TYPE, cosign_tag
from bastion.supplychain.statement import CYCLONEDX_PREDICATE, SLSA_PROVENANCE_V1, SPDX_PREDICATE
from tests.engine.registry_server import REGISTRY_BINARY, docker_registry, fake_registry
from tests.oci.builder import ImageSpec, Member, build_layout

needs_registry = pytest.mark.skipif(
    not REGISTRY_BINARY.is_file(), reason="docker-registry is not installed (make system-deps)"
)


def _layout(tmp_path: Path, user: str = "1000") -> Path:
    spec = ImageSpec(
        layers=[[Member("app/", kind=b"5", mode=0o755), Member("app/hello.txt", b"hello\n")]],
        config={"User": user, "Env": ["PATH=/usr/bin"]},
    )
    return build_layout(tmp_path / "build" / "layout", spec)


def _request(tmp_path: Path, reference: str) -> ImagePush:
    return ImagePush(
        _layout(tmp_path), Reference.parse(reference), home=tmp_path / "home", plain_http=True
    )


def _get(base: str, path: str, accept: str = "") -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(f"http://{base}/v2/{path}", headers=headers, timeout=10)


@needs_registry
def test_passing_image_is_pushed_signed_with_sboms(tmp_path: Path) -> None:
    with docker_registry(tmp_path / "registry") as registry:
        request = _request(tmp_path, f"{registry}/team/app:1.0")
        result = push_image(request, UnsafeHostRunner())
        assert result.pushed
        assert result.exit_code == 0
        digest = str(result.digest)
        tags = _get(registry, "team/app/tags/list").json()["tags"]
        assert set(tags) == {"1.0", cosign_tag(digest, "sig"), cosign_tag(digest, "att")}
        oci = "application/vnd.oci.image.manifest.v1+json"
        pulled = _get(registry, "team/app/manifests/1.0", oci)
        assert pulled.headers["Docker-Content-Digest"] == digest
        _check_signature(registry, digest, tmp_path / "home")
        att = _get(registry, f"team/app/manifests/{cosign_tag(digest, 'att')}", oci).json()
        types = [layer["annotations"]["predicateType"] for layer in att["layers"]]
        assert types == [SLSA_PROVENANCE_V1, CYCLONEDX_PREDICATE, SPDX_PREDICATE]
        assert {layer["mediaType"] for layer in att["layers"]} == {DSSE_MEDIA_TYPE}
        envelope = _get(registry, f"team/app/blobs/{att['layers'][0]['digest']}").json()
        statement = json.loads(base64.b64decode(envelope["payload"]))
        assert statement["subject"][0]["digest"] == {"sha256": digest.removeprefix("sha256:")}
        assert envelope["signatures"]


def _check_signature(registry: str, digest: str, home: Path) -> None:
    oci = "application/vnd.oci.image.manifest.v1+json"
    sig = _get(registry, f"team/app/manifests/{cosign_tag(digest, 'sig')}", oci).json()
    [layer] = sig["layers"]
    payload = _get(registry, f"team/app/blobs/{layer['digest']}").content
    claimed = json.loads(payload)["critical"]
    assert claimed["image"]["docker-manifest-digest"] == digest
    assert claimed["identity"]["docker-reference"] == f"{registry}/team/app"
    raw = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
    public = load_pem_public_key(local_key_paths(home)[1].read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(raw, payload, ec.ECDSA(hashes.SHA256()))  # raises if it does not verify


@needs_registry
def test_blocked_image_never_reaches_the_registry(tmp_path: Path) -> None:
    with docker_registry(tmp_path / "registry") as registry:
        request = ImagePush(
            _layout(tmp_path, user="root"),
            Reference.parse(f"{registry}/team/app:1.0"),
            home=tmp_path / "home",
            plain_http=True,
        )
        result = push_image(request, UnsafeHostRunner())
        assert not result.pushed
        assert result.exit_code == 1
        assert "image-runs-as-root" in {f.finding.rule_id for f in result.decision.findings}
        assert _get(registry, "team/app/tags/list").status_code == 404


@pytest.mark.parametrize(
    ("status", "everything", "told"),
    [(401, True, "authentication required"), (500, False, "storage backend")],
)
def test_refusing_registry_fails_with_its_message_and_tags_nothing(
    tmp_path: Path, status: int, everything: bool, told: str
) -> None:
    with fake_registry(status, everything=everything) as server:
        request = _request(tmp_path, f"{server.address}/app:1.0")
        with pytest.raises(RegistryError) as caught:
            push_image(request, UnsafeHostRunner())
    assert caught.value.status == status
    assert told in caught.value.message
    tag_puts = [r for r in server.requests if r == "PUT /v2/app/manifests/1.0"]
    assert tag_puts == []
    if status == 500:  # everything but the tags went through: the first tag PUT failed
        assert any("/manifests/sha256:" in r for r in server.requests)
        assert server.requests[-1].startswith("PUT /v2/app/manifests/sha256-")


@pytest.mark.parametrize(
    "text",
    ["app:1.0", "docker.io/app", "reg.example/App:1", "reg.example/app:-x", "r.e/a@sha256:0"],
)
def test_reference_is_refused_when_incomplete(text: str) -> None:
    from bastion.errors import UsageError

    with pytest.raises(UsageError):
        Reference.parse(text)
