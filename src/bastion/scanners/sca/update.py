"""``bastion db update``: download per-ecosystem OSV archives, verify them, rebuild the index.

The public source serves ``<base>/<Ecosystem>/all.zip``; a mirror URL replaces the base.
Verification before anything is replaced: the byte count must match ``Content-Length``; a
digest is checked where one is published (a ``all.zip.sha256`` sidecar pins it, or the MD5
in Google Cloud Storage's ``x-goog-hash`` header); the zip must be readable with no member
climbing out of it and no declared size past the caps; every record must be well-formed and
name a package of that ecosystem (or be withdrawn), else the whole archive is refused. A
network failure is an error, never an empty database. Each ecosystem's index is swapped on
its own (written beside, synced, renamed), so a failed ecosystem keeps its previous data.
Which ecosystems: the ones named, or those a project's manifests and lock files name.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bastion.scanners.sca.database import import_path
from bastion.scanners.sca.errors import ArchiveError, DatabaseError, ManifestError
from bastion.scanners.sca.index import IndexMeta
from bastion.scanners.sca.parsers import discover
from bastion.scanners.sca.paths import osv_dir
from bastion.scanners.sca.versions import base_ecosystem

__all__ = [
    "DEFAULT_ECOSYSTEMS",
    "PUBLIC_SOURCE",
    "Progress",
    "UpdateError",
    "UpdateFailure",
    "UpdateResult",
    "archive_url",
    "ecosystems_in_tree",
    "update",
]

PUBLIC_SOURCE = "https://osv-vulnerabilities.storage.googleapis.com"
DEFAULT_ECOSYSTEMS = ("PyPI", "npm", "Go", "crates.io", "RubyGems", "Maven", "Packagist")
MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024
_CHUNK = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


Opener = Callable[[str, float], IO[bytes]]
# Download progress for people: (ecosystem, bytes so far, bytes announced or None).
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What one ecosystem's update fetched and how it was verified."""

    ecosystem: str
    url: str
    size: int
    verification: str
    meta: IndexMeta


def archive_url(ecosystem: str, mirror: str | None = None) -> str:
    """``<base>/<Ecosystem>/all.zip`` for the public source or a mirror (http/https only)."""
    base = (mirror or PUBLIC_SOURCE).rstrip("/")
    scheme = urllib.parse.urlsplit(base).scheme
    if scheme not in ("http", "https"):
        raise DatabaseError(
            f"mirror URL {base!r} is not http(s)", hint="e.g. --mirror https://osv.example.org"
        )
    return f"{base}/{urllib.parse.quote(ecosystem)}/all.zip"


def _open(url: str, timeout: float) -> IO[bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "bastion-db-update"})  # noqa: S310 - scheme checked
    response: IO[bytes] = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
    return response


