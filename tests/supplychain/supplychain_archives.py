"""Builders of small real archives for the SBOM tests: wheels, sdists, image tarballs."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

DATA = Path(__file__).parent.parent / "data" / "supplychain"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(path: Path) -> Path:
    """A wheel of demo-lib 1.2.0 with one module and a RECORD with hashes."""
    files = {
        "demo_lib/__init__.py": b"VALUE = 1\n",
        "demo_lib-1.2.0.dist-info/METADATA": (DATA / "METADATA").read_bytes(),
        "demo_lib-1.2.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
    }
    record = "\n".join(_record_line(n, d) for n, d in files.items())
    record += "\ndemo_lib-1.2.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("demo_lib-1.2.0.dist-info/RECORD", record)
    return path


def _tar_bytes(files: dict[str, bytes], *, gzipped: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0) if gzipped else raw


def make_sdist(path: Path) -> Path:
    """An sdist of demo-lib 1.2.0."""
    path.write_bytes(
        _tar_bytes(
            {
                "demo_lib-1.2.0/PKG-INFO": (DATA / "METADATA").read_bytes(),
                "demo_lib-1.2.0/demo_lib/__init__.py": b"VALUE = 1\n",
            },
            gzipped=True,
        )
    )
    return path


def base_layer() -> dict[str, bytes]:
    """A Debian-like layer with dpkg status, apk db and a Python dist."""
    return {
        "var/lib/dpkg/status": (DATA / "dpkg-status").read_bytes(),
        "lib/apk/db/installed": (DATA / "apk-installed").read_bytes(),
        "usr/lib/python3/dist-packages/demo_lib-1.2.0.dist-info/METADATA": (
            DATA / "METADATA"
        ).read_bytes(),
        "etc/hostname": b"box\n",
    }


def make_docker_archive(path: Path, layers: list[bytes]) -> Path:
    """A ``docker save`` style archive with the given layer tarballs."""
    names = [f"{i:02d}/layer.tar" for i in range(len(layers))]
    manifest = [{"Config": "config.json", "RepoTags": ["demo:1"], "Layers": names}]
    files = {"manifest.json": json.dumps(manifest).encode(), "config.json": b"{}"}
    files.update(dict(zip(names, layers, strict=True)))
    path.write_bytes(_tar_bytes(files))
    return path


def make_oci_layout(path: Path, layers: list[bytes]) -> Path:
    """An OCI image layout tarball (index -> manifest -> layers)."""
    blobs: dict[str, bytes] = {}

    def add(data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[f"blobs/sha256/{digest[7:]}"] = data
        return digest

    layer_refs = [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": add(layer),
            "size": len(layer),
        }
        for layer in layers
    ]
    manifest = add(
        json.dumps(
            {"schemaVersion": 2, "layers": layer_refs, "config": {"digest": add(b"{}"), "size": 2}}
        ).encode()
    )
    index = {"schemaVersion": 2, "manifests": [{"digest": manifest, "size": 1}]}
    files = {
        "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
        "index.json": json.dumps(index).encode(),
    }
    files.update(blobs)
    path.write_bytes(_tar_bytes(files))
    return path


def layer(files: dict[str, bytes], *, gzipped: bool = True) -> bytes:
    """One layer tarball."""
    return _tar_bytes(files, gzipped=gzipped)
