"""Issue 23: data fetched on the host before the gate when missing or stale; offline says how.

A loopback server plays OSV's bucket (``BASTION_OSV_URL``), serving archives built from real
records: the npm GHSA record for follow-redirects and PyPA's requests records.
"""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.scanners.interface import ScanRequest
from bastion.scanners.sca.database import import_path, status
from bastion.scanners.sca.errors import DatabaseError
from bastion.scanners.sca.fetch import ensure_data
from bastion.scanners.sca.gate import ScaGate

from .sca_data import DATA, OSV

LOCK = (
    '{"name": "app", "lockfileVersion": 3, "packages": {"": {"dependencies": '
    '{"follow-redirects": "1.15.3"}}, "node_modules/follow-redirects": {"version": "1.15.3"}}}'
)


def _zip(paths: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in paths:
            archive.writestr(path.name, path.read_bytes())
    return buffer.getvalue()


class Bucket:
    """Archives by path, and every path asked for."""

    def __init__(self) -> None:
        self.files = {
            "/npm/all.zip": _zip([DATA / "ghsa" / "GHSA-jchw-25xp-jwwc.json"]),
            "/PyPI/all.zip": _zip(sorted((OSV / "pypa" / "requests").glob("*.yaml"))),
        }
        self.asked: list[str] = []
        self.url = ""


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    state = Bucket()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.asked.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("BASTION_OSV_URL", state.url)
    monkeypatch.delenv("BASTION_OFFLINE", raising=False)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    (root / "package-lock.json").write_text(LOCK)
    (root / "requirements.txt").write_text("requests==2.19.1\n")
    return root


def test_missing_data_is_downloaded_with_progress_then_the_gate_decides(
    tmp_path: Path, bucket: Bucket
) -> None:
    root, db = _tree(tmp_path), tmp_path / "osv"
    seen: list[tuple[str, int, int | None]] = []
    outcome = ensure_data(root, directory=db, progress=lambda *a: seen.append(a))
    assert sorted(r.ecosystem for r in outcome.fetched) == ["PyPI", "npm"]
    assert not outcome.messages
    assert {e for e, _, _ in seen} == {"PyPI", "npm"}
    assert all(total == len(bucket.files[f"/{e}/all.zip"]) for e, _, total in seen)
    report = ScaGate(database_dir=db).scan(ScanRequest(root=root))
    assert {"CVE-2023-26159", "CVE-2018-18074"} <= {f.rule_id for f in report.findings}
    # Fresh data is not fetched again.
    asked = len(bucket.asked)
    assert ensure_data(root, directory=db).fetched == ()
    assert len(bucket.asked) == asked


def test_data_past_its_age_is_fetched_again(tmp_path: Path, bucket: Bucket) -> None:
    root, db = _tree(tmp_path), tmp_path / "osv"
    import_path(OSV / "pypa" / "requests", db, snapshot_date="2020-01-01")
    outcome = ensure_data(root, directory=db, max_age_days=7)
    assert sorted(r.ecosystem for r in outcome.fetched) == ["PyPI", "npm"]
    assert {m.ecosystem: m.snapshot_date != "2020-01-01" for m in status(db)}["PyPI"]


def test_offline_fetches_nothing_says_what_to_import_and_the_gate_fails_closed(
    tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASTION_OFFLINE", "1")
    root, db = _tree(tmp_path), tmp_path / "osv"
    (message,) = ensure_data(root, directory=db).messages
    assert bucket.asked == []
    assert "offline" in message
    assert "npm" in message
    assert "bastion db import PATH" in message
    assert "github/advisory-database" in message
    import_path(OSV / "pypa" / "requests", db)  # PyPI data, still none for npm
    with pytest.raises(DatabaseError, match="no npm vulnerability data") as caught:
        ScaGate(database_dir=db).scan(ScanRequest(root=root))
    assert "bastion db import PATH" in (caught.value.hint or "")


def test_no_route_to_the_source_is_one_message_naming_db_import(
    tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    monkeypatch.setenv("BASTION_OSV_URL", f"http://127.0.0.1:{port}")
    root, db = _tree(tmp_path), tmp_path / "osv"
    outcome = ensure_data(root, directory=db, timeout=5)
    assert outcome.fetched == ()
    (message,) = outcome.messages
    assert "PyPI, npm" in message
    assert "bastion db import PATH" in message


def test_the_gates_host_hook_fetches_before_the_sandboxed_run(
    tmp_path: Path, bucket: Bucket
) -> None:
    root, db = _tree(tmp_path), tmp_path / "osv"
    options = ScaGate(database_dir=db).prepare_workspace(root, tmp_path, {"exclude": []})
    assert options == {"exclude": []}
    assert sorted(m.ecosystem for m in status(db)) == ["PyPI", "npm"]
