"""SBOM inventory and documents: schema-valid CycloneDX 1.6 and SPDX 2.3, archive contents."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from bastion.supplychain import ResolvedDependency, digest_file
from bastion.supplychain.contents import ArchiveLimitError, sdist_packages, wheel_packages
from bastion.supplychain.image import image_packages, is_image_archive
from bastion.supplychain.interface import ArtifactRecord
from bastion.supplychain.inventory import (
    Origin,
    PackageKind,
    environment_packages,
    lockfile_packages,
    spdx_license,
)
from bastion.supplychain.sbom import artifact_packages, build_sboms

from .supplychain_archives import (
    base_layer,
    layer,
    make_docker_archive,
    make_oci_layout,
    make_sdist,
    make_wheel,
)

NOW = datetime(2026, 11, 1, 10, 5, tzinfo=UTC)


def _record(path: Path) -> ArtifactRecord:
    digest, size = digest_file(path)
    return ArtifactRecord(digest, path.name, size, "application/octet-stream", NOW)


def _assert_valid(path: Path, tmp_path: Path, packages: list) -> tuple[dict, dict]:  # type: ignore[type-arg]
    sboms = build_sboms(_record(path), packages, timestamp=NOW)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(sboms.cyclonedx))
    assert errors is None, errors
    spdx_path = tmp_path / "doc.spdx.json"
    spdx_path.write_text(json.dumps(sboms.spdx))
    messages = validate_full_spdx_document(parse_file(str(spdx_path)))
    assert [m.validation_message for m in messages] == []
    return sboms.cyclonedx, sboms.spdx


def test_wheel_contents(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo_lib-1.2.0-py3-none-any.whl")
    packages = artifact_packages(wheel)
    main = packages[0]
    assert (main.name, main.version, main.purl, main.license) == (
        "demo-lib",
        "1.2.0",
        "pkg:pypi/demo-lib@1.2.0",
        "MIT",
    )
    assert [p.name for p in packages if p.kind is PackageKind.LIBRARY][1:] == ["requests", "rich"]
    assert {p.name for p in packages if p.kind is PackageKind.FILE} == {
        "demo_lib/__init__.py",
        "demo_lib-1.2.0.dist-info/METADATA",
        "demo_lib-1.2.0.dist-info/WHEEL",
    }
    cyclonedx, spdx = _assert_valid(wheel, tmp_path, packages)
    purls = {c.get("purl") for c in cyclonedx["components"]}
    assert "pkg:pypi/demo-lib@1.2.0" in purls
    assert spdx["spdxVersion"] == "SPDX-2.3"


def test_wheel_record_hash_is_the_file_hash(tmp_path: Path) -> None:
    import hashlib

    wheel = make_wheel(tmp_path / "demo.whl")
    files = {p.name: p.sha256 for p in wheel_packages(wheel) if p.kind is PackageKind.FILE}
    assert files["demo_lib/__init__.py"] == hashlib.sha256(b"VALUE = 1\n").hexdigest()


def test_not_a_wheel_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.whl"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("x.py", "")
    with pytest.raises(ArchiveLimitError, match="not a wheel"):
        wheel_packages(bad)
    (tmp_path / "junk.whl").write_bytes(b"not a zip")
    with pytest.raises(ArchiveLimitError, match="unreadable wheel"):
        wheel_packages(tmp_path / "junk.whl")


def test_oversized_metadata_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion.supplychain import contents

    monkeypatch.setattr(contents, "MAX_METADATA", 10)
    with pytest.raises(ArchiveLimitError, match="larger than"):
        wheel_packages(make_wheel(tmp_path / "demo.whl"))


def test_sdist_contents(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "demo_lib-1.2.0.tar.gz")
    packages = artifact_packages(sdist)
    assert packages[0].purl == "pkg:pypi/demo-lib@1.2.0"
    assert any(p.name == "demo_lib-1.2.0/demo_lib/__init__.py" and p.sha256 for p in packages)
    _assert_valid(sdist, tmp_path, packages)


def test_tarball_without_pkg_info_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.tar.gz"
    path.write_bytes(layer({"x/readme": b"hi"}))
    with pytest.raises(ArchiveLimitError, match="no top-level PKG-INFO"):
        sdist_packages(path)


@pytest.mark.parametrize("builder", [make_docker_archive, make_oci_layout])
def test_image_contents(tmp_path: Path, builder: object) -> None:
    image = builder(tmp_path / "image.tar", [layer(base_layer())])  # type: ignore[operator]
    assert is_image_archive(image)
    packages = artifact_packages(image)
    by_name = {p.name: p for p in packages}
    assert by_name["libssl3"].purl == "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64"
    assert "removed-pkg" not in by_name
    assert by_name["musl"].license == "MIT"
    assert by_name["busybox"].purl == "pkg:apk/alpine/busybox@1.36.1-r5"
    assert by_name["demo-lib"].origin is Origin.ARTIFACT
    [layer_entry] = [p for p in packages if p.kind is PackageKind.LAYER]
    assert layer_entry.inspected
    assert layer_entry.sha256
    _assert_valid(image, tmp_path, packages)


def test_later_layer_whiteout_removes_a_database(tmp_path: Path) -> None:
    top = layer({"var/lib/dpkg/.wh.status": b""}, gzipped=False)
    image = make_docker_archive(tmp_path / "image.tar", [layer(base_layer()), top])
    names = {p.name for p in image_packages(image)}
    assert "libssl3" not in names
    assert "musl" in names


def test_zstd_layer_is_listed_as_not_inspected(tmp_path: Path) -> None:
    zstd_like = b"\x28\xb5\x2f\xfd" + b"\x00" * 600
    image = make_docker_archive(tmp_path / "image.tar", [zstd_like])
    [entry] = image_packages(image)
    assert entry.kind is PackageKind.LAYER
    assert not entry.inspected
    cyclonedx, _ = _assert_valid(image, tmp_path, [entry])
    props = {p["name"]: p["value"] for p in cyclonedx["components"][0]["properties"]}
    assert props["bastion:inspected"] == "false"


def test_layer_decompression_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion.supplychain import image as image_module

    monkeypatch.setattr(image_module, "MAX_LAYER_BYTES", 1024)
    image = make_docker_archive(tmp_path / "image.tar", [layer({"big": b"\0" * 100_000})])
    with pytest.raises(ArchiveLimitError, match="decompresses past"):
        image_packages(image)


def test_malformed_image_manifests_are_refused(tmp_path: Path) -> None:
    from .supplychain_archives import _tar_bytes

    path = tmp_path / "image.tar"
    path.write_bytes(_tar_bytes({"manifest.json": b"[]"}))
    with pytest.raises(ArchiveLimitError, match="one image"):
        image_packages(path)
    path.write_bytes(
        _tar_bytes({"oci-layout": b"{}", "index.json": b'{"manifests": [{"digest": "md5:x"}]}'})
    )
    with pytest.raises(ArchiveLimitError, match="bad digest"):
        image_packages(path)
    path.write_bytes(_tar_bytes({"manifest.json": b"{not json"}))
    with pytest.raises(ArchiveLimitError, match="not JSON"):
        image_packages(path)


def test_plain_files_have_no_contents(tmp_path: Path) -> None:
    path = tmp_path / "app.bin"
    path.write_bytes(b"\x7fELF")
    assert artifact_packages(path) == []
    assert not is_image_archive(path)


def test_environment_packages_come_from_site_packages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "demo_lib-1.2.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        (Path(__file__).parent.parent / "data" / "supplychain" / "METADATA").read_text()
    )
    nameless = site / "broken-0.dist-info"
    nameless.mkdir()
    (nameless / "METADATA").write_text("Metadata-Version: 2.1\n")
    [package] = environment_packages([site])
    assert (package.name, package.version, package.license) == ("demo-lib", "1.2.0", "MIT")
    assert package.origin is Origin.ENVIRONMENT
    assert environment_packages([]) == []


def test_lockfile_packages_keep_hashes_and_licenses() -> None:
    [package] = lockfile_packages(
        [
            ResolvedDependency(
                "requests", "2.32.3", "pkg:pypi/requests@2.32.3", "ab" * 32, "Apache 2.0"
            )
        ]
    )
    assert package.sha256 == "ab" * 32
    assert package.license is None  # "Apache 2.0" is not an SPDX expression


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MIT", "MIT"),
        ("mit", "MIT"),
        ("BSD-3-Clause OR MIT", "BSD-3-Clause OR MIT"),
        ("Copyright (c) Foo", None),
        (None, None),
        ("MIT\nmore text", None),
        ("x" * 300, None),
    ],
)
def test_spdx_license_normalisation(text: str | None, expected: str | None) -> None:
    assert spdx_license(text) == expected
