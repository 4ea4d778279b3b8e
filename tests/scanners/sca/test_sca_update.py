"""``bastion db update`` against a mirror on loopback: verification and failures."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bastion.scanners.sca.database import status
from bastion.scanners.sca.errors import ArchiveError, DatabaseError
from bastion.scanners.sca.update import archive_url, update

from .sca_data import OSV


def _archive(extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((OSV / "go").glob("*.json")):
            archive.writestr(path.name, path.read_bytes())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclass
class Mirror:
    """What the loopback mirror serves: path -> (body, extra headers, announced length)."""

    files: dict[str, tuple[bytes, dict[str, str], int | None]] = field(default_factory=dict)
    url: str = ""


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    state = Mirror()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            entry = state.files.get(self.path)
            if entry is None:
                self.send_error(404)
                return
            body, headers, length = entry
            self.send_response(200)
            self.send_header("Content-Length", str(length if length is not None else len(body)))
            self.send_header("Last-Modified", "Fri, 21 Aug 2026 10:00:00 GMT")
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/osv"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_update_with_sha256_sidecar(mirror: Mirror, tmp_path: Path) -> None:
    body = _archive()
    mirror.files["/osv/Go/all.zip"] = (body, {}, None)
    mirror.files["/osv/Go/all.zip.sha256"] = (
        f"{hashlib.sha256(body).hexdigest()}  all.zip\n".encode(),
        {},
        None,
    )
    [result] = update(["Go"], mirror=mirror.url, directory=tmp_path, timeout=10)
    assert result.verification == "sha256 sidecar"
    assert result.size == len(body)
    assert result.meta.records == 2
    assert result.meta.snapshot_date == "2026-08-21"
    [meta] = status(tmp_path)
    assert meta.source == f"{mirror.url}/Go/all.zip"
    assert not list(tmp_path.glob(".*"))


def test_update_with_gcs_md5_header(mirror: Mirror, tmp_path: Path) -> None:
    body = _archive()
    md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
    mirror.files["/osv/Go/all.zip"] = (body, {"x-goog-hash": f"crc32c=AAAA, md5={md5}"}, None)
    [result] = update(["Go"], mirror=mirror.url, directory=tmp_path, timeout=10)
    assert result.verification == "md5 (x-goog-hash)"


def test_update_without_a_published_digest_checks_size(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files["/osv/Go/all.zip"] = (_archive(), {}, None)
    [result] = update(["Go"], mirror=mirror.url, directory=tmp_path, timeout=10)
    assert result.verification == "size only (no digest published)"


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        ("sidecar-mismatch", ArchiveError, "does not match the published"),
        ("md5-mismatch", ArchiveError, "x-goog-hash"),
        ("bad-sidecar", ArchiveError, "does not hold a SHA-256"),
        ("truncated", ArchiveError, "received 100 bytes"),
        ("missing", DatabaseError, "HTTP 404"),
        ("malformed-record", ArchiveError, "malformed OSV record bad.json"),
        ("wrong-ecosystem", ArchiveError, "no OSV records for Go"),
    ],
)
def test_update_failures_leave_no_database(
    mirror: Mirror, tmp_path: Path, setup: str, error: type[Exception], message: str
) -> None:
    body = _archive()
    files = mirror.files
    if setup == "sidecar-mismatch":
        files["/osv/Go/all.zip"] = (body, {}, None)
        files["/osv/Go/all.zip.sha256"] = (b"0" * 64, {}, None)
    elif setup == "md5-mismatch":
        files["/osv/Go/all.zip"] = (body, {"x-goog-hash": "md5=AAAAAAAAAAAAAAAAAAAAAA=="}, None)
    elif setup == "bad-sidecar":
        files["/osv/Go/all.zip"] = (body, {}, None)
        files["/osv/Go/all.zip.sha256"] = (b"<html>not a digest</html>", {}, None)
    elif setup == "truncated":
        files["/osv/Go/all.zip"] = (body[:100], {}, len(body))
    elif setup == "malformed-record":
        files["/osv/Go/all.zip"] = (_archive({"bad.json": b'{"id": 1}'}), {}, None)
    elif setup == "wrong-ecosystem":
        crates = io.BytesIO()
        with zipfile.ZipFile(crates, "w") as archive:
            for path in (OSV / "crates").glob("*.json"):
                archive.writestr(path.name, path.read_bytes())
        files["/osv/Go/all.zip"] = (crates.getvalue(), {}, None)
    with pytest.raises(error, match=message):
        update(["Go"], mirror=mirror.url, directory=tmp_path, timeout=10)
    assert status(tmp_path) == []
    assert not list(tmp_path.glob(".*"))


def test_unreachable_source_is_an_error_not_an_empty_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="cannot download") as caught:
        update(["PyPI"], mirror="http://127.0.0.1:9", directory=tmp_path, timeout=5)
    assert "bastion db import" in caught.value.diagnostics()
    assert status(tmp_path) == []


def test_archive_urls() -> None:
    assert (
        archive_url("crates.io")
        == "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip"
    )
    assert (
        archive_url("PyPI", "https://mirror.example/osv/")
        == "https://mirror.example/osv/PyPI/all.zip"
    )
    with pytest.raises(DatabaseError, match="not http"):
        archive_url("PyPI", "file:///etc")
