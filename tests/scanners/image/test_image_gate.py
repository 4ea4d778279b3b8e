"""The image gate end to end on images the tests write: packages, whiteouts, secrets, checks."""

from __future__ import annotations

import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bastion.scanners.composed import EngineSecrets, OsvMatcher
from bastion.scanners.image import ImageGate, InstalledPackage, VulnerabilityHit
from bastion.scanners.interface import ScanRequest
from tests.oci.builder import ImageSpec, Member, build_layout, docker_save, oci_archive
from tests.scanners.image.conftest import debian_spec

DIR = tarfile.DIRTYPE
SITE = "usr/lib/python3/dist-packages"


class NoVulnerabilities:
    """A matcher that judges nothing vulnerable and records what it was asked."""

    def __init__(self) -> None:
        self.seen: list[InstalledPackage] = []

    def match(self, packages: Sequence[InstalledPackage]) -> list[VulnerabilityHit]:
        self.seen = list(packages)
        return []

    def facts(self) -> dict[str, Any]:
        return {}


def _scan(root: Path, gate: ImageGate, image: str = "layout") -> Any:
    return gate.scan(ScanRequest(root=root, options={"image": image}))


def test_known_vulnerable_debian_package_is_found(tmp_path: Path, debian_db: Path) -> None:
    build_layout(tmp_path / "layout", debian_spec())
    report = _scan(tmp_path, ImageGate(OsvMatcher(debian_db), None))
    vulns = [f for f in report.findings if f.rule_id == "CVE-2099-0001"]
    assert len(vulns) == 1
    assert vulns[0].properties["package"] == "libssl3"
    assert vulns[0].properties["source_package"] == "openssl"
    assert vulns[0].properties["fixed_version"] == "3.0.13-1~deb12u1"
    assert report.facts["distribution"] == "debian/12"
    assert report.facts["packages_by_ecosystem"] == {"Debian:12": 2}


def test_fixed_version_is_not_reported(tmp_path: Path, debian_db: Path) -> None:
    fixed = (
        b"Package: libssl3\nStatus: install ok installed\nSource: openssl\n"
        b"Version: 3.0.13-1~deb12u1\n"
    )
    spec = debian_spec([Member("var/lib/dpkg/status", fixed)])
    build_layout(tmp_path / "layout", spec)
    report = _scan(tmp_path, ImageGate(OsvMatcher(debian_db), None))
    assert not [f for f in report.findings if f.rule_id == "CVE-2099-0001"]


def test_ecosystem_without_data_is_a_blocking_finding(tmp_path: Path, debian_db: Path) -> None:
    meta = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    build_layout(
        tmp_path / "layout", debian_spec([Member(f"{SITE}/demo-1.0.dist-info/METADATA", meta)])
    )
    report = _scan(tmp_path, ImageGate(OsvMatcher(debian_db), None))
    [missing] = [f for f in report.findings if f.rule_id == "image-packages-not-judged"]
    assert "PyPI" in missing.message
    assert missing.severity == "unknown"


def test_whiteout_removes_a_vulnerable_package(tmp_path: Path) -> None:
    meta = b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3\n"
    spec = debian_spec(
        [Member(f"{SITE}/PyYAML-5.3.dist-info/METADATA", meta)],
        [Member(f"{SITE}/.wh.PyYAML-5.3.dist-info")],
    )
    build_layout(tmp_path / "layout", spec)
    matcher = NoVulnerabilities()
    _scan(tmp_path, ImageGate(matcher, None))
    assert [p.name for p in matcher.seen] == ["libssl3", "bash"]