def _fetch_sidecar(url: str, timeout: float, opener: Opener) -> str | None:
    try:
        with opener(url + ".sha256", timeout) as response:
            text = response.read(4096).decode("ascii", "replace").split()
    except urllib.error.HTTPError as exc:
        exc.close()  # an HTTPError holds the response's socket open
        if exc.code in (403, 404):
            return None  # no digest published
        raise DatabaseError(f"cannot fetch {url}.sha256: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise DatabaseError(f"cannot fetch {url}.sha256: {exc}") from exc
    if not text or not _HEX64.match(text[0]):
        raise ArchiveError(f"{url}.sha256 does not hold a SHA-256 digest")
    return text[0].lower()


def _download(
    url: str,
    target: IO[bytes],
    timeout: float,
    opener: Opener,
    progress: Callable[[int, int | None], None] | None = None,
) -> tuple[int, str, str | None, str | None]:
    """Stream ``url`` into ``target``; return size, sha256, GCS md5 (base64) and Last-Modified."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with opener(url, timeout) as response:
            headers = getattr(response, "headers", {})
            declared = headers.get("Content-Length")
            goog = headers.get("x-goog-hash") or ""
            modified = headers.get("Last-Modified")
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > MAX_ARCHIVE_BYTES:
                    raise ArchiveError(f"{url} is larger than {MAX_ARCHIVE_BYTES} bytes")
                sha256.update(chunk)
                md5.update(chunk)
                target.write(chunk)
                if progress is not None:
                    progress(size, int(declared) if declared and declared.isdigit() else None)
    except urllib.error.HTTPError as exc:
        exc.close()  # an HTTPError holds the response's socket open
        raise DatabaseError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except http.client.IncompleteRead as exc:
        raise ArchiveError(f"{url}: the download was cut short ({exc})") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise DatabaseError(
            f"cannot download {url}: {getattr(exc, 'reason', exc)}",
            hint="check the network, or use --mirror URL, or `bastion db import PATH` offline",
        ) from exc
    if declared is not None and declared.isdigit() and int(declared) != size:
        raise ArchiveError(f"{url}: received {size} bytes, the server announced {declared}")
    found = re.search(r"md5=([A-Za-z0-9+/=]+)", goog)
    gcs_md5 = found.group(1) if found else None
    if gcs_md5 is not None and base64.b64encode(md5.digest()).decode() != gcs_md5:
        raise ArchiveError(f"{url}: MD5 does not match the x-goog-hash header; download corrupt")
    return size, sha256.hexdigest(), gcs_md5, modified


def _date_of(last_modified: str | None) -> str:
    if last_modified:
        try:
            return (
                email.utils.parsedate_to_datetime(last_modified)
                .astimezone(dt.UTC)
                .date()
                .isoformat()
            )
        except (TypeError, ValueError):
            pass  # an unreadable header: the download time is the honest date
    return dt.datetime.now(dt.UTC).date().isoformat()


def update_one(
    ecosystem: str,
    *,
    mirror: str | None,
    directory: Path,
    timeout: float,
    opener: Opener,
    progress: Progress | None = None,
) -> UpdateResult:
    """Download, verify and import one ecosystem's archive."""
    url = archive_url(ecosystem, mirror)
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{ecosystem}.", suffix=".zip", dir=directory)
    try:
        with os.fdopen(handle, "wb") as target:
            step = (lambda done, total: progress(ecosystem, done, total)) if progress else None
            size, digest, gcs_md5, modified = _download(url, target, timeout, opener, step)
        published = _fetch_sidecar(url, timeout, opener)
        if published is not None and published != digest:
            raise ArchiveError(f"{url}: SHA-256 {digest} does not match the published {published}")
        verification = (
            "sha256 sidecar"
            if published
            else "md5 (x-goog-hash)"
            if gcs_md5
            else "size only (no digest published)"
        )
        summary = import_path(
            Path(name),
            directory,
            source=url,
            snapshot_date=_date_of(modified),
            ecosystems=[ecosystem],
            archive_of=ecosystem,
        )
    finally:
        Path(name).unlink(missing_ok=True)
    return UpdateResult(ecosystem, url, size, verification, summary.metas[0])


@dataclass(frozen=True, slots=True)
class UpdateFailure:
    """One ecosystem whose update failed; its previous index (if any) is untouched."""

    ecosystem: str
    error: DatabaseError


class UpdateError(DatabaseError):
    """Some ecosystems could not be updated; ``results`` holds those that were."""

    def __init__(self, failures: list[UpdateFailure], results: list[UpdateResult]) -> None:
        lines = "; ".join(f"{f.ecosystem}: {f.error.message}" for f in failures)
        names = ", ".join(f.ecosystem for f in failures)
        super().__init__(
            f"could not update {names} ({lines}); the previous {names} data is kept",
            hint=failures[0].error.hint
            or "check the network or the mirror, or use `bastion db import PATH` offline",
        )
        self.failures = tuple(failures)
        self.results = tuple(results)


def ecosystems_in_tree(root: Path) -> list[str]:
    """The OSV ecosystems a tree's manifests and lock files name (what the SCA gate reads)."""
    if not root.is_dir():
        raise DatabaseError(f"{root} is not a directory", hint="give a project folder")
    try:
        found = discover(root)
    except ManifestError as exc:
        raise DatabaseError(
            f"cannot tell which ecosystems {root} uses: {exc.diagnostics()}",
            hint="fix the manifest, or name the ecosystems with --ecosystem",
        ) from exc
    ecosystems = sorted({base_ecosystem(d.ecosystem) for d in found.dependencies})
    if not ecosystems:
        where = ", ".join(found.manifests) or "no manifest or lock file"
        raise DatabaseError(
            f"{root} names no dependencies ({where}): no ecosystem to update",
            hint="name the ecosystems with --ecosystem, e.g. --ecosystem PyPI",
        )
    return ecosystems


def update(
    ecosystems: list[str] | None = None,
    *,
    mirror: str | None = None,
    directory: Path | None = None,
    timeout: float = 60.0,
    opener: Opener = _open,
    progress: Progress | None = None,
) -> list[UpdateResult]:
    """Update each ecosystem on its own; :class:`UpdateError` names every one that failed.

    Each ecosystem's index is replaced only when its archive downloaded and verified whole,
    so one failing ecosystem neither blocks the others nor loses its previous data.
    """
    target = directory or osv_dir()
    results: list[UpdateResult] = []
    failures: list[UpdateFailure] = []
    for ecosystem in ecosystems or DEFAULT_ECOSYSTEMS:
        try:
            results.append(
                update_one(
                    ecosystem,
                    mirror=mirror,
                    directory=target,
                    timeout=timeout,
                    opener=opener,
                    progress=progress,
                )
            )
        except DatabaseError as exc:
            failures.append(UpdateFailure(ecosystem, exc))
    if failures:
        raise UpdateError(failures, results)
    return results
