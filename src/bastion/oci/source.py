"""Opening an image: an OCI image layout directory, an OCI archive or a ``docker save`` tar.

    >>> image = open_image(Path("image-layout"))  # doctest: +SKIP
    >>> [layer.digest for layer in image.layers]  # doctest: +SKIP

Every blob is read through :class:`~bastion.oci.blobs.VerifyingReader`, so a layer whose bytes
do not hash to the manifest's digest is refused. Archive members named with ``..`` or an
absolute path are refused before anything is read; a layout's blobs are opened without
following symlinks. Nothing is extracted to disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from bastion.oci.blobs import Descriptor, VerifyingReader, check_digest, read_json
from bastion.oci.errors import ImageError, RefusalReason

__all__ = ["MAX_ARCHIVE_MEMBERS", "Image", "open_image"]

MAX_ARCHIVE_MEMBERS = 100_000
_INDEX_DEPTH = 4
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


class _Store:
    """Where blobs come from: a layout directory or a tar archive's members."""

    def __init__(self, root: Path | None, archive: tarfile.TarFile | None) -> None:
        self.root, self.archive = root, archive

    def open(self, name: str) -> IO[bytes]:
        if self.root is not None:
            try:
                fd = os.open(self.root / name, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError as exc:
                raise ImageError(
                    f"{name}: cannot open ({exc.strerror})", reason=RefusalReason.NOT_FOUND
                ) from exc
            return os.fdopen(fd, "rb")
        if self.archive is None:  # pragma: no cover (one of the two is always set)
            raise ImageError(name, reason=RefusalReason.NOT_FOUND)
        try:
            stream = self.archive.extractfile(name)
        except KeyError:
            stream = None
        if stream is None:
            raise ImageError(f"{name}: not a file in the archive", reason=RefusalReason.NOT_FOUND)
        return stream

    def size(self, name: str) -> int:
        if self.root is not None:
            return (self.root / name).lstat().st_size
        if self.archive is None:  # pragma: no cover
            raise ImageError(name, reason=RefusalReason.NOT_FOUND)
        return self.archive.getmember(name).size


@dataclass
class Image:
    """One image: its manifest, configuration and layer descriptors, in order."""

    kind: str
    manifest: dict[str, Any]
    manifest_bytes: bytes
    config: dict[str, Any]
    config_bytes: bytes
    config_descriptor: Descriptor
    layers: tuple[Descriptor, ...]
    _store: _Store
    _names: dict[str, str] = field(default_factory=dict)

    def blob_name(self, descriptor: Descriptor) -> str:
        """The member or file name holding ``descriptor``'s bytes."""
        return self._names.get(descriptor.digest, f"blobs/sha256/{descriptor.hex}")

    @contextmanager
    def open_blob(self, descriptor: Descriptor) -> Iterator[VerifyingReader]:
        """A reader of the blob that refuses bytes not matching the descriptor."""
        with self._store.open(self.blob_name(descriptor)) as raw:
            yield VerifyingReader(raw, descriptor)

    def close(self) -> None:
        """Release the archive, if any."""
        if self._store.archive is not None:
            self._store.archive.close()

    def __enter__(self) -> Image:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _safe_members(archive: tarfile.TarFile, path: Path) -> None:
    for count, member in enumerate(archive):
        if count >= MAX_ARCHIVE_MEMBERS:
            raise ImageError(
                f"{path}: more than {MAX_ARCHIVE_MEMBERS} members", reason=RefusalReason.TOO_LARGE
            )
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts:
            raise ImageError(
                f"{path}: member {member.name[:200]!r} climbs out of the archive",
                reason=RefusalReason.UNSAFE_PATH,
                hint="image archives never hold absolute or '..' member names",
            )
        if member.issym() or member.islnk():
            raise ImageError(
                f"{path}: member {member.name[:200]!r} is a link; image archives hold files",
                reason=RefusalReason.UNSAFE_PATH,
            )


def _json_file(store: _Store, name: str) -> tuple[bytes, Any]:
    """An unaddressed JSON file (index.json, manifest.json), size-capped, no digest."""
    size = store.size(name)
    with store.open(name) as stream:
        head = stream.read(min(size, 4 * 1024 * 1024) + 1)
    digest = "sha256:" + hashlib.sha256(head).hexdigest()
    return read_json(io.BytesIO(head), Descriptor("application/json", digest, len(head)), name)


def _pick(manifests: object, what: str) -> Descriptor:
    """The one manifest of an index: the only entry, or the one for this machine's platform."""
    if not isinstance(manifests, list) or not manifests:
        raise ImageError(f"{what} lists no manifests", reason=RefusalReason.MALFORMED)
    if len(manifests) == 1:
        return Descriptor.from_json(manifests[0], what)
    for entry in manifests:
        plat = entry.get("platform", {}) if isinstance(entry, dict) else {}
        if isinstance(plat, dict) and (plat.get("os"), plat.get("architecture")) == (
            "linux",
            _ARCH,
        ):
            return Descriptor.from_json(entry, what)
    raise ImageError(
        f"{what} lists {len(manifests)} manifests and none is linux/{_ARCH}",
        reason=RefusalReason.UNSUPPORTED,
        hint="copy the one platform to judge into its own layout (skopeo copy --override-arch)",
    )


def _oci(store: _Store, kind: str) -> Image:
    _, index = _json_file(store, "index.json")
    what = "index.json"
    for _ in range(_INDEX_DEPTH):
        descriptor = _pick(index.get("manifests") if isinstance(index, dict) else None, what)
        with store.open(f"blobs/sha256/{descriptor.hex}") as stream:
            raw, value = read_json(stream, descriptor, descriptor.digest)
        if isinstance(value, dict) and "layers" in value:
            return _from_manifest(store, kind, raw, value)
        index, what = value, descriptor.digest
    raise ImageError("no image manifest within four index levels", reason=RefusalReason.MALFORMED)


def _from_manifest(store: _Store, kind: str, raw: bytes, manifest: dict[str, Any]) -> Image:
    config_desc = Descriptor.from_json(manifest.get("config"), "manifest config")
    layers_json = manifest.get("layers")
    if not isinstance(layers_json, list):
        raise ImageError("manifest 'layers' is not a list", reason=RefusalReason.MALFORMED)
    layers = tuple(Descriptor.from_json(item, f"layer {n}") for n, item in enumerate(layers_json))
    with store.open(f"blobs/sha256/{config_desc.hex}") as stream:
        config_raw, config = read_json(stream, config_desc, "image configuration")
    if not isinstance(config, dict):
        raise ImageError("image configuration is not an object", reason=RefusalReason.MALFORMED)
    return Image(kind, manifest, raw, config, config_raw, config_desc, layers, store)


def _docker(store: _Store) -> Image:
    """``docker save``'s own format: manifest.json names the config and layer members."""
    raw, manifest = _json_file(store, "manifest.json")
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        raise ImageError("manifest.json must describe one image", reason=RefusalReason.MALFORMED)
    entry = manifest[0]
    config_name = str(entry.get("Config", ""))
    hex_part = PurePosixPath(config_name).name.removesuffix(".json")
    config_desc = Descriptor(
        "application/vnd.docker.container.image.v1+json",
        check_digest(f"sha256:{hex_part}", "manifest.json Config"),
        store.size(config_name),
    )
    with store.open(config_name) as stream:
        config_raw, config = read_json(stream, config_desc, "image configuration")
    diff_ids = config.get("rootfs", {}).get("diff_ids", []) if isinstance(config, dict) else []
    names = entry.get("Layers")
    if not isinstance(names, list) or not isinstance(diff_ids, list) or len(names) != len(diff_ids):
        raise ImageError(
            "manifest.json's layers do not match the configuration's diff_ids",
            reason=RefusalReason.MALFORMED,
        )
    layers, blob_names = [], {config_desc.digest: config_name}
    for name, diff_id in zip(names, diff_ids, strict=True):
        layer = Descriptor(_DOCKER_LAYER, check_digest(diff_id, "diff_id"), store.size(str(name)))
        layers.append(layer)
        blob_names[layer.digest] = str(name)
    return Image(
        "docker-archive",
        {"docker": manifest},
        raw,
        config,
        config_raw,
        config_desc,
        tuple(layers),
        store,
        blob_names,
    )


def open_image(path: Path) -> Image:
    """Open the image at ``path`` (layout directory, OCI archive or ``docker save`` tar)."""
    if path.is_dir():
        if not (path / "oci-layout").is_file() or not (path / "index.json").is_file():
            raise ImageError(
                f"{path} is not an OCI image layout (no oci-layout and index.json)",
                reason=RefusalReason.UNSUPPORTED,
            )
        return _oci(_Store(path, None), "oci-layout")
    try:
        archive = tarfile.open(path, mode="r:")  # noqa: SIM115 (closed by Image.close)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ImageError(
            f"{path}: not a readable image tar: {exc}", reason=RefusalReason.MALFORMED
        ) from exc
    try:
        _safe_members(archive, path)
        names = set(archive.getnames())
        store = _Store(None, archive)
        if "index.json" in names:
            return _oci(store, "oci-archive")
        if "manifest.json" in names:
            return _docker(store)
    except (tarfile.TarError, OSError, EOFError) as exc:
        archive.close()
        raise ImageError(
            f"{path}: not a readable image tar: {exc}", reason=RefusalReason.MALFORMED
        ) from exc
    except BaseException:
        archive.close()
        raise
    archive.close()
    raise ImageError(
        f"{path}: neither index.json nor manifest.json", reason=RefusalReason.UNSUPPORTED
    )
