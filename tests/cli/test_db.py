"""`bastion db update|import|status` as a user types them."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli.db import register
from bastion.errors import UsageError
from bastion.scanners.sca.errors import ArchiveError, DatabaseError

DATA = Path(__file__).resolve().parents[1] / "data" / "sca" / "osv"
BASTION = str(Path(sys.executable).with_name("bastion"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(path))
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test root."""

    return app


def test_status_without_a_database_says_the_snapshot_is_used(home: Path) -> None:
    result = CliRunner().invoke(_app(), ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "bundled OSV snapshot" in result.output
    result = CliRunner().invoke(_app(), ["db", "status", "--json"])
    assert json.loads(result.stdout)["ecosystems"] == []


def test_import_then_status(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        _app(), ["db", "import", str(DATA), "--source", "fixtures", "--date", "2026-08-21"]
    )
    assert result.exit_code == 0, result.output
    assert "PyPI" in result.stdout
    assert "fixtures" in result.stdout
    result = runner.invoke(_app(), ["db", "status", "--json"])
    data = json.loads(result.stdout)
    assert data["directory"] == str(home / "osv")
    rows = {row["ecosystem"]: row for row in data["ecosystems"]}
    assert rows["PyPI"]["records"] == 10
    assert rows["PyPI"]["withdrawn"] == 1
    assert rows["Go"]["snapshot_date"] == "2026-08-21"
    assert isinstance(rows["Go"]["age_days"], int)
    result = runner.invoke(_app(), ["db", "status"])
    assert "crates.io" in result.stdout
    result = runner.invoke(_app(), ["db", "import", str(DATA / "go"), "--json", "-e", "Go"])
    assert [row["ecosystem"] for row in json.loads(result.stdout)] == ["Go"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["db", "import", "PATH", "--date", "yesterday"], UsageError),
        (["db", "import", "PATH", "-e", "Cobol"], UsageError),
        (["db", "import", "MISSING"], ArchiveError),
        (["db", "update", "-e", "PyPI", "--mirror", "ftp://mirror.example"], DatabaseError),
    ],
)
def test_bad_use_raises_bastion_errors(home: Path, args: list[str], error: type[Exception]) -> None:
    args = [
        str(DATA) if a == "PATH" else str(home / "missing") if a == "MISSING" else a for a in args
    ]
    result = CliRunner().invoke(_app(), args)
    assert isinstance(result.exception, error)


@pytest.fixture
def mirror() -> Iterator[str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((DATA / "go").glob("*.json")):
            archive.writestr(path.name, path.read_bytes())
    body = buffer.getvalue()
    files = {
        "/Go/all.zip": body,
        "/Go/all.zip.sha256": hashlib.sha256(body).hexdigest().encode(),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in files:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(files[self.path])))
            self.end_headers()
            self.wfile.write(files[self.path])

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_update_from_a_loopback_mirror(home: Path, mirror: str) -> None:
    result = CliRunner().invoke(_app(), ["db", "update", "-e", "Go", "--mirror", mirror])
    assert result.exit_code == 0, result.output
    assert "verified by sha256 sidecar" in result.stderr
    result = CliRunner().invoke(_app(), ["db", "update", "-e", "Go", "--mirror", mirror, "--json"])
    [row] = json.loads(result.stdout)
    assert row["verification"] == "sha256 sidecar"
    assert row["records"] == 2


def test_exit_codes_through_the_real_command(tmp_path: Path) -> None:
    env = {**os.environ, "BASTION_HOME": str(tmp_path / "home")}

    def bastion(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BASTION, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    unreachable = bastion(
        "db", "update", "-e", "PyPI", "--mirror", "http://127.0.0.1:9", "--timeout", "5"
    )
    assert unreachable.returncode == 3
    assert "cannot download http://127.0.0.1:9/PyPI/all.zip" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    assert bastion("db", "import", str(DATA), "--date", "bad").returncode == 2
