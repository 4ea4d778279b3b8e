"""``bastion db update`` against a mirror on loopback: verification and failures."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bastion.scanners.sca.database import status
from bastion.scanners.sca.errors import ArchiveError, DatabaseError
from bastion.scanners.sca.index import EcosystemIndex
from bastion.scanners.sca.update import UpdateError, archive_url, ecosystems_in_tree, update

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
        ("wrong-ecosystem", ArchiveError, "RUSTSEC-.* names no Go package"),
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
    with pytest.raises(UpdateError, match="could not update Go") as caught:
        update(["Go"], mirror=mirror.url, directory=tmp_path, timeout=10)
    [failure] = caught.value.failures
    assert failure.ecosystem == "Go"
    assert type(failure.error) is error
    assert re.search(message, failure.error.message)
    assert caught.value.results == ()
    assert status(tmp_path) == []
    assert not list(tmp_path.glob(".*"))


def test_unreachable_source_is_an_error_not_an_empty_database(tmp_path: Path) -> None:
    with pytest.raises(UpdateError, match="PyPI: cannot download") as caught:
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


def _flat_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _serve(mirror: Mirror, ecosystem: str, body: bytes) -> None:
    """An ``all.zip`` and its pinned SHA-256, as a mirror publishing digests serves them."""
    mirror.files[f"/osv/{ecosystem}/all.zip"] = (body, {}, None)
    digest = hashlib.sha256(body).hexdigest().encode()
    mirror.files[f"/osv/{ecosystem}/all.zip.sha256"] = (digest, {}, None)


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "requirements.txt").write_text("requests==2.19.1\n")
    (root / "go.mod").write_text(
        "module example.com/app\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.5.0\n"
    )
    return root


def test_ecosystems_come_from_the_trees_manifests_and_update_from_the_mirror(
    mirror: Mirror, tmp_path: Path
) -> None:
    ecosystems = ecosystems_in_tree(_project(tmp_path / "app"))
    assert ecosystems == ["Go", "PyPI"]
    _serve(mirror, "Go", _archive())
    pypa = {p.name: p.read_bytes() for p in sorted((OSV / "pypa").glob("*/*.yaml"))}
    _serve(mirror, "PyPI", _flat_zip(pypa))
    results = update(ecosystems, mirror=mirror.url, directory=tmp_path / "osv", timeout=10)
    assert [(r.ecosystem, r.verification, r.meta.records) for r in results] == [
        ("Go", "sha256 sidecar", 2),
        ("PyPI", "sha256 sidecar", 10),
    ]
    assert [m.ecosystem for m in status(tmp_path / "osv")] == ["Go", "PyPI"]


def test_a_tree_without_dependencies_names_no_ecosystem(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no ecosystem to update") as caught:
        ecosystems_in_tree(tmp_path)
    assert "--ecosystem" in caught.value.diagnostics()
    (tmp_path / "requirements.txt").write_text("requests==\n")
    with pytest.raises(DatabaseError, match="cannot tell which ecosystems"):
        ecosystems_in_tree(tmp_path)


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (b"<html>503 Service Unavailable</html>", "not a readable zip archive"),
        (_flat_zip({"../GO-2020-0001.json": b"{}"}), "unsafe path"),
        (_flat_zip({"GO-2020-0001.json": b"{}", "bomb.json": bytes(20 << 20)}), "larger than"),
    ],
)
def test_a_failing_ecosystem_keeps_its_previous_database(
    mirror: Mirror, tmp_path: Path, broken: bytes, reason: str
) -> None:
    directory = tmp_path / "osv"
    _serve(mirror, "Go", _archive())
    update(["Go"], mirror=mirror.url, directory=directory, timeout=10)
    [before] = status(directory)
    _serve(mirror, "Go", broken)
    crates = {p.name: p.read_bytes() for p in sorted((OSV / "crates").glob("*.json"))}
    _serve(mirror, "crates.io", _flat_zip(crates))
    with pytest.raises(UpdateError, match=f"could not update Go.*{reason}") as caught:
        update(["Go", "crates.io"], mirror=mirror.url, directory=directory, timeout=10)
    assert "the previous Go data is kept" in caught.value.message
    assert [r.ecosystem for r in caught.value.results] == ["crates.io"]
    after = {m.ecosystem: m for m in status(directory)}
    assert after["Go"] == before
    index = EcosystemIndex.open(directory, "Go")
    assert [a.id for a in index.lookup("Go", "github.com/gin-gonic/gin")] == ["GO-2020-0001"]
    index.close()
    assert not list(directory.glob(".*"))