def test_opaque_directory_hides_lower_layers(tmp_path: Path) -> None:
    meta = b"Metadata-Version: 2.1\nName: old\nVersion: 1\n"
    new = b"Metadata-Version: 2.1\nName: new\nVersion: 2\n"
    spec = debian_spec(
        [Member(f"{SITE}/old-1.dist-info/METADATA", meta)],
        [Member(f"{SITE}/.wh..wh..opq"), Member(f"{SITE}/new-2.dist-info/METADATA", new)],
    )
    build_layout(tmp_path / "layout", spec)
    matcher = NoVulnerabilities()
    _scan(tmp_path, ImageGate(matcher, None))
    assert [p.name for p in matcher.seen if p.ecosystem == "PyPI"] == ["new"]


def test_pypi_package_against_real_pypa_record(tmp_path: Path) -> None:
    # The bundled snapshot (real PyPA records) knows PyYAML 5.3's CVE-2020-14343.
    meta = b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3\n"
    spec = ImageSpec(
        layers=[[Member("app/lib/PyYAML-5.3.dist-info/METADATA", meta)]], config={"User": "1000"}
    )
    build_layout(tmp_path / "layout", spec)
    report = _scan(tmp_path, ImageGate(OsvMatcher(tmp_path / "no-db"), None))
    assert "CVE-2020-14343" in {f.rule_id for f in report.findings}


def test_secret_in_env_and_in_a_deleted_layer_file(tmp_path: Path) -> None:
    key = (
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + _openssh_key_body()
        + b"-----END OPENSSH PRIVATE KEY-----\n"
    )
    spec = debian_spec(
        [Member("app/", kind=DIR, mode=0o755), Member("app/id_ed25519", key, mode=0o600)],
        [Member("app/.wh.id_ed25519")],
        Env=["PATH=/usr/bin", "DB_PASSWORD=Xk29-fjQ8-zzPq-71"],
    )
    build_layout(tmp_path / "layout", spec)
    report = _scan(tmp_path, ImageGate(NoVulnerabilities(), EngineSecrets()))
    [env] = [f for f in report.findings if "DB_PASSWORD" in f.message]
    assert env.rule_id.startswith("image-secret-")
    assert "Xk29-fjQ8" not in env.message
    layer = [f for f in report.findings if f.properties.get("layer") == 1]
    assert layer
    assert layer[0].properties["removed_later"] is True


def _openssh_key_body() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return b"".join(pem.splitlines(keepends=True)[1:-1])


def test_configuration_checks(tmp_path: Path) -> None:
    spec = debian_spec(
        [
            Member("usr/local/bin/", kind=DIR, mode=0o777),
            Member("usr/sbin/sshd", b"x" * 10, mode=0o755),
        ],
        User="",
    )
    spec.history = [{"created_by": "ADD https://example.com/tool.tgz /opt/ # buildkit"}]
    spec.annotations = {"org.opencontainers.image.base.name": "docker.io/library/debian:12"}
    build_layout(tmp_path / "layout", spec)
    report = _scan(tmp_path, ImageGate(NoVulnerabilities(), None))
    rules = {f.rule_id for f in report.findings}
    assert {
        "image-runs-as-root",
        "image-add-url",
        "image-base-not-pinned",
        "image-ssh-daemon",
        "image-path-world-writable",
    } <= rules


def test_clean_configuration_has_no_findings(tmp_path: Path) -> None:
    spec = debian_spec()
    spec.annotations = {
        "org.opencontainers.image.base.name": "debian:12@sha256:" + "a" * 64,
    }
    build_layout(tmp_path / "layout", spec)
    assert _scan(tmp_path, ImageGate(NoVulnerabilities(), None)).findings == ()


def test_oci_archive_and_docker_save_read_alike(tmp_path: Path) -> None:
    spec = debian_spec()
    build_layout(tmp_path / "layout", spec)
    oci_archive(tmp_path / "layout", tmp_path / "image.tar")
    docker_save(spec, tmp_path / "docker.tar")
    for name in ("layout", "image.tar", "docker.tar"):
        matcher = NoVulnerabilities()
        report = _scan(tmp_path, ImageGate(matcher, None), name)
        assert [p.name for p in matcher.seen] == ["libssl3", "bash"], name
        assert report.facts["layers"] == 1
