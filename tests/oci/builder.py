"""Small OCI images written directly in Python, for tests: layouts, OCI archives, docker save.

Each layer is a list of :class:`Member` values; the builder writes real tar layers (gzip when
asked), the configuration, the manifest, index.json and oci-layout with correct digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ImageSpec", "Member", "build_layout", "docker_save", "layer_tar", "oci_archive"]


@dataclass(frozen=True)
class Member:
    """One tar member of a layer."""

    name: str
    data: bytes = b""
    mode: int = 0o644
    kind: bytes = tarfile.REGTYPE
    link: str = ""


def layer_tar(members: list[Member]) -> bytes:
    """An uncompressed tar of ``members``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type, info.mode, info.linkname = m.kind, m.mode, m.link
            info.size = len(m.data) if m.kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(m.data) if m.kind == tarfile.REGTYPE else None)
    return out.getvalue()


def _blob(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}"


@dataclass
class ImageSpec:
    """What an image holds: layers, configuration fields, manifest annotations."""

    layers: list[list[Member]]
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    gzip_layers: bool = True
    raw_layers: list[bytes] = field(default_factory=list)  # tars made elsewhere (GNU tar)


def build_layout(root: Path, spec: ImageSpec) -> Path:
    """Write ``spec`` as an OCI image layout directory at ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    raws = [layer_tar(layer) for layer in spec.layers] + spec.raw_layers
    descriptors = []
    for raw in raws:
        data = gzip.compress(raw, mtime=0) if spec.gzip_layers else raw
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if spec.gzip_layers else "")
        descriptors.append({"mediaType": media, "digest": _blob(root, data), "size": len(data)})
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": spec.config,
        "rootfs": {
            "type": "layers",
            "diff_ids": [f"sha256:{hashlib.sha256(r).hexdigest()}" for r in raws],
        },
        "history": spec.history,
    }
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _blob(root, config_bytes),
            "size": len(config_bytes),
        },
        "layers": descriptors,
        "annotations": spec.annotations,
    }
    manifest_bytes = json.dumps(manifest).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _blob(root, manifest_bytes),
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": "test"},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def oci_archive(layout: Path, target: Path) -> Path:
    """The layout at ``layout`` as an OCI archive (a tar of the layout's files)."""
    with tarfile.open(target, "w") as tar:
        for path in sorted(layout.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(layout)), recursive=False)
    return target


def docker_save(spec: ImageSpec, target: Path) -> Path:
    """``spec`` in ``docker save``'s own format (manifest.json, <id>/layer.tar)."""
    raws = [layer_tar(layer) for layer in spec.layers]
    config = {
        "config": spec.config,
        "history": spec.history,
        "rootfs": {
            "type": "layers",
            "diff_ids": [f"sha256:{hashlib.sha256(r).hexdigest()}" for r in raws],
        },
    }
    config_bytes = json.dumps(config).encode()
    config_name = f"{hashlib.sha256(config_bytes).hexdigest()}.json"
    members = [(config_name, config_bytes)]
    names = []
    for n, raw in enumerate(raws):
        names.append(f"layer{n}/layer.tar")
        members.append((names[-1], raw))
    manifest = [{"Config": config_name, "RepoTags": ["test:latest"], "Layers": names}]
    members.append(("manifest.json", json.dumps(manifest).encode()))
    with tarfile.open(target, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target
